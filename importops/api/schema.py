"""The OpenAPI 3 description of the API (drf-spectacular), served at ``/api/v1/schema`` with an
offline Swagger UI at ``/api/v1/docs`` (drf-spectacular-sidecar: no CDN).

The views validate by hand (no serializers), so each one declares its bodies with ``endpoint``;
the shapes are written once here as components, every error envelope (docs/api.md, "Envelopes")
among them. The generator, its settings and the two pages are in ``schema_views``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from importops.states import State, Status


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], extra: bool = False, **properties: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": extra}
    if required:
        body["required"] = required
    return body


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
INTEGER = {"type": "integer", "minimum": 0}
TRUE = {"type": "boolean", "enum": [True]}
FALSE = {"type": "boolean", "enum": [False]}
TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _error(
    error: dict[str, Any], error_type: dict[str, Any] | None = None, *, typed: bool = True, **extra: Any
) -> dict[str, Any]:
    """An error envelope; ``errorType`` is required when given, unless not ``typed``."""
    properties = {"success": FALSE, "error": error, **extra}
    if error_type is not None:
        properties["errorType"] = error_type
    required = ["success", "error", *extra]
    if error_type is not None and typed:
        required.append("errorType")
    return _object(required, **properties)


NOT_LOGGED_IN = "You must be logged in to do this."
ME = {
    "_id": STRING,
    "username": _nullable(STRING),
    "name": STRING,
    "emails": {
        "type": "array",
        "items": _object(["address", "verified"], address=STRING, verified={"type": "boolean"}),
    },
    "active": {"type": "boolean"},
    "roles": STRINGS,
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Operation": _object(
        ["_id", "type", "importerKey", "ts", "status", "valid", "user", "_updatedAt"],
        extra=True,  # docs/api.md, "The operation object": extra keys may be added
        _id={"type": "string", "pattern": "^[0-9a-f]{24}$"},
        type=STRING,
        importerKey=STRING,
        ts=TIMESTAMP,
        status={"type": "string", "enum": list(Status.values)},
        valid={"type": "boolean"},
        user=_nullable(STRING),
        _updatedAt=TIMESTAMP,
        count=_object(
            ["total", "completed", "error", "users", "channels", "messages"],
            extra=True,  # the existing-user policy's outcomes: updated, skipped, unchanged
            total=INTEGER,
            completed=INTEGER,
            error=INTEGER,
            users=INTEGER,
            channels=INTEGER,
            messages=INTEGER,
        ),
        file=STRING,
        contentType=STRING,
        failureReason=STRING,
    ),
    "Me": {"type": "object", "properties": ME, "required": list(ME), "additionalProperties": False},
    "MeSuccess": {
        "type": "object",
        "properties": {**ME, "success": TRUE},
        "required": [*ME, "success"],
        "additionalProperties": False,
    },
    "ImportUser": {
        "type": "object",
        "description": "One user. `null` means absent; unknown keys are dropped; no type coercion.",
        "properties": {
            "emails": _nullable(STRINGS),
            "importIds": _nullable(STRINGS),
            "username": _nullable(STRING),
            "name": _nullable(STRING),
            "utcOffset": _nullable({"type": "number"}),
            "avatarUrl": _nullable(STRING),
            "deleted": _nullable({"type": "boolean"}),
            "statusText": _nullable(STRING),
            "roles": _nullable(STRINGS),
            "type": _nullable({"type": "string", "enum": ["user", "bot"]}),
            "bio": _nullable(STRING),
            "password": _nullable(STRING),
            "customFields": _nullable({"type": "object"}),
            "services": _nullable({"type": "object", "description": "only `services.password.bcrypt` is used"}),
        },
        "required": ["emails", "importIds"],
    },
    "Success": _object(["success"], success=TRUE),
    "Policy": {
        "type": "object",
        "description": "the existing-user policy of a run (an extension)",
        "properties": {
            "existingUsers": {"type": "string", "enum": ["fail", "skip", "update"]},
            "updatePasswords": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "InvalidParams": _error(
        {"type": "string", "description": "`<field path>: <problem>`, several joined by newlines"},
        {"type": "string", "enum": ["error-invalid-params"]},
    ),
    "ImportError": _error(
        {"type": "string", "description": "an import rule's exact message (see the API reference, Envelopes)"},
        {
            "type": "string",
            "enum": [
                "error-invalid-params",
                "error-importer-not-defined",
                "error-invalid-import-file",
                "error-invalid-import-file-url",
            ],
        },
        typed=False,
    ),
    "NotLoggedIn": _error(
        {"type": "string", "enum": [NOT_LOGGED_IN]},
        status={"type": "string", "enum": ["error"]},
        message={"type": "string", "enum": [NOT_LOGGED_IN]},
    ),
    "LoginFailed": _error(
        {"type": "string", "enum": ["Unauthorized"]},
        status={"type": "string", "enum": ["error"]},
        message={"type": "string", "enum": ["Unauthorized"]},
    ),
    "Forbidden": _error(
        {"type": "string", "enum": ["User does not have the permissions required for this action [error-unauthorized]"]}
    ),
    "LengthRequired": _error(STRING, {"type": "string", "enum": ["error-length-required"]}),
    "PayloadTooLarge": _error(
        {"type": "string", "pattern": "^Request body exceeds [0-9]+ bytes$"},
        {"type": "string", "enum": ["error-payload-too-large"]},
    ),
    "TooManyRequests": _error({"type": "string", "pattern": r"\[error-too-many-requests\]$"}),
    "ServerError": _error({"type": "string", "enum": ["Internal server error"]}),
}


def _response(name: str, description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ref(name), description=description)


PROTECTED = {
    401: _response("NotLoggedIn", "no, or a bad, X-User-Id / X-Auth-Token pair"),
    403: _response("Forbidden", "logged in without the permission"),
    429: _response("TooManyRequests", "over RATE_LIMIT (users without run-import)"),
    500: _response("ServerError", "unexpected (logged, never detailed)"),
}
WITH_BODY = {
    400: _response("ImportError", "validation (`error-invalid-params`) or an import rule"),
    411: _response("LengthRequired", "a chunked body (no Content-Length)"),
    413: _response("PayloadTooLarge", "body over MAX_REQUEST_SIZE"),
}
RATE_HEADERS = [
    OpenApiParameter(name, int, OpenApiParameter.HEADER, response=[429], description=description)
    for name, description in (
        ("X-RateLimit-Limit", "requests per window"),
        ("X-RateLimit-Remaining", "requests left in this window"),
        ("X-RateLimit-Reset", "end of the window, epoch milliseconds"),
    )
]


TAGS = {"auth": "Authentication", "imports": "Imports", "files": "File importers"}


def extend(**kwargs: Any) -> Callable[[Any], Any]:
    """``extend_schema`` on drf-spectacular's AutoSchema, whatever the host's DEFAULT_SCHEMA_CLASS."""

    def decorate(method: Any) -> Any:
        method.schema = AutoSchema
        tag = TAGS[method.__module__.rsplit(".", 1)[-1]]
        return extend_schema(tags=[tag], **kwargs)(method)

    return decorate


def endpoint(
    operation_id: str,
    ok: dict[str, Any],
    *,
    summary: str,
    request: Any = None,
    rules: bool = False,
    parameters: list[OpenApiParameter] | None = None,
) -> Callable[[Any], Any]:
    """Describe one protected endpoint: its success body, its request body (None: no body; a
    schema, or a mapping of media types to schemas), whether an import rule may refuse it
    (400), and the envelopes every endpoint shares (a POST's body size and chunking too)."""
    if request is not None and not all("/" in str(key) for key in request):
        request = {"application/json": request}  # a bare schema: a JSON body
    answers: dict[int, Any] = {200: OpenApiResponse(response=ok, description="success"), **PROTECTED}
    if request is not None:
        answers[400] = WITH_BODY[400]
    elif rules:
        answers[400] = _response("ImportError", "an import rule")

    def decorate(method: Any) -> Any:
        posted = (
            {code: answer for code, answer in WITH_BODY.items() if code != 400} if method.__name__ == "post" else {}
        )
        schema = extend(
            operation_id=operation_id,
            summary=summary,
            request=request,
            responses={**answers, **posted},
            parameters=[*(parameters or []), *RATE_HEADERS],
        )
        return schema(method)

    return decorate


def success(optional: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """A success envelope: the object with ``"success": true``; keys not in ``optional`` required."""
    return _object(["success", *(key for key in properties if key not in optional)], success=TRUE, **properties)


STATES = {"type": "string", "enum": list(State.values)}

_CREDENTIALS = {
    "type": "object",
    "description": "`user` (username or email), `username` or `email`, with `password`; or `resume` (a token)",
    "properties": {
        "user": {"oneOf": [STRING, _object([], username=STRING, email=STRING)]},
        "username": STRING,
        "email": STRING,
        "password": STRING,
        "resume": STRING,
    },
}
_FORM = {"type": "object", "properties": {key: STRING for key in ("user", "username", "email", "password", "resume")}}
LOGIN = extend(
    operation_id="login",
    summary="Log in: a token for X-Auth-Token",
    auth=[],
    request={
        "application/json": _CREDENTIALS,
        "application/x-www-form-urlencoded": _FORM,
        "multipart/form-data": _FORM,
    },
    responses={
        200: OpenApiResponse(
            description="logged in",
            response=_object(
                ["status", "success", "data"],
                status={"type": "string", "enum": ["success"]},
                success=TRUE,
                data=_object(["userId", "authToken", "me"], userId=STRING, authToken=STRING, me=ref("Me")),
            ),
        ),
        400: _response("InvalidParams", "a body that is not JSON"),
        401: _response("LoginFailed", "any failure: unknown user, wrong password, inactive user alike"),
        411: _response("LengthRequired", "a chunked body (no Content-Length)"),
        413: _response("PayloadTooLarge", "body over MAX_REQUEST_SIZE (JSON) or DATA_UPLOAD_MAX_MEMORY_SIZE (form)"),
        429: _response("TooManyRequests", "too many failed logins for this account or address"),
        500: PROTECTED[500],
    },
    parameters=RATE_HEADERS,
)
