"""The schema's generator and settings, and the pages that serve it: ``/api/v1/schema`` and an
offline Swagger UI at ``/api/v1/docs`` (drf-spectacular-sidecar: no CDN). The bodies and
envelopes themselves are in ``schema``. ``manage.py spectacular --validate --fail-on-warn
--custom-settings importops.api.schema_views.SETTINGS`` checks the result.
"""

from __future__ import annotations

import threading
from typing import Any, cast

from django.apps import apps
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.settings import patched_settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.generators import is_api_view

from importops import __version__
from importops.api.base import APIView
from importops.api.schema import COMPONENTS


class TokenHeaderScheme(OpenApiAuthenticationExtension):
    target_class = "importops.api.authentication.TokenHeaderAuthentication"
    name = ["userId", "authToken"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {"type": "apiKey", "in": "header", "name": "X-User-Id", "description": "the user's primary key"},
            {"type": "apiKey", "in": "header", "name": "X-Auth-Token", "description": "a token from login"},
        ]


class _Endpoints(EndpointEnumerator):
    """The API's own views, and only those (not the schema and docs pages, not a host's)."""

    def should_include_endpoint(self, path: str, callback: Any) -> bool:
        return is_api_view(callback) and callback.cls.__module__.startswith("importops.api.views.")


class Generator(SchemaGenerator):
    """Describes importops' views, which carry ``schema = None`` so that a host's own generated
    schema leaves them out: while this one runs, each has drf-spectacular's AutoSchema."""

    endpoint_inspector_cls = _Endpoints

    def get_schema(self, request: Any = None, public: bool = False) -> Any:
        self._initialise_endpoints()
        views = {endpoint[3].cls for endpoint in cast(Any, self.endpoints)}
        with _LOCK:
            for view in views:
                view.schema = AutoSchema()  # a descriptor: it must stay for the whole run
            try:
                return super().get_schema(request, public)
            finally:
                for view in views:
                    view.schema = None


_LOCK = threading.Lock()

SETTINGS: dict[str, Any] = {
    "POSTPROCESSING_HOOKS": [],  # enums stay inline, where the envelopes are written
    "TITLE": "importops API",
    "DESCRIPTION": (
        "Rocket.Chat-compatible import API. Every response is JSON with `Cache-Control: no-store`. "
        "Checks answer in this order: body size, authentication, permission, rate limit, validation, import rule."
    ),
    "VERSION": __version__,
    "APPEND_COMPONENTS": {"schemas": COMPONENTS},
    "COMPONENT_SPLIT_REQUEST": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "DISABLE_ERRORS_AND_WARNINGS": False,
}


class _Pinned(APIView):
    """importops' base view (everything DRF would read from the host pinned), public."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []
    throttle_classes: list[Any] = []


class SchemaView(_Pinned, SpectacularAPIView):
    """The schema, JSON by default (``?format=yaml`` for YAML). Public, like this module's text."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
    custom_settings = SETTINGS
    generator_class = Generator
    urlconf = "importops.urls"
    serve_public = True


class DocsView(_Pinned, SpectacularSwaggerView):
    """Swagger UI from the sidecar's static files: renders with no network access."""

    renderer_classes = [TemplateHTMLRenderer]
    url_name = "importops:schema"
    title = "importops API"

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not (apps.is_installed("drf_spectacular") and apps.is_installed("drf_spectacular_sidecar")):
            raise NotFound("The docs page needs drf_spectacular and drf_spectacular_sidecar in INSTALLED_APPS.")
        with patched_settings(SETTINGS):
            return super().get(request, *args, **kwargs)
