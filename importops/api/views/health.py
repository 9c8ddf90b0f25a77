"""Health endpoints for load balancers: liveness (the process answers) and readiness (the
database answers, every migration is applied). No authentication, no details of the fault."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from importops.services.health import readiness_problem

RETRY_AFTER = "5"


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"success": True, "status": "alive"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    problem = readiness_problem()
    if problem is None:
        return JsonResponse({"success": True, "status": "ready"})
    response = JsonResponse({"success": False, "status": "unavailable", "error": problem}, status=503)
    response["Retry-After"] = RETRY_AFTER
    return response
