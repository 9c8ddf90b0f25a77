"""Creating, clearing and aborting operations: the calls that stop whatever is running."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from importops import retry
from importops.models import ImportOperation, ImportRecord
from importops.services import files
from importops.services.audit import ADDITION, CHANGE, audit
from importops.services.locks import creation_lock
from importops.services.permissions import grant_creator_permissions
from importops.states import STOPPABLE, Status

logger = logging.getLogger("importops")


@retry.retried("creating an operation", deadline=retry.INTERACTIVE_DEADLINE)
def operation_create(
    *,
    user: Any,
    importer_key: str,
    importer_name: str,
    status: str = Status.NEW,
    file_name: str = "",
    content_type: str = "",
) -> ImportOperation:
    """Stop and invalidate every operation, empty the staging area, create the new valid one."""
    with transaction.atomic():
        creation_lock()
        _invalidate_all()
        now = timezone.now()
        # ts is taken under the lock and strictly increases, so the valid one is the latest.
        last = ImportOperation.objects.aggregate(last=Max("ts"))["last"]
        ts = max(now, last + timedelta(microseconds=1)) if last else now
        operation = ImportOperation.objects.create(
            type=importer_name,
            importer_key=importer_key,
            ts=ts,
            updated_at=ts,
            status=status,
            valid=True,
            user=user if getattr(user, "pk", None) else None,
            file_name=file_name,
            content_type=content_type,
        )
        grant_creator_permissions(operation)
        audit(user=user, obj=operation, action=ADDITION, message=f"Created a {importer_name} import operation")
    logger.info("operation created id=%s importer=%s user=%s", operation.pk, importer_key, operation.user_id)
    return operation


@retry.retried("clearing operations", deadline=retry.INTERACTIVE_DEADLINE)
def operations_clear(*, user: Any) -> None:
    """Stop and invalidate every operation and empty the staging area (``import.clear``)."""
    with transaction.atomic():
        creation_lock()
        stopped = list(ImportOperation.objects.filter(valid=True).values_list("pk", flat=True))
        _invalidate_all()
        for operation in ImportOperation.objects.filter(pk__in=stopped):
            audit(user=user, obj=operation, action=CHANGE, message="Cleared: operation invalidated, staging emptied")
    logger.info("operations cleared by user=%s", getattr(user, "pk", None))


@retry.retried("aborting an operation", deadline=retry.INTERACTIVE_DEADLINE)
def operation_abort(*, operation: ImportOperation, user: Any) -> bool:
    """Cancel ``operation`` if it is not finished; it stays valid. True when it was stopped.

    The UPDATE waits for in-flight batches (they hold the row FOR SHARE), so once this
    returns no batch of the stopped run writes again.
    """
    with transaction.atomic():
        now = timezone.now()
        stopped = ImportOperation.objects.transition(
            operation.pk, source=STOPPABLE, at=now, status=Status.CANCELLED, finished_at=now
        )
        if stopped:
            audit(user=user, obj=operation, action=CHANGE, message="Aborted")
            files.operation_files_delete(operation_ids=[operation.pk])
            ImportRecord.objects.filter(operation_id=operation.pk, secret__isnull=False).update(secret=None)
    if stopped:
        logger.info("operation aborted id=%s user=%s", operation.pk, getattr(user, "pk", None))
    return bool(stopped)


def _invalidate_all() -> None:
    """Invalidate every valid or running operation (running ones end canceled) and empty staging."""
    operation_ids = ImportOperation.objects.invalidate_all()
    ImportRecord.objects.all()._raw_delete(ImportRecord.objects.db)
    files.operation_files_delete(operation_ids=operation_ids)
