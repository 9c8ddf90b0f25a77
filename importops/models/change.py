from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class ChangeAction(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    UNCHANGED = "unchanged"  # recorded only when the run linked importIds to the user


class UndoOutcome(models.TextChoices):
    DELETED = "deleted"
    DEACTIVATED = "deactivated"
    REVERTED = "reverted"
    UNLINKED = "unlinked"
    KEPT_LOGGED_IN = "kept-logged-in", "kept: logged in since"
    KEPT_CHANGED = "kept-changed-since", "kept: changed since"
    GONE = "gone", "already gone"


class ImportChange(models.Model):
    """What a run did to one existing or new user: the change report, and what makes an undo exact.

    ``changes`` holds, for a created user, the values the run gave it (``{field: value}``;
    ``groups``: the importable groups), for an updated one ``{field: {"old": ..., "new":
    ...}}`` of the fields it changed; ``field_changes()`` reads both as the latter.
    ``linked`` names the importIds the run linked to an existing user.
    ``password_hashes`` keeps ``{"old", "new"}`` hashes when a run replaced a password (only
    when it was told to), for the undo; they are never shown.
    """

    # Indexed through (operation, action, id) below. No database constraint (every batch would
    # check each row at commit); Django still deletes the changes with their operation.
    operation = models.ForeignKey(
        "importops.ImportOperation",
        on_delete=models.CASCADE,
        related_name="changes",
        db_constraint=False,
        db_index=False,
    )
    # No database constraint either: Django sets it to NULL when the user is deleted, and an
    # undo reports a change whose user is gone.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(max_length=16, choices=ChangeAction.choices)
    import_id = models.CharField("importId", max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    username = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    linked = models.JSONField(default=list, blank=True)
    password_hashes = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField()
    undo = models.CharField(max_length=24, choices=UndoOutcome.choices, blank=True)

    class Meta:
        verbose_name = "user change"
        indexes = [models.Index(fields=["operation", "action", "id"], name="importops_change_action")]

    def __str__(self) -> str:
        return f"{self.action}: {self.email or self.username or self.import_id}"

    def field_changes(self) -> dict[str, dict[str, Any]]:
        """``{field: {"old": ..., "new": ...}}`` for every action (a created user's fields had
        no value before: null, and no groups)."""
        if self.action != ChangeAction.CREATED:
            return self.changes
        return {name: {"old": [] if name == "groups" else None, "new": value} for name, value in self.changes.items()}
