"""The creation lock and the operation-row locks (docs/architecture.md, "Locks").

- ``creation_lock``: serializes creating and clearing operations. A PostgreSQL advisory
  transaction lock; SQLite's IMMEDIATE transactions already serialize writers.
- ``operation_share_lock``: a batch holds ``FOR SHARE`` on its operation row while it writes,
  so batches never block each other, while stop calls (an UPDATE of the row) wait for
  in-flight batches and every later batch sees the stop.
"""

from __future__ import annotations

from django.db import connection

from importops.models import ImportOperation

# An arbitrary, fixed 64-bit key for pg_advisory_xact_lock: "importops" in ASCII.
CREATION_LOCK_KEY = 0x696D706F72746F70


def creation_lock() -> None:
    """Take the creation lock until the current transaction ends. Call inside ``atomic()``."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CREATION_LOCK_KEY])


def operation_share_lock(operation_id: str) -> tuple[str, bool] | None:
    """Lock the operation row shared and return its (status, valid), or None if it is gone."""

    table = connection.ops.quote_name(ImportOperation._meta.db_table)
    suffix = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, valid FROM {table} WHERE id = %s{suffix}", [operation_id])
        row = cursor.fetchone()
    return (row[0], bool(row[1])) if row else None
