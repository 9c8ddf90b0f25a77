from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from importops.admin.paging import CappedPaginator
from importops.admin.safety import RefuseUnstorableText
from importops.models import ImportedIdentity


@admin.register(ImportedIdentity)
class ImportedIdentityAdmin(RefuseUnstorableText, admin.ModelAdmin):
    """Who each imported user was in the system they came from. Read-only."""

    list_display = ["import_id", "user", "importer_key", "operation_id", "created_at"]
    list_filter = ["importer_key"]
    list_select_related = ["user"]
    search_fields = ["=import_id"]
    paginator = CappedPaginator
    show_full_result_count = False
    readonly_fields = ["import_id", "user", "operation", "importer_key", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
