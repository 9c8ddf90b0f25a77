"""The host with importops at the root, after its own /api/v1/ routes (one of them, me, is
also an importops path)."""

from django.urls import include, path

from tests.host.urls_before import urlpatterns as host

urlpatterns = [*host, path("", include("importops.urls"))]
