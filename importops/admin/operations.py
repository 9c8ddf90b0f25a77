"""Operations in the admin: list with state badges and progress, a read-only detail page with
live progress and an error breakdown, Abort (one or many) behind a confirmation page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin

from importops.admin import permissions, start, undo
from importops.admin.progress import error_breakdown, progress
from importops.admin.safety import RefuseUnstorableText, object_or_404
from importops.errors import InvitationsUnavailable
from importops.models import ImportChange, ImportOperation
from importops.services import invitations, operations
from importops.states import STOPPABLE, UNDOABLE, State, Status, statuses_in

BADGE_CLASSES = {
    State.NEW: "new",
    State.LOADING: "running",
    State.READY: "ready",
    State.IMPORTING: "running",
    State.DONE: "done",
    State.ERROR: "error",
    State.CANCELED: "canceled",
}


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s.value, s.label) for s in State if s != State.NONE]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ImportOperation]) -> QuerySet[ImportOperation]:
        value = self.value()
        if not value:
            return queryset
        if value == State.DONE:
            return queryset.filter(status__in=[Status.DONE, Status.UNDONE])
        if value == State.ERROR:
            return queryset.filter(Q(status=Status.FAILED) | (Q(valid=False) & ~Q(status=Status.DONE)))
        return queryset.filter(valid=True, status__in=statuses_in(State(value)))


@admin.register(ImportOperation)
class ImportOperationAdmin(RefuseUnstorableText, GuardedModelAdmin):
    list_display = [
        "id",
        "type",
        "state_badge",
        "valid",
        "progress_bar",
        "counts",
        "user",
        "ts",
        "updated_at",
        "run_duration",
    ]
    list_filter = [StateFilter, "type", "valid", ("user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["=id"]
    ordering = ["-ts"]
    show_full_result_count = False
    actions = ["abort_selected", "undo_selected", "invite_selected"]
    # The stubs of ModelAdmin (a class variable) and of guardian's mixin (an instance one) disagree.
    change_form_template = "admin/importops/importoperation/change_form.html"  # type: ignore[misc]
    change_list_template = "admin/importops/importoperation/change_list.html"
    fields = readonly_fields = (
        "id",
        "type",
        "importer_key",
        "status",
        "valid",
        "user",
        "ts",
        "updated_at",
        "started_at",
        "finished_at",
        "count_total",
        "count_users",
        "count_channels",
        "count_messages",
        "file_name",
        "content_type",
        "resumes",
        "failure_reason",
        "failure_traceback",
    )

    class Media:
        css = {"all": ["importops/admin.css"]}

    # -- search by creator ---------------------------------------------------------------

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        from django.contrib.auth import get_user_model

        return [*self.search_fields, f"user__{get_user_model().USERNAME_FIELD}"]

    # -- permissions: global, or object permissions through guardian --------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportOperation]:
        queryset = ImportOperation.objects.with_progress().select_related("user")
        return permissions.visible_operations(request.user, queryset)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.sees_any_operation(request.user)

    def has_view_permission(self, request: HttpRequest, obj: ImportOperation | None = None) -> bool:
        if obj is None:
            return permissions.sees_any_operation(request.user)
        return permissions.can(request.user, permissions.VIEW, obj) or permissions.can(
            request.user, permissions.ABORT, obj
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportOperation | None = None) -> bool:
        # Operations are read-only; the global change permission only opens guardian's
        # "Object permissions" page (which asks with obj=None).
        return obj is None and request.user.has_perm("importops.change_importoperation")

    def has_delete_permission(self, request: HttpRequest, obj: ImportOperation | None = None) -> bool:
        # Operations are history (import.clear invalidates, it does not delete); and a
        # delete confirmation page would list every staged record.
        return False

    def has_abort_permission(self, request: HttpRequest, obj: ImportOperation | None = None) -> bool:
        return permissions.can(request.user, permissions.ABORT, obj)

    # -- list columns --------------------------------------------------------------------

    @admin.display(description=_("state"), ordering="status")
    def state_badge(self, obj: ImportOperation) -> str:
        state = obj.state
        return format_html(
            '<span class="importops-badge importops-{}">{}</span><br><code class="importops-status">{}</code>',
            BADGE_CLASSES[state],
            state.label,
            obj.status.removeprefix("importer_"),
        )

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: ImportOperation) -> str:
        completed, failed = obj.progress()
        total = obj.count_total
        percent = min(100, round(100 * (completed + failed) / total)) if total else 0
        return format_html(
            '<span class="importops-bar" title="{} of {}"><span style="width: {}%"></span></span> {}%',
            completed + failed,
            total,
            percent,
            percent,
        )

    @admin.display(description=_("created · failed · total"))
    def counts(self, obj: ImportOperation) -> str:
        completed, failed = obj.progress()
        return f"{completed:,} · {failed:,} · {obj.count_total:,}"

    @admin.display(description=_("duration"))
    def run_duration(self, obj: ImportOperation) -> str:
        seconds = obj.duration()
        if seconds is None:
            return "—"
        minutes, seconds = divmod(int(seconds), 60)
        return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"

    # -- detail page ---------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        operation = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if operation is not None:
            info = self.opts.app_label, self.opts.model_name
            site = self.admin_site.name
            context.update(
                progress=progress(operation),
                progress_url=reverse(f"admin:{info[0]}_{info[1]}_progress", args=[operation.pk], current_app=site),
                abort_url=reverse(f"admin:{info[0]}_{info[1]}_abort", args=[operation.pk], current_app=site),
                can_abort=self.has_abort_permission(request, operation) and operation.status in STOPPABLE,
                undo_url=reverse(f"admin:{info[0]}_{info[1]}_undo", args=[operation.pk], current_app=site),
                can_undo=self.has_abort_permission(request, operation) and operation.status in UNDOABLE,
                # The change report, when this admin site has it (a host may register only some pages).
                changes_url=reverse(f"admin:{info[0]}_importchange_changelist", current_app=site)
                + f"?operation__id__exact={operation.pk}"
                if self.admin_site.is_registered(ImportChange)
                else "",
                can_manage_permissions=self.has_change_permission(request),
                breakdown=error_breakdown(operation),
                records_url=reverse(f"admin:{info[0]}_importrecord_changelist", current_app=site)
                + f"?operation__id__exact={operation.pk}",
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name=f"{info[0]}_{info[1]}_start"),
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name=f"{info[0]}_{info[1]}_review",
            ),
            path(
                "<path:object_id>/abort/",
                self.admin_site.admin_view(self.abort_view),
                name=f"{info[0]}_{info[1]}_abort",
            ),
            path(
                "<path:object_id>/undo/",
                self.admin_site.admin_view(self.undo_view),
                name=f"{info[0]}_{info[1]}_undo",
            ),
            path(
                "<path:object_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name=f"{info[0]}_{info[1]}_progress",
            ),
            *super().get_urls(),
        ]

    def start_view(self, request: HttpRequest) -> HttpResponse:
        return start.start_view(self, request)

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return start.review_view(self, request, object_id)

    def _operation_or_404(self, request: HttpRequest, object_id: str) -> ImportOperation:
        operation = object_or_404(ImportOperation.objects.with_progress(), object_id)
        if not self.has_view_permission(request, operation):
            raise PermissionDenied
        return operation

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The JSON the detail page polls every ~2 s while the operation runs."""
        operation = self._operation_or_404(request, object_id)
        response = JsonResponse(progress(operation))
        response["Cache-Control"] = "no-store"
        return response

    def abort_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: confirmation page. POST: abort, log, message, back to the detail page."""
        operation = self._operation_or_404(request, object_id)
        if not self.has_abort_permission(request, operation):
            raise PermissionDenied
        if request.method == "POST":
            self._abort(request, [operation])
            return HttpResponseRedirect(
                reverse("admin:importops_importoperation_change", args=[operation.pk], current_app=self.admin_site.name)
            )
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        return self._confirmation(request, [operation], single=True)

    def undo_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return undo.undo_view(self, request, self._operation_or_404(request, object_id))

    @admin.action(description=_("Undo the selected import (asks first)"))
    def undo_selected(self, request: HttpRequest, queryset: QuerySet[ImportOperation]) -> HttpResponse | None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, _("Select exactly one import to undo."), messages.WARNING)
            return None
        return HttpResponseRedirect(
            reverse("admin:importops_importoperation_undo", args=[chosen[0].pk], current_app=self.admin_site.name)
        )

    @admin.action(description=_("Abort selected import operations"))
    def abort_selected(self, request: HttpRequest, queryset: QuerySet[ImportOperation]) -> HttpResponse | None:
        chosen = list(queryset)
        if any(not self.has_abort_permission(request, operation) for operation in chosen):
            raise PermissionDenied
        if request.POST.get("confirmed") == "yes":
            self._abort(request, chosen)
            return None
        return self._confirmation(request, chosen, single=False)

    @admin.action(description=_("Send invitations (password-reset email) to their imported users without a password"))
    def invite_selected(self, request: HttpRequest, queryset: QuerySet[ImportOperation]) -> None:
        chosen = list(queryset)
        if any(not self.has_abort_permission(request, operation) for operation in chosen):
            raise PermissionDenied  # inviting is an operator's act, like aborting
        try:
            sent = sum(
                invitations.invitations_send(
                    operation=operation, actor=request.user, domain=request.get_host(), use_https=request.is_secure()
                )
                for operation in chosen
            )
        except InvitationsUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Sent {sent} invitation(s).", messages.SUCCESS)

    def _confirmation(self, request: HttpRequest, chosen: list[ImportOperation], *, single: bool) -> HttpResponse:
        """``single``: asked from an operation's page (not the list), so "back" leads there."""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Abort import operations?") if len(chosen) > 1 else _("Abort import operation?"),
            "opts": self.opts,
            "operations": chosen,
            "stoppable": [op for op in chosen if op.status in STOPPABLE],
            "finished": [op for op in chosen if op.status not in STOPPABLE],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "single": single,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/importops/importoperation/abort_confirmation.html", context)

    def _abort(self, request: HttpRequest, chosen: list[ImportOperation]) -> None:
        aborted = [op for op in chosen if operations.operation_abort(operation=op, user=request.user)]
        if aborted:
            names = ", ".join(op.pk for op in aborted)
            self.message_user(request, f"Aborted {len(aborted)} import operation(s): {names}.", messages.SUCCESS)
        skipped = len(chosen) - len(aborted)
        if skipped:
            self.message_user(
                request, f"{skipped} operation(s) had already finished: left as they were.", messages.WARNING
            )
