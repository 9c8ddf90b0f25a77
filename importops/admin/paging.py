"""A paginator that never counts a large table: it counts at most CAP rows."""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import QuerySet

CAP = 10_000


class CappedPaginator(Paginator):
    """``count`` is exact up to CAP, then CAP: the admin shows "10000" pages' worth at most,
    and the database never counts a million staged rows to draw a page."""

    @cached_property
    def count(self) -> int:
        return cast(QuerySet[Any], self.object_list)[:CAP].count()  # admin changelists page querysets
