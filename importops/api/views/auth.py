"""login, logout, me (docs/api.md, "Authentication")."""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any, cast

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import make_password
from django.db.models import Q
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from importops import jsonsafe
from importops.api import ratelimit
from importops.api.base import APIView, LimitedJSONParser, ok
from importops.api.schema import LOGIN, STRING, endpoint, ref, success
from importops.api.serializers import me_json
from importops.conf import importops_settings
from importops.errors import LoginFailed, RateLimited
from importops.folding import Fold, fold, normalize_identity
from importops.models import AuthToken, ImportedIdentity
from importops.models.token import TokenKind, token_digest


def _identifier(data: Any) -> tuple[str, str] | None:
    """(kind, value) from any login body variant: ("username"|"email"|"user", value)."""
    user = data.get("user")
    if isinstance(user, dict):
        for kind in ("username", "email"):
            if isinstance(user.get(kind), str):
                return kind, user[kind]
        return None
    if isinstance(user, str):
        return ("email" if "@" in user else "username"), user
    for kind in ("username", "email"):
        if isinstance(data.get(kind), str):
            return kind, data[kind]
    return None


def _find_user(kind: str, value: str) -> Any:
    model = get_user_model()
    manager = model._default_manager
    if kind == "email":
        folded = manager.annotate(_key=Fold(model.get_email_field_name())).filter(_key=fold(value))
        matches = list(folded[:2])
        return matches[0] if len(matches) == 1 else None
    if importops_settings.USER_ADAPTER().username_field is None:
        # No username on the user model: the name the user had in Rocket.Chat, kept on the
        # imported identity (case-insensitive, as the import's duplicate rule).
        owners = list(
            ImportedIdentity.objects.annotate(key=Fold("username"))
            .filter(key=fold(value))
            .values_list("user_id", flat=True)
            .distinct()[:2]
        )
        return manager.filter(pk=owners[0]).first() if len(owners) == 1 else None
    return manager.filter(**{model.USERNAME_FIELD: value}).first()


def _account_counter(value: str) -> str:
    """The failed-login counter of the account ``value`` names: every identifier of one
    account (username, email, any case) shares it, whatever the address."""
    model = get_user_model()
    fields = sorted({model.USERNAME_FIELD, model.get_email_field_name()})
    keys = {f"_{name}": Fold(name) for name in fields}
    match = reduce(operator.or_, (Q(**{key: fold(value)}) for key in keys))
    found = list(model._default_manager.annotate(**keys).filter(match).values_list("pk", flat=True)[:2])
    return f"login-account:{found[0]}" if value and len(found) == 1 else f"login-name:{fold(value)}"


class LoginView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    parser_classes = [LimitedJSONParser, FormParser, MultiPartParser]

    @LOGIN
    def post(self, request: Request) -> Response:
        data = request.data
        if not hasattr(data, "get"):
            raise LoginFailed()
        resume = data.get("resume")
        if isinstance(resume, str) and resume:
            return self._resume(request, resume)
        identifier = _identifier(data)
        password = data.get("password")
        address = ratelimit.client_address(request)
        usable = (
            identifier is not None
            and isinstance(password, str)
            and not any(map(jsonsafe.text_problem, (identifier[1], password)))
        )
        kind, value = (identifier[0], normalize_identity(identifier[1])) if usable else ("", "")  # type: ignore[index]
        account = _account_counter(value)
        self._refuse_if_blocked(account, address)
        user = None
        if usable:
            candidate = _find_user(kind, value)
            if candidate is None:
                make_password(password)  # as long as a real check: no timing oracle
            else:
                credentials = {get_user_model().USERNAME_FIELD: candidate.get_username(), "password": password}
                user = authenticate(request._request, **credentials)
        if user is None or not user.is_active:
            self._count_failure(account, address)
            raise LoginFailed()
        ratelimit.reset(account)
        _, raw = AuthToken.objects.issue(user=user, kind=TokenKind.LOGIN, name="login")
        return self._success(user, raw)

    def _resume(self, request: Request, raw: str) -> Response:
        address = ratelimit.client_address(request)
        pair = f"login:resume:{address}"
        self._refuse_if_blocked(pair, address)
        token = AuthToken.objects.live().select_related("user").filter(digest=token_digest(raw)).first()
        if token is None or not token.user.is_active or token.password_changed():
            self._count_failure(pair, address)
            raise LoginFailed()
        token.touch()
        return self._success(token.user, raw)

    @staticmethod
    def _refuse_if_blocked(pair: str, address: str) -> None:
        for name, limit in (
            (pair, importops_settings.LOGIN_MAX_FAILURES_PER_USER),
            (f"login-address:{address}", importops_settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
        ):
            window = ratelimit.peek(name, limit=limit)
            if window.count >= limit:
                raise RateLimited(retry_after=window.retry_after, headers=window.headers())

    @staticmethod
    def _count_failure(pair: str, address: str) -> None:
        window = importops_settings.LOGIN_FAILURE_WINDOW
        ratelimit.hit(pair, limit=importops_settings.LOGIN_MAX_FAILURES_PER_USER, window=window)
        ratelimit.hit(
            f"login-address:{address}", limit=importops_settings.LOGIN_MAX_FAILURES_PER_ADDRESS, window=window
        )

    @staticmethod
    def _success(user: Any, raw: str) -> Response:
        data = {"userId": str(user.pk), "authToken": raw, "me": me_json(user)}
        return Response({"status": "success", "success": True, "data": data})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @endpoint(
        "logout",
        success(
            status={"type": "string", "enum": ["success"]},
            data={"type": "object", "properties": {"message": STRING}, "required": ["message"]},
        ),
        summary="Revoke the token used",
    )
    def post(self, request: Request) -> Response:
        cast(AuthToken, request.auth).revoke()  # the token header authentication's token
        return Response({"status": "success", "success": True, "data": {"message": "You've been logged out!"}})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @endpoint("me", ref("MeSuccess"), summary="The caller")
    def get(self, request: Request) -> Response:
        return ok(me_json(request.user))
