"""The host with importops under prefixes of its own: endpoints only at chat/, with the JSON
catch-all at rc/."""

from django.urls import include, path

from tests.host.urls_before import urlpatterns as host

urlpatterns = [
    *host,
    path("chat/", include("importops.urls")),
    path("rc/", include(("importops.owned_urls", "importops"), namespace="rc")),
]
