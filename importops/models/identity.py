from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class ImportedIdentity(models.Model):
    """Maps an importId (the user's id in the system it came from) to the user created for it.

    One row per importId; the (case-insensitive) unique constraint is the last line
    against duplicates.
    ``username`` is the name the user had there, kept whatever the user model has (with a user
    model that has no username, a Rocket.Chat client still logs in with it); ``data`` keeps
    the fields the user model has no column for (all emails, bio, utcOffset, customFields, ...).
    """

    import_id = models.CharField("importId", max_length=255)
    username = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # No database constraint (every batch would check each row at commit); Django still sets
    # it to NULL when the operation is deleted.
    operation = models.ForeignKey(
        "importops.ImportOperation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    importer_key = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "imported identity"
        verbose_name_plural = "imported identities"
        constraints = [
            # Case-insensitive, like the duplicate rule; lookups use the same expression.
            models.UniqueConstraint(Lower("import_id"), name="importops_identity_unique_import_id")
        ]
        indexes = [
            models.Index(Lower("username"), name="importops_identity_username"),
            models.Index(fields=["operation"], name="importops_identity_operation"),
        ]

    def __str__(self) -> str:
        return self.import_id
