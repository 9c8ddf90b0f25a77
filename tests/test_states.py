"""The status → state mapping of docs/api.md ("States"), row by row."""

import pytest

from importops.states import IMPORTING, LOADING, State, Status, state_for, statuses_in

LOADING_STATUSES = [
    "importer_uploading",
    "importer_downloading_file",
    "importer_file_loaded",
    "importer_preparing_started",
    "importer_preparing_users",
    "importer_preparing_channels",
    "importer_preparing_messages",
]
IMPORTING_STATUSES = [
    "importer_importing_started",
    "importer_importing_users",
    "importer_importing_channels",
    "importer_importing_messages",
    "importer_importing_files",
    "importer_finishing",
]


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("importer_new", "new"),
        *[(s, "loading") for s in LOADING_STATUSES],
        ("importer_user_selection", "ready"),
        *[(s, "importing") for s in IMPORTING_STATUSES],
        ("importer_done", "done"),
        ("importer_import_failed", "error"),
        ("importer_import_cancelled", "canceled"),
        # Extensions: undoing a finished import.
        ("importer_undoing", "importing"),
        ("importer_undone", "done"),
    ],
)
def test_valid_operation_state(status, state):
    assert state_for(status, True) == state


@pytest.mark.parametrize("status", [s for s in Status if s != Status.DONE])
def test_invalid_operation_reads_error_unless_done(status):
    assert state_for(status, False) == State.ERROR


def test_invalid_done_operation_stays_done():
    assert state_for("importer_done", False) == State.DONE


def test_status_groups_are_complete():
    assert set(LOADING) == set(LOADING_STATUSES)
    assert set(IMPORTING) == set(IMPORTING_STATUSES)
    assert set(statuses_in(State.LOADING, State.IMPORTING)) == set(LOADING_STATUSES) | set(IMPORTING_STATUSES) | {
        "importer_undoing"
    }
