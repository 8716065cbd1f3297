"""Settings for the job event streams (jobs.realtime); see docs/competitors-and-realtime.md."""

from config.env import number, positive_float, positive_int
from config.settings_base import SPECTACULAR_SETTINGS

# A comment line every this many seconds on an idle stream, so proxies and
# browsers keep the connection open.
REALTIME_KEEPALIVE_SECONDS = number("REALTIME_KEEPALIVE_SECONDS", 15.0, above=0)
# The `retry:` hint: how long a browser waits before reconnecting a dropped stream.
REALTIME_RETRY_MS = positive_int("REALTIME_RETRY_MS", 3000)
# A stream is closed after this long even if its job runs on; the browser
# reconnects with Last-Event-ID and misses nothing (proxies dislike endless responses).
REALTIME_STREAM_MAX_SECONDS = number("REALTIME_STREAM_MAX_SECONDS", 600.0, above=0)
# How long a new stream waits for the process's LISTEN connection before it
# answers 503 (the browser then falls back to polling).
REALTIME_SUBSCRIBE_TIMEOUT_SECONDS = positive_float("REALTIME_SUBSCRIBE_TIMEOUT_SECONDS", 5.0)
# The LISTEN connection is checked with a query after this long without a
# notification; a dead one is replaced (back-off up to the maximum below).
REALTIME_HEALTHCHECK_SECONDS = positive_float("REALTIME_HEALTHCHECK_SECONDS", 30.0)
REALTIME_RECONNECT_MAX_SECONDS = positive_float("REALTIME_RECONNECT_MAX_SECONDS", 10.0)
# Open streams per web process; more are refused with 503 (the browser polls).
REALTIME_MAX_STREAMS = positive_int("REALTIME_MAX_STREAMS", 1000)

# The event stream is a plain (async) Django view, which drf-spectacular does not
# see: a postprocessing hook adds its path to /api/schema/.
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    *SPECTACULAR_SETTINGS.get(
        "POSTPROCESSING_HOOKS", ["drf_spectacular.hooks.postprocess_schema_enums"]
    ),
    "jobs.api.stream.schema_hook",
]
