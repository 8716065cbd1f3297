"""The browsable API docs (/api/docs/): Swagger UI served from this process's static
files (drf-spectacular-sidecar), so the page works on a machine with no network."""

from config.settings_base import INSTALLED_APPS, SPECTACULAR_SETTINGS

INSTALLED_APPS.append("drf_spectacular_sidecar")
SPECTACULAR_SETTINGS.update({
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
})
