from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from importops.errors import ImportOpsError
from importops.states import IMPORTING, LOADING, State, Status, state_for


def new_object_id() -> str:
    """24 lowercase hex characters, like a MongoDB ObjectId."""
    return secrets.token_hex(12)


class ExistingUsers(models.TextChoices):
    """What a run does with a staged user that matches an existing one."""

    FAIL = "fail", "fail them (importer-user-*-in-use)"
    SKIP = "skip", "skip them (link their importIds)"
    UPDATE = "update", "update them"


class UndoMode(models.TextChoices):
    DELETE = "delete", "delete the users it created"
    DEACTIVATE = "deactivate", "deactivate the users it created"


OUTCOME_COUNTERS = ("updated", "skipped", "unchanged")


class ImportOperationQuerySet(models.QuerySet["ImportOperation"]):
    def latest_first(self) -> ImportOperationQuerySet:
        return self.order_by("-ts")

    def importing(self) -> ImportOperationQuerySet:
        return self.filter(status__in=IMPORTING, valid=True)

    def with_progress(self) -> ImportOperationQuerySet:
        """Annotate ``completed`` and ``failed`` (sums of the per-lane counters), the
        outcome counters (``updated``, ``skipped``, ``unchanged``) and ``progressed_at``
        (the last batch commit)."""
        return self.annotate(
            completed=Coalesce(Sum("lanes__completed"), 0),
            failed=Coalesce(Sum("lanes__error"), 0),
            progressed_at=Max("lanes__updated_at"),
            **{name: Coalesce(Sum(f"lanes__{name}"), 0) for name in OUTCOME_COUNTERS},
        )

    def current(self) -> ImportOperation | None:
        """The latest operation (greatest ``ts``), valid or not, with its progress."""
        return self.with_progress().latest_first().first()

    def latest_or_raise(
        self, error: type[ImportOpsError], *, valid: bool = True, for_update: bool = False
    ) -> ImportOperation:
        """The latest operation; ``error`` when there is none (or, with ``valid``, it is not
        valid). ``for_update`` locks its row until the transaction ends."""
        operations = self.select_for_update() if for_update else self
        operation = operations.latest_first().first()
        if operation is None or (valid and not operation.valid):
            raise error()
        return operation

    def transition(
        self,
        operation_id: str,
        *,
        source: str | Collection[str] | None = None,
        at: datetime | None = None,
        **changes: Any,
    ) -> bool:
        """Apply ``changes`` to the operation if it still matches this queryset (and is in a
        ``source`` status, when given), in one conditional UPDATE: of two racing callers, one
        wins. ``updated_at`` is always set (to ``at``, or now). True if the row changed."""
        target = self.filter(pk=operation_id)
        if isinstance(source, str):
            target = target.filter(status=source)
        elif source is not None:
            target = target.filter(status__in=list(source))
        return bool(target.update(updated_at=at or timezone.now(), **changes))

    def invalidate_all(self) -> list[str]:
        """Invalidate every valid or running operation; running ones end canceled. Returns their ids."""
        now = timezone.now()
        running = LOADING | IMPORTING
        affected = self.filter(Q(valid=True) | Q(status__in=running))
        operation_ids = list(affected.values_list("pk", flat=True))
        affected.update(
            valid=False,
            status=Case(When(status__in=running, then=Value(Status.CANCELLED)), default="status"),
            finished_at=Case(When(status__in=running, then=Value(now)), default="finished_at"),
            updated_at=now,
        )
        return operation_ids


class ImportOperation(models.Model):
    """One import: the unit the API and the admin speak of."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    type = models.CharField("importer", max_length=64)
    importer_key = models.CharField(max_length=64)
    ts = models.DateTimeField("created", db_index=True)
    status = models.CharField(max_length=40, choices=Status.choices, default=Status.NEW)
    valid = models.BooleanField(default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="creator",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField("updated", default=timezone.now, db_index=True)
    count_total = models.PositiveIntegerField(default=0)
    count_users = models.PositiveIntegerField(default=0)
    count_channels = models.PositiveIntegerField(default=0)
    count_messages = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=255, blank=True)
    file = models.CharField("stored file", max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    failure_traceback = models.TextField(blank=True)
    existing_users = models.CharField(
        "existing users", max_length=8, choices=ExistingUsers.choices, default=ExistingUsers.FAIL
    )
    update_passwords = models.BooleanField(default=False, help_text="An update run may replace passwords.")
    undo_mode = models.CharField(max_length=16, choices=UndoMode.choices, blank=True)
    #: {"total", "processed", "deleted", "deactivated", "reverted", "unlinked", "kept", "gone",
    #: "from": the status it was undone from, "by": pk of who started it}
    undo_counts = models.JSONField(default=dict, blank=True)

    objects = ImportOperationQuerySet.as_manager()

    # Set by ImportOperationQuerySet.with_progress(); computed on demand otherwise.
    completed: int
    failed: int
    progressed_at: datetime | None
    updated: int
    skipped: int
    unchanged: int

    class Meta:
        verbose_name = "import operation"
        ordering = ["-ts"]
        constraints = [
            models.UniqueConstraint(
                fields=["valid"],
                condition=Q(valid=True),
                name="importops_single_valid_operation",
            )
        ]
        permissions = [
            ("run_import", "Can run imports (Rocket.Chat run-import)"),
            ("abort_importoperation", "Can abort import operation"),
        ]

    def __str__(self) -> str:
        return f"{self.type} import {self.id}"

    @property
    def state(self) -> State:
        return state_for(self.status, self.valid)

    @property
    def has_count(self) -> bool:
        return bool(self.count_total or self.count_users or self.count_channels or self.count_messages)

    def progress(self) -> tuple[int, int]:
        """(completed, error) — from the annotation when present, else summed now.
        ``completed`` counts every user processed without error: created, updated,
        unchanged or skipped."""
        if "completed" not in self.__dict__:
            sums = self.lanes.aggregate(
                c=Coalesce(Sum("completed"), 0),
                e=Coalesce(Sum("error"), 0),
                at=Max("updated_at"),
                **{name: Coalesce(Sum(name), 0) for name in OUTCOME_COUNTERS},
            )
            self.completed, self.failed, self.progressed_at = sums["c"], sums["e"], sums["at"]
            for name in OUTCOME_COUNTERS:
                setattr(self, name, sums[name])
        return self.completed, self.failed

    def outcomes(self) -> dict[str, int]:
        """{"created", "updated", "skipped", "unchanged"}: how the completed users ended."""
        completed, _ = self.progress()
        counts = {name: getattr(self, name) for name in OUTCOME_COUNTERS}
        return {"created": completed - sum(counts.values()), **counts}

    @property
    def last_change(self) -> datetime:
        """``_updatedAt``: the operation row's last change or its last committed batch."""
        self.progress()
        if self.progressed_at and self.progressed_at > self.updated_at:
            return self.progressed_at
        return self.updated_at

    def duration(self, now: datetime | None = None) -> float | None:
        """Seconds the run took (or has taken so far)."""
        if self.started_at is None:
            return None
        end = self.finished_at or now or timezone.now()
        return max((end - self.started_at).total_seconds(), 0.0)
