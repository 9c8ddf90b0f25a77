"""The X-User-Id / X-Auth-Token pair (docs/api.md, "Authentication")."""

from __future__ import annotations

import hmac
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from importops.models import AuthToken
from importops.models.token import token_digest


class TokenHeaderAuthentication(BaseAuthentication):
    """None without the headers; 401 when they are present but do not match a live token
    of an active user (one header alone, wrong token, another user's id, expired, revoked)."""

    def authenticate(self, request: Request) -> tuple[Any, AuthToken] | None:
        user_id = request.META.get("HTTP_X_USER_ID")
        raw = request.META.get("HTTP_X_AUTH_TOKEN")
        if user_id is None and raw is None:
            return None
        if not user_id or not raw:
            raise AuthenticationFailed()
        token = AuthToken.objects.live().select_related("user").filter(digest=token_digest(raw)).first()
        # Bytes: compare_digest refuses str with non-ASCII characters (any header may carry them).
        same_user = token is not None and hmac.compare_digest(
            str(token.user_id).encode(), user_id.encode("utf-8", "replace")
        )
        if token is None or not same_user or not token.user.is_active or token.password_changed():
            raise AuthenticationFailed()
        token.touch()
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "X-Auth-Token"
