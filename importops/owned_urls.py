"""importops' endpoints plus a JSON 404 for every other path under ``api/v1/`` of its mount,
as Rocket.Chat answers. Use it where importops owns all of ``api/v1/``: a project of its own
(``path("", include("importops.owned_urls"))``) or a prefix of its own
(``path("chat/", include("importops.owned_urls"))``)."""

from __future__ import annotations

from django.urls import re_path

from importops.api.base import NotFoundView
from importops.urls import app_name
from importops.urls import urlpatterns as endpoints

__all__ = ["app_name", "urlpatterns"]

urlpatterns = [*endpoints, re_path(r"^api/v1/.*$", NotFoundView.as_view(), name="not-found")]
