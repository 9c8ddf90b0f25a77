from __future__ import annotations

from django.db import models
from django.db.models import Q


class DataType(models.TextChoices):
    USER = "user"
    CHANNEL = "channel"
    MESSAGE = "message"


class ImportRecord(models.Model):
    """One staged item of an operation: the staging area between intake and the run.

    ``email``, ``username`` and ``import_id`` are case-folded copies of the first email,
    the given username and the first importId, extracted when staged so that every check
    of a run is an indexed, set-based query. Secrets live in ``secret``, never in ``data``,
    and are removed once the record has been processed.
    """

    # Indexed through (operation, id) below, which also serves "newest first" lists. No
    # database constraint (staging would check each row at commit); Django still deletes the
    # records with their operation.
    operation = models.ForeignKey(
        "importops.ImportOperation",
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    data_type = models.CharField(max_length=16, choices=DataType.choices, default=DataType.USER)
    data = models.JSONField(default=dict)
    secret = models.JSONField(null=True, blank=True, editable=False)
    errors = models.JSONField(default=list, blank=True)
    failed = models.BooleanField(default=False)
    skipped = models.BooleanField(default=False)
    email = models.CharField(max_length=254, blank=True)
    username = models.CharField(max_length=255, blank=True)
    import_id = models.CharField("importId", max_length=255, blank=True)
    lane = models.ForeignKey("importops.ImportLane", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "staged record"
        indexes = [
            models.Index(fields=["operation", "id"], name="importops_record_operation"),
            models.Index(fields=["operation", "email"], name="importops_record_email"),
            models.Index(fields=["operation", "username"], name="importops_record_username"),
            models.Index(fields=["operation", "import_id"], name="importops_record_import_id"),
            models.Index(fields=["operation", "data_type", "id"], name="importops_record_type"),
            models.Index(
                fields=["operation", "id"],
                condition=Q(failed=True),
                name="importops_record_failed",
            ),
            models.Index(
                fields=["operation", "lane", "id"],
                condition=Q(failed=False, skipped=False),
                name="importops_record_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.data_type} {self.import_id or self.pk}"
