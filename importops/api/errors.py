"""One exception handler for every envelope of SPEC section 1."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from importops.api.ratelimit import Window
from importops.api.validation import Invalid
from importops.errors import ImportOpsError, PayloadTooLarge

logger = logging.getLogger("importops.api")

NOT_LOGGED_IN = "You must be logged in to do this."
UNAUTHORIZED = "User does not have the permissions required for this action [error-unauthorized]"


class RateLimited(ImportOpsError):
    """Too many requests."""

    status_code = 429

    def __init__(self, window: Window) -> None:
        self.window = window
        super().__init__(
            "Error, too many requests. Please slow down. You must wait "
            f"{window.retry_after} seconds before trying this endpoint again. [error-too-many-requests]"
        )


class LoginFailed(ImportOpsError):
    """Any login failure: one answer for all (no user enumeration)."""

    status_code = 401
    message = "Unauthorized"


def _invalid(problems: list[str]) -> Response:
    return Response({"success": False, "errorType": "error-invalid-params", "error": "\n".join(problems)}, status=400)


def _flatten(detail: Any, path: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [p for key, value in detail.items() for p in _flatten(value, f"{path}.{key}" if path else str(key))]
    if isinstance(detail, list) and detail and all(isinstance(d, dict | list) for d in detail):
        return [p for index, value in enumerate(detail) if value for p in _flatten(value, f"{path}[{index}]")]
    if isinstance(detail, list):
        return [f"{path or 'body'}: {item}" for item in detail]
    return [f"{path or 'body'}: {detail}"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # Only form and multipart fields reach Django's own limit; JSON is read by importops.
        exc = PayloadTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, SuspiciousOperation):  # too many form fields or files, a broken multipart body
        exc = Invalid([f"body: {exc}"])

    if isinstance(exc, LoginFailed):
        body = {"status": "error", "success": False, "error": exc.message, "message": exc.message}
        return Response(body, status=401)
    if isinstance(exc, RateLimited):
        return Response({"success": False, "error": exc.message}, status=429, headers=exc.window.headers())
    if isinstance(exc, ImportOpsError):
        body = {"success": False, "error": exc.message}
        if exc.error_type:
            body = {"success": False, "errorType": exc.error_type, "error": exc.message}
        return Response(body, status=exc.status_code)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = {"success": False, "status": "error", "message": NOT_LOGGED_IN, "error": NOT_LOGGED_IN}
        return Response(body, status=401, headers={"WWW-Authenticate": "X-Auth-Token"})
    if isinstance(exc, exceptions.PermissionDenied):
        return Response({"success": False, "error": UNAUTHORIZED}, status=403)
    if isinstance(exc, Invalid):
        return _invalid(exc.problems)
    if isinstance(exc, exceptions.ValidationError):
        return _invalid(_flatten(exc.detail))
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        return _invalid([f"body: {exc.detail}"])
    if isinstance(exc, exceptions.APIException):
        headers = {"Allow": ", ".join(context["view"].allowed_methods)} if exc.status_code == 405 else {}
        return Response({"success": False, "error": str(exc.detail)}, status=exc.status_code, headers=headers)
    logger.exception("Internal server error in %s", context.get("view").__class__.__name__)
    return Response({"success": False, "error": "Internal server error"}, status=500)
