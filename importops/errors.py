"""One exception hierarchy. API-facing errors carry their HTTP status and the SPEC message."""

from __future__ import annotations


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
