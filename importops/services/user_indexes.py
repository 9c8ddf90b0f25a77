"""Case-insensitive expression indexes on the host's user table (docs/scaling.md).

Every batch looks its users up by their folded email and username (``importops.folding``:
``LOWER(NORMALIZE(x, NFKC))`` on PostgreSQL, ``importops_fold(x)`` on SQLite). Django's user
model indexes neither expression, so each lookup scans the user table: the cost of a run
grows with the host's user table. ``importops_user_indexes`` creates the indexes (and drops
them); they are never part of a migration, because the table is the host's.

On PostgreSQL they are built with ``CREATE INDEX CONCURRENTLY`` (no lock that blocks writes
to the user table; not inside a transaction). A concurrent build that failed leaves an
invalid index behind: it is dropped and built again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from django.db import connections
from django.db.models import Field

from importops.folding import SQLITE_FUNCTION
from importops.users import UserAdapter

#: A user table with more rows than this should have the indexes (system check W003).
LARGE_USER_TABLE = 100_000


@dataclass(frozen=True)
class UserIndex:
    table: str
    column: str

    @property
    def name(self) -> str:
        return f"importops_{self.table}_lower_{self.column}"[:63]


def wanted(adapter: UserAdapter | None = None) -> list[UserIndex]:
    """The indexes the lookups of a run use, for the configured user model."""
    adapter = adapter or UserAdapter()
    meta = adapter.model._meta
    fields = [adapter.email_field] + ([adapter.username_field] if adapter.username_field else [])
    columns = [cast(Field, meta.get_field(name)).column for name in dict.fromkeys(fields)]
    return [UserIndex(meta.db_table, column) for column in columns if column]


def _definitions(table: str, using: str) -> dict[str, tuple[str, bool]]:
    """{index name: (definition, valid)} of ``table``'s indexes."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
                [connection.ops.quote_name(table)],
            )
            return {name: (definition, valid) for name, definition, valid in cursor.fetchall()}
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        return {name: (definition or "", True) for name, definition in cursor.fetchall()}


def _expression(column: str, vendor: str, quote: Any = str) -> str:
    """The folded column, as ``importops.folding.Fold`` writes it in the lookups."""
    if vendor == "postgresql":
        return f"LOWER(NORMALIZE({quote(column)}, NFKC))"
    return f"{SQLITE_FUNCTION}({quote(column)})"


def _covers(definition: str, column: str, vendor: str) -> bool:
    """Whether an index definition is on the folded column (whoever created it)."""
    text = re.sub(r"[\s\"()]|::text", "", definition.lower())
    return re.sub(r"[\s\"()]", "", _expression(column, vendor).lower()) in text


def missing(using: str = "default") -> list[UserIndex]:
    indexes = wanted()
    if not indexes:
        return []
    definitions = _definitions(indexes[0].table, using)
    return [
        index
        for index in indexes
        if not any(
            valid and _covers(definition, index.column, connections[using].vendor)
            for definition, valid in definitions.values()
        )
    ]


def create(using: str = "default") -> list[tuple[UserIndex, bool]]:
    """Create the missing indexes. Returns (index, created) pairs; idempotent."""
    connection = connections[using]
    quote = connection.ops.quote_name
    absent = set(missing(using))
    results = []
    for index in wanted():
        if index not in absent:
            results.append((index, False))
            continue
        how = "IF NOT EXISTS"
        if connection.vendor == "postgresql":
            _drop(index, using)  # an invalid leftover of a failed concurrent build
            how = "CONCURRENTLY"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX {how} {quote(index.name)} ON {quote(index.table)} "
                f"({_expression(index.column, connection.vendor, quote)})"
            )
        results.append((index, True))
    return results


def drop(using: str = "default") -> list[tuple[UserIndex, bool]]:
    """Drop the indexes this command created (not equivalent ones created otherwise)."""
    results = []
    for index in wanted():
        present = index.name in _definitions(index.table, using)
        if present:
            _drop(index, using)
        results.append((index, present))
    return results


def _drop(index: UserIndex, using: str) -> None:
    connection = connections[using]
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently}IF EXISTS {connection.ops.quote_name(index.name)}")


def row_count_exceeds(limit: int, using: str = "default") -> bool:
    """Whether the user table has more than ``limit`` rows (reads at most limit + 1)."""
    connection = connections[using]
    table = connection.ops.quote_name(wanted()[0].table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS t", [limit + 1])
        return bool(cursor.fetchone()[0] > limit)
