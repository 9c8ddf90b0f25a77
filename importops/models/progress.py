from __future__ import annotations

from django.db import models


class ImportLane(models.Model):
    """One drain task's share of a run: its lease and its counters.

    A run has ``PARALLELISM`` lanes. A drain task holds a lane by a lease (``holder`` and
    ``lease_expires_at``, taken and renewed by conditional UPDATEs); records it claims
    point at the lane. Counters live here, updated in the transaction of each batch, so
    parallel batches never contend for the operation row; an operation's counts are the
    sums over its lanes.
    """

    operation = models.ForeignKey("importops.ImportOperation", on_delete=models.CASCADE, related_name="lanes")
    number = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    completed = models.PositiveIntegerField(default=0)
    error = models.PositiveIntegerField(default=0)
    # Of ``completed``: users an existing-user policy updated, skipped, or found unchanged.
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    finished = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operation", "number"], name="importops_lane_unique_number")]

    def __str__(self) -> str:
        return f"lane {self.number} of {self.operation_id}"


class ImportFailure(models.Model):
    """One user a run could not create, and why. Outlives the staging area."""

    operation = models.ForeignKey("importops.ImportOperation", on_delete=models.CASCADE, related_name="failures")
    import_id = models.CharField("importId", max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    username = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=64)
    field = models.CharField(max_length=64, blank=True)
    value = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "failed user"
        indexes = [models.Index(fields=["operation", "code", "id"], name="importops_failure_code")]

    def __str__(self) -> str:
        return f"{self.code}: {self.email or self.username or self.import_id}"
