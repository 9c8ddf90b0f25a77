"""Stored import files: saved through Django's storage API, deleted with their operation."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import Storage, storages
from django.db import transaction

from importops.conf import importops_settings
from importops.models import ImportOperation


def storage() -> Storage:
    return storages[importops_settings.FILE_STORAGE]


def operation_files_delete(*, operation_ids: Iterable[str]) -> None:
    """Delete the files of these operations once the current transaction commits."""

    names = list(
        ImportOperation.objects.filter(pk__in=list(operation_ids)).exclude(file="").values_list("file", flat=True)
    )
    if not names:
        return

    def delete() -> None:
        store = storage()
        for name in names:
            store.delete(name)

    transaction.on_commit(delete)
