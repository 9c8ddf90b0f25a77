"""Answers 503 while the database is away, instead of a 500 (docs/architecture.md, "Transient faults").

Add ``importops.middleware.DatabaseUnavailableMiddleware`` to ``MIDDLEWARE``: a view (the
admin's, or any other) that meets a transient database fault gets a plain 503 page with
``Retry-After``; under ``api/v1/`` a JSON envelope. (importops' API views answer 503 JSON on
their own; this covers the admin and whatever runs outside them.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from importops import retry
from importops.errors import DatabaseUnavailable

logger = logging.getLogger("importops")

RETRY_AFTER = "5"


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not retry.is_transient(exception):
            return None
        logger.warning("database unavailable for %s: %s", request.path, retry.describe(exception))
        retry.reset_connection(exception)
        response: HttpResponse
        if "/api/v1/" in request.path:
            response = JsonResponse({"success": False, "error": DatabaseUnavailable.message}, status=503)
        else:
            # A page that needs nothing from the database (not even the logged-in user).
            response = HttpResponse(render_to_string("importops/503.html"), status=503)
        response["Retry-After"] = RETRY_AFTER
        response["Cache-Control"] = "no-store"
        return response
