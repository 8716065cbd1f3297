"""/metrics (Prometheus), /api/ops/summary (JSON, staff) and the staff dashboard /ops/."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops import metrics, prometheus, selectors
from ops.dashboard import dashboard_context
from ops.serializers import AlertEventSerializer, AlertStateSerializer, SummarySerializer

# The compatibility text format: every metric and label name here is a classic one, so
# any Prometheus version (and the client's own parser) reads the body as 0.0.4.
PROMETHEUS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def _metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    if settings.OPS_METRICS_PUBLIC:
        return None
    token = settings.OPS_METRICS_TOKEN
    if not token:
        # An unset token disables the endpoint; it never opens it.
        return HttpResponse("Metrics are disabled: set OPS_METRICS_TOKEN "
                            "(or OPS_METRICS_PUBLIC=true).\n", status=503,
                            content_type="text/plain")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                             token.encode()):
        return HttpResponse("Missing or wrong bearer token.\n", status=401,
                            content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    return None


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(prometheus.render(), content_type=PROMETHEUS_CONTENT_TYPE)


class OpsSummary(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Job metrics and alerts (staff)",
        description="The figures of /metrics as JSON, per job type and overall, with the "
        "Procrastinate queues and the active and recent alerts.",
        responses={200: SummarySerializer},
        tags=["ops"],
    )
    def get(self, request: Request) -> Response:
        data = metrics.summary().as_dict()
        data["alerts"] = {
            "active": AlertStateSerializer(selectors.alerts_active(), many=True).data,
            "recent": AlertEventSerializer(selectors.alerts_recent(limit=20), many=True).data,
        }
        return Response(SummarySerializer(data).data)


@never_cache
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # Staff only. A signed-in member gets the product's 403 page (in the shell) rather
    # than the admin's sign-in, which they could not pass anyway.
    if not request.user.is_staff:
        raise PermissionDenied("The operations dashboard is for staff.")
    return render(request, "ops/dashboard.html", dashboard_context())
