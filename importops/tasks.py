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
