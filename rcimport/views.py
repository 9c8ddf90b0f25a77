"""The demo's own pages: the README (so the landing page can link to its API section) and the favicon."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views import defaults

HEADING = re.compile(r"^(#{1,3}) (.+)$", re.MULTILINE)


def readme(request: HttpRequest) -> HttpResponse:
    """README.md as preformatted text, its headings turned into anchors (#api-reference)."""
    text = escape((settings.BASE_DIR / "README.md").read_text())

    def heading(match: re.Match[str]) -> str:
        level = len(match.group(1)) + 1
        return f'</pre><h{level} id="{slugify(match.group(2))}">{match.group(2)}</h{level}><pre>'

    return render(request, "readme.html", {"body": mark_safe(HEADING.sub(heading, text))})  # noqa: S308


def favicon(request: HttpRequest) -> FileResponse:
    path = finders.find("rcimport/favicon.svg")
    response = FileResponse(open(path, "rb"), content_type="image/svg+xml")  # noqa: SIM115
    response["Cache-Control"] = "max-age=86400"
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own 400 (a Host header not in ALLOWED_HOSTS, a broken request): JSON under
    /api/, as every answer of the API is; Django's page elsewhere."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"success": False, "error": "Bad request"}, status=400)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.bad_request(request, exception)
