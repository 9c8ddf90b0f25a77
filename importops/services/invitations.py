"""Invitations: Django's password-reset email, sent to imported users who have no usable
password (users imported without a password or a Rocket.Chat hash)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from importops.errors import InvitationsUnavailable
from importops.models import ImportedIdentity, ImportOperation
from importops.services.audit import CHANGE, audit

SUBJECT_TEMPLATE = "importops/invitation_subject.txt"
EMAIL_TEMPLATE = "importops/invitation_email.txt"


def invitees(operation: ImportOperation) -> Any:
    """Active users this operation created, with an email and without a usable password."""
    model = get_user_model()
    email_field = model.get_email_field_name()
    user_ids = ImportedIdentity.objects.filter(operation=operation).values("user_id")
    return (
        model._default_manager.filter(pk__in=user_ids, is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exclude(**{email_field: ""})
        .order_by("pk")
    )


def invitations_send(*, operation: ImportOperation, actor: Any, domain: str, use_https: bool) -> int:
    """Email each invitee a link to set their password. Returns how many were sent."""
    try:
        reverse("password_reset_confirm", kwargs={"uidb64": "x", "token": "x-x"})
    except NoReverseMatch as exc:
        raise InvitationsUnavailable(
            "Invitations link to Django's password-reset confirmation page: add "
            'path("accounts/", include("django.contrib.auth.urls")) to your URLconf.'
        ) from exc
    form = PasswordResetForm()
    email_field = get_user_model().get_email_field_name()
    sent = 0
    for user in invitees(operation).iterator():
        context = {
            "email": getattr(user, email_field),
            "domain": domain,
            "site_name": domain,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "user": user,
            "token": default_token_generator.make_token(user),
            "protocol": "https" if use_https else "http",
        }
        form.send_mail(SUBJECT_TEMPLATE, EMAIL_TEMPLATE, context, None, context["email"])
        sent += 1
    audit(user=actor, obj=operation, action=CHANGE, message=f"Sent {sent} invitation(s)")
    return sent
