"""One exception handler for every envelope of docs/api.md ("Envelopes")."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import exceptions
from rest_framework.response import Response

from importops import retry
from importops.errors import DatabaseUnavailable, ImportOpsError, Invalid, NotLoggedIn, PayloadTooLarge, Unauthorized

logger = logging.getLogger("importops.api")


class _APIError(ImportOpsError):
    """Any other DRF exception (404, 405, 406...), with its status and message."""

    def __init__(self, exc: exceptions.APIException, headers: dict[str, str]) -> None:
        self.status_code = exc.status_code
        self.extra_headers = headers
        super().__init__(str(exc.detail))

    def headers(self) -> dict[str, str]:
        return self.extra_headers


def _from_drf(exc: exceptions.APIException, context: dict[str, Any]) -> ImportOpsError:
    """DRF's own exceptions, as the importops error with the same answer."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return NotLoggedIn()
    if isinstance(exc, exceptions.PermissionDenied):
        return Unauthorized()
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        return Invalid([f"body: {exc.detail}"])
    allowed = {"Allow": ", ".join(context["view"].allowed_methods)} if exc.status_code == 405 else {}
    return _APIError(exc, allowed)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, RequestDataTooBig):  # only form and multipart fields: JSON is read by importops
        exc = PayloadTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, SuspiciousOperation):  # too many form fields or files, a broken multipart body
        exc = Invalid([f"body: {exc}"])
    if isinstance(exc, exceptions.APIException):
        exc = _from_drf(exc, context)
    elif retry.is_transient(exc):  # the database is away: the client tries again shortly
        logger.warning("database unavailable in %s: %s", context.get("view").__class__.__name__, retry.describe(exc))
        retry.reset_connection(exc)
        exc = DatabaseUnavailable()
    if isinstance(exc, ImportOpsError):
        return Response(exc.body(), status=exc.status_code, headers=exc.headers())
    logger.exception("Internal server error in %s", context.get("view").__class__.__name__)
    return Response({"success": False, "error": "Internal server error"}, status=500)
