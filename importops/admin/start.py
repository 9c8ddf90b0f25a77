"""The admin's "Start an import" pages: upload a file, review who would be imported (the
same checks as import.preview), untick users, start — then the live detail page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from importops.admin.safety import object_or_404
from importops.errors import ImportOpsError
from importops.importers import registry
from importops.models import ImportOperation, ImportRecord
from importops.models.operation import ExistingUsers
from importops.models.record import DataType
from importops.services import intake, selection
from importops.services.judge import STAGED_ROW_FIELDS, judge
from importops.services.preview import operation_preview
from importops.services.running import adapter
from importops.states import State, Status
from importops.tasks import enqueue

SHOWN_USERS = 500


def _importer_choices() -> list[tuple[str, str]]:
    return [(importer.key, importer.name) for importer in registry.listed()]


class StartImportForm(forms.Form):
    importer = forms.ChoiceField(choices=_importer_choices, help_text=_("The file's format."))
    file = forms.FileField(
        help_text=_("A Rocket.Chat CSV ZIP or users.csv, a Slack member list (CSV), or a .jsonl file.")
    )


def _require_run_import(request: HttpRequest) -> None:
    if not request.user.has_perm("importops.run_import"):
        raise PermissionDenied


def _context(model_admin: Any, request: HttpRequest, title: str | Promise, **extra: Any) -> dict[str, Any]:
    request.current_app = model_admin.admin_site.name
    return {**model_admin.admin_site.each_context(request), "title": title, "opts": model_admin.opts, **extra}


def start_view(model_admin: Any, request: HttpRequest) -> HttpResponse:
    _require_run_import(request)
    form = StartImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            work = intake.file_upload(
                user=request.user,
                importer_key=form.cleaned_data["importer"],
                file_name=upload.name,
                content_type=upload.content_type or "",
                content=upload,
            )
            enqueue(work)
        except ImportOpsError as exc:
            form.add_error("file", exc.message)
        else:
            return HttpResponseRedirect(
                reverse(
                    "admin:importops_importoperation_review",
                    args=[work.operation.pk],
                    current_app=model_admin.admin_site.name,
                )
            )
    context = _context(model_admin, request, _("Start an import"), form=form)
    return TemplateResponse(request, "admin/importops/importoperation/start.html", context)


class PolicyForm(forms.Form):
    existing_users = forms.ChoiceField(
        label=_("Existing users"),
        choices=ExistingUsers.choices,
        initial=ExistingUsers.FAIL,
        help_text=_("What the run does with a user who already exists (matched by importId, email, then username)."),
    )
    update_passwords = forms.BooleanField(
        label=_("Replace passwords"), required=False, help_text=_("Only with “update”: set the file's passwords too.")
    )

    def policy(self) -> dict[str, Any]:
        """Service keyword arguments (the defaults when the form is not valid)."""
        if not self.is_valid():
            return {"existing_users": ExistingUsers.FAIL, "update_passwords": False}
        return dict(self.cleaned_data)


def review_view(model_admin: Any, request: HttpRequest, object_id: str) -> HttpResponse:
    _require_run_import(request)
    operation = object_or_404(ImportOperation.objects.with_progress(), object_id)
    policy_form = PolicyForm(request.POST if request.method == "POST" else request.GET or None)
    policy = policy_form.policy()
    if request.method == "POST":
        shown = request.POST.getlist("shown")
        ticked = set(request.POST.getlist("selected"))
        try:
            enqueue(
                selection.import_start(
                    user=request.user, select_all=True, deselected=[k for k in shown if k not in ticked], **policy
                )
            )
        except ImportOpsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The import has started."))
            return HttpResponseRedirect(
                reverse(
                    "admin:importops_importoperation_change",
                    args=[operation.pk],
                    current_app=model_admin.admin_site.name,
                )
            )
    ready = operation.valid and operation.status == Status.USER_SELECTION
    context = _context(
        model_admin,
        request,
        f"Review the import {operation.pk}",
        operation=operation,
        loading=operation.valid and operation.state in (State.LOADING,),
        ready=ready,
        preview=operation_preview(operation=operation, **policy) if ready else None,
        users=_first_users(operation, policy["existing_users"]) if ready else [],
        form=policy_form if policy_form.is_bound else PolicyForm(),
        shown_limit=SHOWN_USERS,
    )
    return TemplateResponse(request, "admin/importops/importoperation/review.html", context)


def _first_users(operation: ImportOperation, policy: str) -> list[dict[str, Any]]:
    """The first users with the verdict a run would give them now (the existing-user policy's
    matches are shown as such; protection and field diffs are in the preview above)."""
    rows = list(
        ImportRecord.objects.filter(operation=operation, data_type=DataType.USER)
        .order_by("id")
        .values_list(*STAGED_ROW_FIELDS, named=True)[:SHOWN_USERS]
    )
    verdicts = judge(operation_id=operation.pk, records=rows, adapter=adapter(), policy=policy)
    skipped = dict(ImportRecord.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "skipped"))
    return [
        {
            "import_id": v.user.import_id,
            "email": v.user.email,
            "username": v.user.username or v.username or "",
            "name": v.user.name,
            "code": v.error["message"]
            if v.error
            else (f"matches an existing user by {v.matched_by}" if v.match else ""),
            "selected": not skipped[v.user.record_id],
        }
        for v in verdicts
    ]
