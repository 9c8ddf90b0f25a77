"""Staged records: read-only, filtered by operation, data type and errors; searchable by
email, username and importId on their indexed columns; secrets never shown."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from importops.admin.paging import CAP, CappedPaginator
from importops.admin.permissions import ABORT, VIEW, ReadOnlyAdmin, can, sees_any_operation, visible_operations
from importops.admin.safety import RefuseUnstorableText
from importops.folding import fold
from importops.models import ImportOperation, ImportRecord

MAX_SHOWN = 10_000  # characters of a record's data rendered on its page


class HasErrorsFilter(admin.SimpleListFilter):
    title = _("has errors")
    parameter_name = "failed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ImportRecord]) -> QuerySet[ImportRecord]:
        if self.value() in ("yes", "no"):
            return queryset.filter(failed=self.value() == "yes")
        return queryset


class OperationFilter(admin.SimpleListFilter):
    """The operations the viewer may see (a filter on the indexed operation column)."""

    title = _("operation")
    parameter_name = "operation__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        visible = visible_operations(request.user, ImportOperation.objects.latest_first())
        return [(op.pk, f"{op.pk} ({op.type}, {op.ts:%Y-%m-%d %H:%M})") for op in visible[:20]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ImportRecord]) -> QuerySet[ImportRecord]:
        return queryset.filter(operation_id=self.value()) if self.value() else queryset


@admin.register(ImportRecord)
class ImportRecordAdmin(RefuseUnstorableText, ReadOnlyAdmin):
    list_display = ["id", "operation_id", "data_type", "email", "username", "import_id", "error_codes", "skipped"]
    list_filter = [OperationFilter, "data_type", HasErrorsFilter]
    # "=" lookups: exact matches on the (operation, column) indexes. Values are stored
    # case-folded, so the search term is folded the same way (see get_search_results).
    search_fields = ["=email", "=username", "=import_id"]
    paginator = CappedPaginator
    show_full_result_count = False
    list_per_page = 50
    fields = readonly_fields = (
        "id",
        "operation",
        "data_type",
        "shown_data",
        "shown_errors",
        "password_kind",
        "skipped",
        "lane",
    )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # Always one operation's records: every filter and search then runs on an
        # (operation, column) index, and nothing counts the whole table.
        if OperationFilter.parameter_name not in request.GET:
            latest = visible_operations(request.user, ImportOperation.objects.latest_first()).first()
            if latest is not None:
                query = request.GET.copy()
                query[OperationFilter.parameter_name] = latest.pk
                return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRecord]:
        queryset = super().get_queryset(request).defer("secret")
        if request.user.has_perm("importops.view_importrecord") or request.user.has_perm(VIEW):
            return queryset
        return queryset.filter(operation__in=visible_operations(request.user, ImportOperation.objects.all()))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whoever may see an operation may see its staged records."""
        if super().has_view_permission(request, obj):
            return True
        if obj is not None:
            return can(request.user, VIEW, obj.operation) or can(request.user, ABORT, obj.operation)
        return sees_any_operation(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or sees_any_operation(request.user)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        """Exact, case-folded matches, found on the (operation, column) indexes first: given
        "ORDER BY id DESC LIMIT 50" with the search, PostgreSQL would rather walk the id
        index backwards through every record of the operation, hoping to meet a match."""
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = queryset.filter(Q(email=fold(term)) | Q(username=fold(term)) | Q(import_id=term.lower())).order_by()
        return queryset.filter(pk__in=list(matches.values_list("pk", flat=True)[:CAP])), False

    @admin.display(description=_("errors"))
    def error_codes(self, obj: ImportRecord) -> str:
        return ", ".join(entry.get("message", "") for entry in obj.errors or []) or "—"

    @admin.display(description=_("data"))
    def shown_data(self, obj: ImportRecord) -> str:
        text = json.dumps(obj.data, indent=2, ensure_ascii=False, sort_keys=True)
        if len(text) > MAX_SHOWN:  # a staged record may hold megabytes of customFields
            text = f"{text[:MAX_SHOWN]}\n… ({len(text) - MAX_SHOWN} more characters not shown)"
        return format_html("<pre>{}</pre>", text)

    @admin.display(description=_("errors"))
    def shown_errors(self, obj: ImportRecord) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.errors, indent=2, ensure_ascii=False))

    @admin.display(description=_("password"))
    def password_kind(self, obj: ImportRecord) -> str:
        """Whether a secret was given — never the secret itself."""
        secret = ImportRecord.objects.filter(pk=obj.pk).values_list("secret", flat=True).first()
        if not secret:
            return "none (or removed after processing)"
        return "Rocket.Chat bcrypt hash [redacted]" if "bcrypt" in secret else "plaintext password [redacted]"
