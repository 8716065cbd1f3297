"""Settings, read from the environment only (the strict parsers of config/env.py).

Every setting is listed in the README. A value that does not parse raises
ImproperlyConfigured at start-up rather than being guessed at. A secret may
also come from a file named by `<NAME>_FILE` (for container secrets).
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from django.core.exceptions import ImproperlyConfigured

# The parsers, importable from here too (components written before config/env.py).
from config.env import (  # noqa: F401
    BASE_DIR,
    boolean,
    env,
    integer,
    number,
    positive_float,
    positive_int,
    secret,
    string,
    string_list,
)
from jobs.workerpool import size_default_executor  # noqa: E402

DEBUG = boolean("DEBUG", False)
SECRET_KEY = secret("SECRET_KEY", default="dev-insecure-plinth-jobs-key-change-me")
if not DEBUG and SECRET_KEY.startswith("dev-insecure") and boolean("REQUIRE_SECRET_KEY", False):
    raise ImproperlyConfigured("SECRET_KEY must be set when REQUIRE_SECRET_KEY is true")
ALLOWED_HOSTS = string_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = string_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Before the project's apps: their tasks register on its app when it is ready.
    "procrastinate.contrib.django",
    "jobs",
    "jobs.ai",
    "jobs.integrations",
    "themes",
    "roadmap",
    "warmup",
    "reports",
    "competitors",
    "ops",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# With no DATABASE_URL: the project-local cluster that scripts/devdb.py runs
# on a unix socket inside the checkout (`make run` and `make test` start it).
LOCAL_PG_SOCKET_DIR = BASE_DIR / ".pg" / "run"
if os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_URL_FILE"):
    DATABASES = {"default": env.db_url_config(secret("DATABASE_URL"))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "plinth",
            "USER": "plinth",
            "HOST": str(LOCAL_PG_SOCKET_DIR),
            "PORT": "5432",
        }
    }
if string("DATABASE_NAME"):
    # Overrides the database name of either form (tests point worker processes
    # at the test database with it).
    DATABASES["default"]["NAME"] = string("DATABASE_NAME")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
DATABASES["default"]["CONN_MAX_AGE"] = positive_int("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Server-side limits on every session (web, workers, maintenance): PostgreSQL
# ends a transaction left open longer than this (a frozen or paused process),
# so its locks never hold maintenance or other workers for long. 0 turns it off.
# The web server adds a statement_timeout of its own (config/asgi.py).
_IDLE_TX_MS = int(positive_float("DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", 60.0) * 1000)
if _IDLE_TX_MS:
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = (
        f"{_db_options.get('options', '')} "
        f"-c idle_in_transaction_session_timeout={_IDLE_TX_MS}"
    ).strip()
DATABASES["default"].setdefault("TEST", {})["NAME"] = string("TEST_DATABASE_NAME", "test_plinth")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# The product's own sign-in page (web/urls.py) for every member, staff or not.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jobs.api.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "jobs.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "jobs.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "jobs.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # orjson renders JSON (drf-orjson-renderer): a fifth of the time DRF's
    # json.dumps took for a list page. UTC as `Z` and int keys as strings, as DRF's.
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z, orjson.OPT_NON_STR_KEYS),
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Plinth Jobs API",
    "DESCRIPTION": "Long AI jobs run in the background on Postgres alone.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = positive_int("MAX_REQUEST_BYTES", 1_048_576)

# --- Procrastinate ----------------------------------------------------------
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": positive_int("WORKER_CONCURRENCY", 4),
    "abort_job_polling_interval": positive_float("WORKER_ABORT_POLL_SECONDS", 1.0),
    "fetch_job_polling_interval": positive_float("WORKER_POLL_SECONDS", 5.0),
    "shutdown_graceful_timeout": positive_float("WORKER_SHUTDOWN_GRACEFUL_SECONDS", 30.0),
    "update_heartbeat_interval": positive_float("WORKER_HEARTBEAT_SECONDS", 10.0),
    "stalled_worker_timeout": positive_float("WORKER_STALLED_SECONDS", 30.0),
    # Sync handlers run on a thread pool of exactly `concurrency` threads
    # (Procrastinate's default would be asyncio's min(32, cpus + 4)).
    "worker_middleware": [size_default_executor],
}

# Async handlers and the async LLM client write through this many connections
# per worker process (jobs/aio.py), however many jobs they run.
WORKER_DB_CONNECTIONS = positive_int("WORKER_DB_CONNECTIONS", 4)

# --- Job platform -----------------------------------------------------------
JOBS = {
    # Admission limits on active (pending or running) jobs users start.
    "LIMIT_PER_ORG": positive_int("JOBS_LIMIT_PER_ORG", 5),
    "LIMIT_PER_USER": positive_int("JOBS_LIMIT_PER_USER", 3),
    "LIMIT_PER_DECISION": positive_int("JOBS_LIMIT_PER_DECISION", 2),
    "LIMIT_RETRY_AFTER_SECONDS": positive_int("JOBS_LIMIT_RETRY_AFTER_SECONDS", 10),
    # Retries: back-off = base * 2 ** (attempt - 1) seconds.
    "DEFAULT_MAX_RETRIES": positive_int("JOBS_DEFAULT_MAX_RETRIES", 3),
    "RETRY_BASE_SECONDS": positive_float("JOBS_RETRY_BASE_SECONDS", 2.0),
    # A streamed LLM call publishes its partial output at most this often.
    "PARTIAL_OUTPUT_SECONDS": positive_float("JOBS_PARTIAL_OUTPUT_SECONDS", 0.5),
    # Expiry and rescue.
    "PENDING_EXPIRY_SECONDS": positive_int("JOBS_PENDING_EXPIRY_SECONDS", 300),
    "DEFAULT_MAX_DURATION_SECONDS": positive_int("JOBS_DEFAULT_MAX_DURATION_SECONDS", 600),
    "STALLED_WORKER_SECONDS": positive_float("JOBS_STALLED_WORKER_SECONDS", 60.0),
    # Maintenance (rescue, expiry, worker pruning) waits at most this long for
    # a row lock, and claims rows with SKIP LOCKED: a row a frozen worker holds
    # delays only itself.
    "MAINTENANCE_LOCK_TIMEOUT_MS": positive_int("JOBS_MAINTENANCE_LOCK_TIMEOUT_MS", 2000),
    # Retention.
    "RETENTION_COMPLETED_DAYS": positive_int("JOBS_RETENTION_COMPLETED_DAYS", 30),
    "RETENTION_FAILED_DAYS": positive_int("JOBS_RETENTION_FAILED_DAYS", 7),
    # Small batches with a pause after each (PAUSE_RATIO x the batch's time):
    # pruning a large backlog takes part of one core, not all of it.
    "PRUNE_BATCH_SIZE": positive_int("JOBS_PRUNE_BATCH_SIZE", 1000),
    "PRUNE_PAUSE_RATIO": positive_float("JOBS_PRUNE_PAUSE_RATIO", 1.0),
    # The worker's hot-path transitions as server-side prepared statements
    # (off for a transaction-pooling proxy without prepared-statement support).
    "PREPARE_STATEMENTS": boolean("JOBS_PREPARE_STATEMENTS", True),
    # Polling hint for job types that do not set their own.
    "DEFAULT_POLL_INTERVAL_MS": positive_int("JOBS_DEFAULT_POLL_INTERVAL_MS", 2000),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": string("LOG_LEVEL", "INFO")},
    "loggers": {
        "procrastinate": {"level": string("PROCRASTINATE_LOG_LEVEL", "WARNING")},
    },
}
