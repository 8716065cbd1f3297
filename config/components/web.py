"""Settings of the web server (config/asgi.py, config/server.py) and the API's
request path; see the README, "The web server". Read here, through config/env.py's
parsers, so a typo stops the start with the variable's name."""

from config.env import boolean, integer, number

# Each web process's psycopg connection pool (shared by its threads); 0 turns the
# pool off (a persistent connection per thread, CONN_MAX_AGE).
WEB_DB_POOL_SIZE = integer("WEB_DB_POOL_SIZE", 8, low=0)
# Threads per web process running sync views (all of the API).
WEB_THREADS = integer("WEB_THREADS", WEB_DB_POOL_SIZE or 8, low=1)
# GET /api/jobs/{id} from a token client answered on the async fast path
# (jobs.api.poll) before Django; false sends it through the general path.
WEB_POLL_ROUTE = boolean("WEB_POLL_ROUTE", True)
# A pooled connection used within this many seconds is handed out without the
# pool's health-check round trip (SELECT 1), unless its socket shows that the
# server closed it meanwhile (then it is checked and replaced); one idle longer
# is always checked first. 0 checks every time (psycopg's default).
WEB_DB_CHECK_IDLE_SECONDS = number("WEB_DB_CHECK_IDLE_SECONDS", 5.0, low=0.0)
# A web request's statement may run at most this long (0: no limit); a runaway
# query ends (503 `statement_timeout`) instead of holding its locks and a pooled
# connection. Web sessions only: a worker's job is bounded by its type's maximum
# duration and the idle-in-transaction limit instead.
DB_WEB_STATEMENT_TIMEOUT_SECONDS = number("DB_WEB_STATEMENT_TIMEOUT_SECONDS", 30.0, low=0.0)
# API tokens (with their users) are remembered this many seconds per process, so
# a request does not look its token up every time. A deleted token, or a user
# made inactive, keeps working at most this long in a process that saw it; 0
# looks the token up on every request.
API_TOKEN_CACHE_SECONDS = number("API_TOKEN_CACHE_SECONDS", 10.0, low=0.0)
