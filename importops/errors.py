"""Every error importops raises on purpose, and the per-user error codes.

An ``ImportOpsError`` knows its HTTP answer (``status_code``, ``body()``, ``headers()``), so the
API's exception handler has one branch for all of them; commands and the admin show ``message``.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class ImportOpsError(Exception):
    """Base of every error importops raises on purpose."""

    status_code = 400
    message = "Import error."
    error_type: str | None = None

    def __init__(self, message: str | None = None, *, error_type: str | None = None) -> None:
        if message is not None:
            self.message = message
        if error_type is not None:
            self.error_type = error_type
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The JSON body of the API's answer."""
        if self.error_type:
            return {"success": False, "errorType": self.error_type, "error": self.message}
        return {"success": False, "error": self.message}

    def headers(self) -> dict[str, str]:
        """Extra headers of the API's answer."""
        return {}


class UserError(models.TextChoices):
    """Why one user of a run was not imported: the ``message`` of its error entry."""

    MISSING_EMAIL_AND_USERNAME = "importer-user-missing-email-and-username"
    INVALID_EMAIL = "importer-user-invalid-email"
    INVALID_USERNAME = "importer-user-invalid-username"
    EMAIL_IN_USE = "importer-user-email-in-use"
    USERNAME_IN_USE = "importer-user-username-in-use"
    ALREADY_IMPORTED = "importer-user-already-imported"
    DUPLICATE = "importer-user-duplicate"
    INVALID_PASSWORD_HASH = "importer-user-invalid-password-hash"  # noqa: S105 (an error code)
    PROTECTED = "importer-user-protected"  # staff, superuser or importops permission holder: never touched


class Invalid(ImportOpsError):
    """A request body (or a user read from a file) failed validation; ``problems`` are
    ``"path: problem"`` strings."""

    error_type = "error-invalid-params"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NotLoggedIn(ImportOpsError):
    """No credentials, or credentials that do not authenticate."""

    status_code = 401
    message = "You must be logged in to do this."

    def body(self) -> dict[str, Any]:
        return {"success": False, "status": "error", "message": self.message, "error": self.message}

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "X-Auth-Token"}


class LoginFailed(ImportOpsError):
    """Any login failure: one answer for all (no user enumeration)."""

    status_code = 401
    message = "Unauthorized"

    def body(self) -> dict[str, Any]:
        return {"status": "error", "success": False, "error": self.message, "message": self.message}


class Unauthorized(ImportOpsError):
    """Authenticated, but without the permission the endpoint needs."""

    status_code = 403
    message = "User does not have the permissions required for this action [error-unauthorized]"


class RateLimited(ImportOpsError):
    """Too many requests."""

    status_code = 429

    def __init__(self, *, retry_after: int, headers: dict[str, str]) -> None:
        self.rate_headers = headers
        super().__init__(
            "Error, too many requests. Please slow down. You must wait "
            f"{retry_after} seconds before trying this endpoint again. [error-too-many-requests]"
        )

    def headers(self) -> dict[str, str]:
        return self.rate_headers


class InvitationsUnavailable(ImportOpsError):
    """The project has no password-reset confirmation page to link to."""


class OperationNotInitialized(ImportOpsError):
    """No valid latest operation to add data to."""

    message = "Import operation not initialized."


class OperationCannotReceiveData(ImportOpsError):
    """The operation is loading or importing."""

    message = "The current import operation can not receive new data."


class OperationFinished(ImportOpsError):
    """The operation is done, failed or canceled."""

    message = "The current import operation is already finished."


class MissingRequiredData(ImportOpsError):
    """A user lacks an email or an importId."""

    message = "Users are missing required data."


class InvalidRoles(ImportOpsError):
    """A role is not an importable group."""

    message = "One or more of the users have been assigned invalid roles."


class OperationNotFound(ImportOpsError):
    """import.run found no valid latest operation."""

    message = "error-operation-not-found"


class InvalidOperationStatus(ImportOpsError):
    """import.run on an operation that is not ready."""

    message = "error-invalid-operation-status"


class ImporterNotDefined(ImportOpsError):
    """The operation's importer is not registered."""

    message = "error-importer-not-defined"


class FileOperationNotFound(ImportOpsError):
    """A file-importer endpoint found no operation."""

    message = "Import Operation Not Found [error-operation-not-found]"


class UnknownImporter(ImportOpsError):
    """uploadImportFile/downloadPublicImportFile named an importer that does not exist."""

    error_type = "error-importer-not-defined"

    def __init__(self, key: str) -> None:
        super().__init__(f"The importer ({key}) has no import class defined. [error-importer-not-defined]")


class InvalidImportFileUrl(ImportOpsError):
    """downloadPublicImportFile refused the URL."""

    error_type = "error-invalid-import-file-url"


class InvalidImportFile(ImportOpsError):
    """An uploaded file was refused before it was stored."""

    error_type = "error-invalid-import-file"


class PayloadTooLarge(ImportOpsError):
    """The request body is over the configured limit."""

    status_code = 413
    error_type = "error-payload-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body exceeds {limit} bytes")


class LengthRequired(ImportOpsError):
    """A request body without Content-Length (chunked): refused rather than read as empty."""

    status_code = 411
    error_type = "error-length-required"
    message = "Request bodies must be sent with a Content-Length header (chunked bodies are not accepted)"


class FileParseError(ImportOpsError):
    """A file could not be parsed; the message says where and why."""


class DatabaseUnavailable(ImportOpsError):
    """The database is away (a transient fault), or was for longer than a unit of work may wait."""

    status_code = 503
    message = "The database is unavailable. Try again shortly. [error-database-unavailable]"
    retry_after = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class FileNotStored(ImportOpsError):
    """The storage refused the file (a full disk, a storage service down)."""

    status_code = 503
    error_type = "error-file-not-stored"
