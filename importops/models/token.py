from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from importops.conf import importops_settings


def token_digest(raw: str) -> str:
    """base64(sha256(token)): how Rocket.Chat stores login tokens."""
    return base64.b64encode(hashlib.sha256(raw.encode()).digest()).decode()


def password_stamp(user: AbstractBaseUser) -> str:
    """Changes whenever the user's password does: Django's session hash (an HMAC of it)."""
    return user.get_session_auth_hash()


class TokenKind(models.TextChoices):
    LOGIN = "login", "login"
    PERSONAL = "personal", "personal access token"


class AuthTokenQuerySet(models.QuerySet["AuthToken"]):
    def live(self) -> AuthTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def dead(self) -> AuthTokenQuerySet:
        return self.filter(Q(revoked_at__isnull=False) | Q(expires_at__lte=timezone.now()))


class AuthTokenManager(models.Manager.from_queryset(AuthTokenQuerySet)):  # type: ignore[misc]
    def issue(self, *, user: models.Model, kind: str = TokenKind.LOGIN, name: str = "") -> tuple[AuthToken, str]:
        """Create a token; the raw value exists only in the returned tuple."""
        raw = secrets.token_urlsafe(32)
        now = timezone.now()
        token = self.create(
            digest=token_digest(raw),
            user=user,
            password_stamp=password_stamp(cast(AbstractBaseUser, user)),
            kind=kind,
            name=name,
            created_at=now,
            expires_at=now + timedelta(days=importops_settings.TOKEN_TTL_DAYS),
        )
        return token, raw


class AuthToken(models.Model):
    """An API token of the X-User-Id/X-Auth-Token scheme. Only its digest is stored."""

    digest = models.CharField(max_length=44, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="importops_tokens")
    kind = models.CharField(max_length=16, choices=TokenKind.choices, default=TokenKind.LOGIN)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The password it was issued under: a token dies when its user's password changes.
    password_stamp = models.CharField(max_length=128, blank=True, editable=False)

    objects = AuthTokenManager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} token of {self.user} ({self.created_at:%Y-%m-%d})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    def touch(self) -> None:
        """Record use, at most once per TOKEN_LAST_USED_INTERVAL seconds (writes are throttled)."""
        now = timezone.now()
        interval = timedelta(seconds=importops_settings.TOKEN_LAST_USED_INTERVAL)
        if self.last_used_at is None or now - self.last_used_at >= interval:
            AuthToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def password_changed(self) -> bool:
        """True, and the token revoked for good, once its user's password is not the one it
        was issued under (changing the password back does not revive it)."""
        if hmac.compare_digest(self.password_stamp, password_stamp(self.user)):
            return False
        self.revoke()
        return True

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
