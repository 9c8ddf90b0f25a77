"""The host's own authentication: an API key header, and a backend of its own."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from rest_framework import authentication, exceptions

API_KEY = "host-api-key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = request.META.get("HTTP_X_API_KEY")
        if key is None:
            return None
        if key != API_KEY:
            raise exceptions.AuthenticationFailed("Bad API key.")
        return get_user_model().objects.get(username="admin"), key

    def authenticate_header(self, request):
        return "ApiKey"


class NobodyBackend(BaseBackend):
    """A backend of the host's that must survive importops' settings."""

    def authenticate(self, request, **credentials):
        return None
