"""Operation statuses and the public state each maps to (docs/api.md, "States"). Pure functions."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    NEW = "importer_new"
    UPLOADING = "importer_uploading"
    DOWNLOADING_FILE = "importer_downloading_file"
    FILE_LOADED = "importer_file_loaded"
    PREPARING_STARTED = "importer_preparing_started"
    PREPARING_USERS = "importer_preparing_users"
    PREPARING_CHANNELS = "importer_preparing_channels"
    PREPARING_MESSAGES = "importer_preparing_messages"
    USER_SELECTION = "importer_user_selection"
    IMPORTING_STARTED = "importer_importing_started"
    IMPORTING_USERS = "importer_importing_users"
    IMPORTING_CHANNELS = "importer_importing_channels"
    IMPORTING_MESSAGES = "importer_importing_messages"
    IMPORTING_FILES = "importer_importing_files"
    FINISHING = "importer_finishing"
    DONE = "importer_done"
    FAILED = "importer_import_failed"
    CANCELLED = "importer_import_cancelled"
    UNDOING = "importer_undoing"
    UNDONE = "importer_undone"


class State(models.TextChoices):
    NONE = "none"
    NEW = "new"
    LOADING = "loading"
    READY = "ready"
    IMPORTING = "importing"
    DONE = "done"
    ERROR = "error"
    CANCELED = "canceled"


LOADING = frozenset(
    {
        Status.UPLOADING,
        Status.DOWNLOADING_FILE,
        Status.FILE_LOADED,
        Status.PREPARING_STARTED,
        Status.PREPARING_USERS,
        Status.PREPARING_CHANNELS,
        Status.PREPARING_MESSAGES,
    }
)
IMPORTING = frozenset(
    {
        Status.IMPORTING_STARTED,
        Status.IMPORTING_USERS,
        Status.IMPORTING_CHANNELS,
        Status.IMPORTING_MESSAGES,
        Status.IMPORTING_FILES,
        Status.FINISHING,
    }
)
FINISHED = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED, Status.UNDONE})
# Statuses an undo starts from: a run that ended (and may have created or changed users).
UNDOABLE = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED})
# Statuses an Abort (or an invalidation) stops: everything not finished (an undo runs to its end).
STOPPABLE = frozenset(set(Status) - FINISHED - {Status.UNDOING})

_STATE_OF_STATUS: dict[str, State] = {
    Status.NEW: State.NEW,
    Status.USER_SELECTION: State.READY,
    Status.DONE: State.DONE,
    Status.FAILED: State.ERROR,
    Status.CANCELLED: State.CANCELED,
    Status.UNDOING: State.IMPORTING,
    Status.UNDONE: State.DONE,
    **{status: State.LOADING for status in LOADING},
    **{status: State.IMPORTING for status in IMPORTING},
}


def state_for(status: str, valid: bool) -> State:
    """The public state of an operation with this status and validity."""
    if not valid and status != Status.DONE:
        return State.ERROR
    return _STATE_OF_STATUS[status]


def statuses_in(*states: State) -> list[str]:
    """Every status whose state (for a valid operation) is one of ``states``."""
    return [status for status, state in _STATE_OF_STATUS.items() if state in states]
