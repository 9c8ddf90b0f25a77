"""Crash recovery (DESIGN: "Recovery").

A run whose every lease has expired (its workers died or were killed) is resumed: drain
tasks are queued again and take over the expired lanes, starting with the records those
lanes had claimed. After ``MAX_RESUMES`` resumes the run fails with a reason instead. An
undo that moved no chunk for a lease period is queued again (it goes on where it stopped).

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
from importops.services import undo
from importops.states import LOADING, Status

logger = logging.getLogger("importops")


def sweep() -> list[str]:
    """Resume (or fail) every run that no live worker holds. Returns the ids acted on."""
    from importops.services import running

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
        if _resume(operation, len(unfinished), now):
            acted.append(operation.pk)
    for operation in ImportOperation.objects.filter(valid=True, status__in=LOADING, updated_at__lt=stale_before):
        if _reparse(operation, now):
            acted.append(operation.pk)
    acted += undo.undo_resume(stale_before=stale_before)
    return acted


def _reparse(operation: ImportOperation, now: datetime) -> bool:
    """A file whose parse died: parse it again from the start (bounded), or fail."""
    from importops.services import fileimport, running

    if operation.status in (Status.UPLOADING, Status.DOWNLOADING_FILE) or not operation.file:
        return running.run_fail(operation_id=operation.pk, reason="The upload did not complete. Upload the file again.")
    if operation.resumes >= importops_settings.MAX_RESUMES:
        return running.run_fail(
            operation_id=operation.pk,
            reason=f"Parsing the file stopped {operation.resumes + 1} times without finishing: the worker died or "
            "was killed. Check the worker's logs and memory limits, then upload the file again.",
        )
    with transaction.atomic():
        restarted = ImportOperation.objects.filter(
            pk=operation.pk, valid=True, status=operation.status, resumes=operation.resumes
        ).update(
            status=Status.FILE_LOADED,
            resumes=F("resumes") + 1,
            updated_at=now,
            count_total=0,
            count_users=0,
            count_channels=0,
            count_messages=0,
        )
        if not restarted:
            return False
        ImportRecord.objects.filter(operation=operation).delete()
        fileimport.enqueue_parse(operation_id=operation.pk)
    logger.warning("parsing again id=%s (resume %s)", operation.pk, operation.resumes + 1)
    return True


def _resume(operation: ImportOperation, lanes: int, now: datetime) -> bool:
    from importops.services import running

    limit = importops_settings.MAX_RESUMES
    if operation.resumes >= limit:
        reason = (
            f"The import stopped {operation.resumes + 1} times without finishing: its worker process "
            f"died or was killed each time (no lease renewed for {importops_settings.LEASE_SECONDS} s). "
            "Check the worker's logs and memory limits, then start a new import; users created so far "
            "are kept and will be reported as already imported."
        )
        return running.run_fail(operation_id=operation.pk, reason=reason)
    with transaction.atomic():
        resumed = (
            ImportOperation.objects.importing()
            .filter(pk=operation.pk, resumes=operation.resumes)
            .update(resumes=F("resumes") + 1, updated_at=now)
        )
        if not resumed:
            return False  # another sweep got there first
        running.enqueue_drains(operation_id=operation.pk, count=lanes)
    logger.warning("resumed run id=%s (resume %s of %s)", operation.pk, operation.resumes + 1, limit)
    return True
