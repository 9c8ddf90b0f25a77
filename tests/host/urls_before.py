"""The host's URLconf before importops is added: its own API under /api/v1/ (namespace v1)."""

from django.urls import include, path

from tests.host.api import Me, Things

host_api = ([path("things", Things.as_view()), path("me", Me.as_view())], "hostapi")

urlpatterns = [path("api/v1/", include(host_api, namespace="v1"))]
