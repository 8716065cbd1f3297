"""Settings: the platform's (settings_base) and one component module per area."""
# ruff: noqa: I001  (settings_base first: the components read and extend it)

from config.settings_base import *  # noqa: F403
from config.components.ai import *  # noqa: F403
from config.components.integrations import *  # noqa: F403
from config.components.themes import *  # noqa: F403
from config.components.roadmap import *  # noqa: F403
from config.components.warmup import *  # noqa: F403
from config.components.reports import *  # noqa: F403
from config.components.competitors import *  # noqa: F403
from config.components.ops import *  # noqa: F403
from config.components.realtime import *  # noqa: F403
from config.components.api_docs import *  # noqa: F403
from config.components.tasks import *  # noqa: F403
from config.components.web import *  # noqa: F403
