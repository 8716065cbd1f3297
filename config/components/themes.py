"""Settings for the theme scanner (themes); see docs/themes-and-roadmap.md."""

from config.env import positive_float, positive_int, secret

# X-Internal-Secret for /api/internal/jobs/theme-scan and /api/roadmap/generate
# (the seed's variable name). Empty: the internal endpoint is disabled.
INTERNAL_SHARED_SECRET = secret("INTERNAL_SHARED_SECRET")
# How long the theme-scan endpoint waits for the scan before answering 202.
THEME_SCAN_WAIT_SECONDS = positive_float("THEME_SCAN_WAIT_SECONDS", 30.0)
# The seed's safety caps.
MAX_THEMES_PER_RUN = positive_int("MAX_THEMES_PER_RUN", 20)
MAX_LINKS_PER_THEME = positive_int("MAX_LINKS_PER_THEME", 20)
