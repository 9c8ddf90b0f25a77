"""Crash recovery (docs/architecture.md, "Recovery").

A run whose every lease has expired (its workers died or were killed) is resumed: drain
tasks take over the expired lanes, starting with the records those lanes had claimed.
``sweep`` decides and returns that work; ``importops.tasks.recover`` queues it. After
``MAX_RESUMES`` resumes the run fails with a reason instead. An undo that moved no chunk
for a lease period is queued again (it goes on where it stopped).

``sweep`` runs at the start of every drain task, at start and periodically in
``manage.py importops_worker``, and as ``manage.py importops_recover`` (for cron). It never
depends on the task backend noticing a dead task: a SIGKILLed task stays "running" there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from importops.conf import importops_settings
from importops.models import ImportLane, ImportOperation, ImportRecord
from importops.services import running, undo
from importops.services.work import Work
from importops.states import LOADING, Status

logger = logging.getLogger("importops")


def sweep() -> list[Work]:
    """Resume (or fail) every run that no live worker holds. Returns the operations acted on,
    with the tasks that resume them (none for those it failed)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=importops_settings.LEASE_SECONDS)
    acted = []
    # A run started or resumed within the last lease period is given time to get going
    # (its tasks may still be queued, or about to take their lanes).
    for operation in ImportOperation.objects.importing().filter(updated_at__lt=stale_before):
        lanes = list(ImportLane.objects.filter(operation=operation))
        if any(lane.holder and lane.lease_expires_at and lane.lease_expires_at > now for lane in lanes):
            continue  # somebody is working on it
        unfinished = [lane for lane in lanes if not lane.finished]
        if not unfinished:
            running.run_finish_if_complete(operation_id=operation.pk)
            continue
        if work := _resume(operation, len(unfinished), now):
            acted.append(work)
    for operation in ImportOperation.objects.filter(valid=True, status__in=LOADING, updated_at__lt=stale_before):
        if work := _reparse(operation, now):
            acted.append(work)
    acted += undo.undo_resume(stale_before=stale_before)
    return acted


def _failed(operation: ImportOperation, reason: str) -> Work | None:
    return Work(operation) if running.run_fail(operation_id=operation.pk, reason=reason) else None


def _reparse(operation: ImportOperation, now: datetime) -> Work | None:
    """A file whose parse died: parse it again from the start (bounded), or fail."""
    if operation.status in (Status.UPLOADING, Status.DOWNLOADING_FILE) or not operation.file:
        return _failed(operation, "The upload did not complete. Upload the file again.")
    if operation.resumes >= importops_settings.MAX_RESUMES:
        return _failed(
            operation,
            f"Parsing the file stopped {operation.resumes + 1} times without finishing: the worker died or "
            "was killed. Check the worker's logs and memory limits, then upload the file again.",
        )
    with transaction.atomic():
        restarted = ImportOperation.objects.filter(valid=True, resumes=operation.resumes).transition(
            operation.pk,
            source=operation.status,
            at=now,
            status=Status.FILE_LOADED,
            resumes=F("resumes") + 1,
            count_total=0,
            count_users=0,
            count_channels=0,
            count_messages=0,
        )
        if not restarted:
            return None
        ImportRecord.objects.filter(operation=operation).delete()
    logger.warning("parsing again id=%s (resume %s)", operation.pk, operation.resumes + 1)
    return Work(operation, parse=True)


def _resume(operation: ImportOperation, lanes: int, now: datetime) -> Work | None:
    limit = importops_settings.MAX_RESUMES
    if operation.resumes >= limit:
        reason = (
            f"The import stopped {operation.resumes + 1} times without finishing: its worker process "
            f"died or was killed each time (no lease renewed for {importops_settings.LEASE_SECONDS} s). "
            "Check the worker's logs and memory limits, then start a new import; users created so far "
            "are kept and will be reported as already imported."
        )
        return _failed(operation, reason)
    with transaction.atomic():
        resumed = (
            ImportOperation.objects.importing()
            .filter(resumes=operation.resumes)
            .transition(operation.pk, at=now, resumes=F("resumes") + 1)
        )
        if not resumed:
            return None  # another sweep got there first
    logger.warning("resumed run id=%s (resume %s of %s)", operation.pk, operation.resumes + 1, limit)
    return Work(operation, drains=lanes)
