"""A host project's own DRF API, with its own settings for everything DRF lets a project set."""

from typing import Any

from rest_framework import authentication, exceptions, views
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.versioning import NamespaceVersioning

HOST_KEY = "host-secret"

REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["tests.host.api.HostKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": "1/day"},
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.FormParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 1,
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "rest_framework.schemas.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tests.host.api.exception_handler",
    "UNICODE_JSON": False,
    "COMPACT_JSON": False,
    "URL_FORMAT_OVERRIDE": "fmt",
    "UNAUTHENTICATED_USER": None,
}


class HostKeyAuthentication(authentication.BaseAuthentication):
    """The host's own scheme: ``X-Host-Key`` makes the request the first superuser."""

    def authenticate(self, request: Any) -> Any:
        from django.contrib.auth import get_user_model

        key = request.META.get("HTTP_X_HOST_KEY")
        if key is None:
            return None
        if key != HOST_KEY:
            raise exceptions.AuthenticationFailed("bad host key")
        return get_user_model()._default_manager.filter(is_superuser=True).first(), None


def exception_handler(exc: Exception, context: Any) -> Response:
    status = getattr(exc, "status_code", 500)
    return Response({"hostError": type(exc).__name__, "detail": str(exc)}, status=status)


class OneAPage(PageNumberPagination):
    page_size = 1


class HostView(views.APIView):
    """DRF reads a view's classes from REST_FRAMEWORK when it is imported, before a test can
    override the settings: the host's views name theirs."""

    versioning_class = NamespaceVersioning
    authentication_classes = [HostKeyAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]


class Things(HostView):
    def get(self, request: Any) -> Response:
        paginator = OneAPage()
        page = paginator.paginate_queryset(["Zoë", "Ada", "Grace"], request, view=self)
        return paginator.get_paginated_response({"version": request.version, "things": page})


class Me(HostView):
    def get(self, request: Any) -> Response:
        return Response({"host": True, "user": str(request.user.pk)})
