"""The admin's Undo: a confirmation page (delete or deactivate the created users), then the
undo runs in the background and the detail page follows it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from importops.errors import ImportOpsError
from importops.models import ImportChange, ImportOperation
from importops.models.operation import UndoMode
from importops.services import undo
from importops.states import UNDOABLE
from importops.tasks import enqueue


class UndoForm(forms.Form):
    mode = forms.ChoiceField(
        choices=UndoMode.choices,
        initial=UndoMode.DELETE,
        widget=forms.RadioSelect,
        help_text="Users who logged in or were changed since the import are kept either way, and listed.",
    )


def undo_view(model_admin: Any, request: HttpRequest, operation: ImportOperation) -> HttpResponse:
    """GET: what the undo would do, and the mode. POST: start it, log, back to the detail page."""
    if not model_admin.has_abort_permission(request, operation):
        raise PermissionDenied
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = UndoForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enqueue(undo.undo_start(user=request.user, operation_id=operation.pk, mode=form.cleaned_data["mode"]))
        except ImportOpsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"The undo of {operation} has started.")
        return HttpResponseRedirect(
            reverse(
                "admin:importops_importoperation_change", args=[operation.pk], current_app=model_admin.admin_site.name
            )
        )
    actions = dict.fromkeys(("created", "updated", "skipped", "unchanged"), 0)
    for action in ImportChange.objects.filter(operation=operation).values_list("action", flat=True).iterator():
        actions[action] += 1
    request.current_app = model_admin.admin_site.name
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Undo this import?",
        "opts": model_admin.opts,
        "operation": operation,
        "undoable": operation.status in UNDOABLE,
        "actions": actions,
        "form": form,
    }
    return TemplateResponse(request, "admin/importops/importoperation/undo_confirmation.html", context)
