"""The base view every importops endpoint uses.

Every DRF setting that could change the wire contract is pinned on the view (versioning,
authentication, permissions, throttles, parsers, renderers, content negotiation, pagination,
metadata, exception handler, schema, and the settings object the view reads the rest from):
nothing is read from the host's ``REST_FRAMEWORK`` settings, so installing importops never
changes how the host's own API behaves, and the host's settings never change importops'
wire contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rest_framework import views
from rest_framework.exceptions import ParseError
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import APISettings
from rest_framework.throttling import BaseThrottle

from importops import jsonsafe
from importops.api import ratelimit
from importops.api.authentication import TokenHeaderAuthentication
from importops.api.errors import exception_handler
from importops.api.permissions import RunImport
from importops.conf import importops_settings
from importops.errors import LengthRequired, PayloadTooLarge, RateLimited


def upload_body_limit() -> int:
    """The largest uploadImportFile body: base64 makes a file a third bigger, plus the rest."""
    return int(importops_settings.MAX_UPLOAD_SIZE * 4 / 3) + 64 * 1024


def largest_body() -> int:
    """The largest request body any endpoint reads (a ceiling for the server in front)."""
    return max(int(importops_settings.MAX_REQUEST_SIZE), upload_body_limit())


if TYPE_CHECKING:
    from rest_framework.settings import _Settings


class _DRFDefaults(APISettings):
    """DRF's own defaults, whatever the host's ``REST_FRAMEWORK`` says."""

    @property
    def user_settings(self) -> dict[str, Any]:
        return {}


# Typed as the stubs type DRF's api_settings, which it stands in for.
DRF_DEFAULTS = cast("_Settings", _DRFDefaults())


class PinnedJSONRenderer(JSONRenderer):
    """DRF's JSON renderer reads UNICODE_JSON/COMPACT_JSON/STRICT_JSON from the host's settings."""

    ensure_ascii = False
    compact = True
    strict = True


class PinnedContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, blind to the host's URL_FORMAT_OVERRIDE."""

    settings = DRF_DEFAULTS


class LimitedJSONParser(BaseParser):
    """JSON read from the raw stream and never past MAX_REQUEST_SIZE. Not a subclass of DRF's
    JSONParser: DRF reads those through ``request.body``, where Django's smaller
    DATA_UPLOAD_MAX_MEMORY_SIZE would cut in first with another figure."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        view = (parser_context or {}).get("view")
        limit = view.body_limit() if view is not None else importops_settings.MAX_REQUEST_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(limit)
        if not raw.strip():
            return {}
        try:
            return jsonsafe.loads(raw)
        except jsonsafe.UnsafeJSON as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class AnyTypeJSONParser(LimitedJSONParser):
    """Reads any body as JSON (curl's ``-d`` sends form-encoded by default)."""

    media_type = "*/*"


class PerUserRateLimit(BaseThrottle):
    """No limit for holders of run-import (as Rocket.Chat exempts admins); RATE_LIMIT
    requests per RATE_LIMIT_WINDOW seconds for everybody else."""

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user.is_authenticated or user.has_perm(RunImport.perm):
            return True
        window = ratelimit.hit(
            f"user:{user.pk}", limit=importops_settings.RATE_LIMIT, window=importops_settings.RATE_LIMIT_WINDOW
        )
        if window.exceeded:
            raise RateLimited(retry_after=window.retry_after, headers=window.headers())
        request._importops_rate_window = window  # type: ignore[attr-defined]
        return True


class APIView(views.APIView):
    authentication_classes = [TokenHeaderAuthentication]
    permission_classes = [IsAuthenticated, RunImport]
    throttle_classes = [PerUserRateLimit]
    parser_classes = [LimitedJSONParser, AnyTypeJSONParser]
    renderer_classes = [PinnedJSONRenderer]
    content_negotiation_class = PinnedContentNegotiation
    metadata_class = SimpleMetadata
    versioning_class = None
    pagination_class = None  # no list is paginated by DRF: the few that page do it themselves
    settings = DRF_DEFAULTS
    # Left out of a host's generated schema; importops' own (api/schema.py, /api/v1/schema)
    # describes these views with drf-spectacular's AutoSchema.
    schema = None

    def get_exception_handler(self) -> Any:
        return exception_handler

    def body_limit(self) -> int:
        """The largest request body this endpoint reads."""
        return int(importops_settings.MAX_REQUEST_SIZE)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Body size is the first check of all (docs/api.md, "Order of checks"), before authentication.
        limit = self.body_limit()
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # WSGI hands Django a chunked body with no length, which it reads as empty.
            raise LengthRequired()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise PayloadTooLarge(limit)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        window = getattr(request, "_importops_rate_window", None)
        if window is not None:
            for name, value in window.headers().items():
                response[name] = value
        return response

    def body(self, request: Request) -> Any:
        """The parsed JSON body (``{}`` when empty)."""
        return request.data


def ok(body: dict[str, Any] | None = None) -> Response:
    """Success envelope for an object: the object with ``"success": true`` added."""
    return Response({**(body or {}), "success": True})


class NotFoundView(APIView):
    """Any unknown path under /api/v1/: a JSON 404, never an HTML page."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    schema = None  # not an endpoint

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.args, self.kwargs, self.request = args, kwargs, self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        response = Response({"success": False, "error": f"Unknown path: {request.path}"}, status=404)
        return self.finalize_response(self.request, response, *args, **kwargs)
