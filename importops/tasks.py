"""Background tasks: thin wrappers that call services."""

from __future__ import annotations

from importops.compat import task


@task()
def drain_import(operation_id: str) -> None:
    """Import staged users of a running operation, batch by batch (see services.running)."""
    from importops.services import running

    running.drain(operation_id=operation_id)


@task()
def parse_import_file(operation_id: str) -> None:
    """Parse an uploaded file into staged records (see services.fileimport)."""
    from importops.services import fileimport

    fileimport.file_parse(operation_id=operation_id)


@task()
def undo_import(operation_id: str, user_id: int | str | None = None) -> None:
    """Undo what a finished import did (see services.undo)."""
    from importops.services import undo

    undo.undo_run(operation_id=operation_id, user_id=user_id)
