"""Settings for roadmap suggestions (roadmap); see docs/themes-and-roadmap.md.

The reasoning calls' budget is `LLM_RATE_LIMITS["roadmap-reasoning"]` (1
request/s by default, shared by every worker; config/components/ai.py).
"""

from config.env import positive_int
from config.settings_base import SPECTACULAR_SETTINGS as _spectacular

# A finished scan that created more new themes than this regenerates the
# roadmap of its organization's active projects (the seed's `> 10`).
ROADMAP_NEW_THEMES_TRIGGER = positive_int("ROADMAP_NEW_THEMES_TRIGGER", 10)

# priority_level and manual_priority_adjustment share one choice set: one schema enum.
_spectacular.setdefault("ENUM_NAME_OVERRIDES", {})["RoadmapPriorityEnum"] = (
    "roadmap.models.Priority"
)
