"""Admin pages and hostile query strings: a NUL (which PostgreSQL refuses in any text it
compares) in a search, a filter value or an object id answers 400 or "not found", never 500."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404

from importops import jsonsafe


class RefuseUnstorableText:
    """A ModelAdmin mixin (first among the bases)."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if any(jsonsafe.text_problem(value) for _, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest("The query contains text no database can compare (a NUL character).")
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        if jsonsafe.text_problem(object_id):
            return None  # the admin's own "does not exist" answer
        return super().get_object(request, object_id, from_field)  # type: ignore[misc]


M = TypeVar("M", bound=Model)


def object_or_404(queryset: QuerySet[M], object_id: str) -> M:
    """``get_object_or_404`` by primary key, for ids from a URL (which may hold a NUL)."""
    if jsonsafe.text_problem(object_id):
        raise Http404
    return get_object_or_404(queryset, pk=object_id)
