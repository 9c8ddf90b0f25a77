from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from importops.admin.paging import CappedPaginator
from importops.admin.permissions import VIEW, ReadOnlyAdmin
from importops.models import ImportChange
from importops.services.report import describe_changes


@admin.register(ImportChange)
class ImportChangeAdmin(ReadOnlyAdmin):
    """The change report of each run: users created, updated (field: old → new) and skipped,
    and what an undo did to each. Read-only; open it from an operation's page."""

    list_display = ["action", "email", "username", "import_id", "what_changed", "undo", "operation_id"]
    list_filter = ["action", "undo"]
    search_fields = ["=import_id", "=email", "=username"]
    paginator = CappedPaginator
    show_full_result_count = False
    fields = readonly_fields = (
        "operation",
        "user",
        "action",
        "import_id",
        "email",
        "username",
        "what_changed",
        "linked",
        "undo",
    )

    @admin.display(description="changes")
    def what_changed(self, obj: ImportChange) -> str:
        return describe_changes(obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW)
