"""API tokens: listed without secrets, revocable; a personal token can be minted for a user
and its raw value is shown once, on the page that created it."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from importops.admin.safety import RefuseUnstorableText
from importops.models import AuthToken
from importops.models.token import AuthTokenQuerySet, TokenKind
from importops.services.audit import ADDITION, CHANGE, audit


class LiveFilter(admin.SimpleListFilter):
    title = _("live")
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Live"), ("no", "Expired or revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> QuerySet[AuthToken]:
        # The changelist's queryset comes from AuthToken.objects, so it is an AuthTokenQuerySet.
        if self.value() == "yes":
            return cast(AuthTokenQuerySet, queryset).live()
        if self.value() == "no":
            return cast(AuthTokenQuerySet, queryset).dead()
        return queryset


class MintTokenForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model()._default_manager.filter(is_active=True))
    name = forms.CharField(max_length=100, help_text=_("What the token is for, e.g. 'nightly import script'."))


@admin.register(AuthToken)
class AuthTokenAdmin(RefuseUnstorableText, admin.ModelAdmin):
    list_display = ["id", "user", "kind", "name", "created_at", "expires_at", "last_used_at", "revoked_at", "is_live"]
    list_filter = ["kind", LiveFilter]
    list_select_related = ["user"]
    fields = readonly_fields = ("user", "kind", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    actions = ["revoke_selected"]
    change_list_template = "admin/importops/authtoken/change_list.html"

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["name", f"user__{get_user_model().USERNAME_FIELD}"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # minted through the "Create a token" page: the raw value is shown once

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)

    @admin.display(boolean=True, description=_("live"))
    def is_live(self, obj: AuthToken) -> bool:
        return obj.is_live

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()
            audit(user=request.user, obj=token, action=CHANGE, message="Revoked")
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path("mint/", self.admin_site.admin_view(self.mint_view), name=f"{info[0]}_{info[1]}_mint"),
            *super().get_urls(),
        ]

    def mint_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("importops.add_authtoken"):
            raise PermissionDenied
        form = MintTokenForm(request.POST or None, initial={"user": request.GET.get("user")})
        raw = None
        if request.method == "POST" and form.is_valid():
            token, raw = AuthToken.objects.issue(
                user=form.cleaned_data["user"], kind=TokenKind.PERSONAL, name=form.cleaned_data["name"]
            )
            audit(user=request.user, obj=token, action=ADDITION, message="Created a personal access token")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Create an API token"),
            "opts": self.opts,
            "form": form,
            "raw_token": raw,
            "now": timezone.now(),
        }
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, "admin/importops/authtoken/mint.html", context)
        response["Cache-Control"] = "no-store"
        return response
