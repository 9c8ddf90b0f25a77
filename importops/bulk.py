"""Set-based SQL helpers for the batch path.

On PostgreSQL a list becomes one array parameter: ``col = ANY(%s)`` and
``INSERT ... SELECT * FROM unnest(%s, %s, ...)``. The SQL text then no longer depends on
the batch size, so neither Django nor the driver compiles a 6,000-placeholder statement per
batch. Other databases get the portable form (``IN (...)``, ``bulk_create``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models
from django.db.models import Expression, F, Lookup


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal, rendered in one pass (the driver would quote element by
    element): ``{1,2}`` or ``{"a","b\\"c"}``. None becomes NULL."""
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value if isinstance(value, str) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InArray(Lookup):
    """A boolean ``lhs IN values``, for ``filter()`` and ``Q``. A lookup, so that it stands
    alone in a WHERE clause on every database (an expression would be compared with TRUE
    on SQLite, and no index would serve it)."""

    prepare_rhs = False

    def __init__(self, lhs: str | Expression, values: Iterable[Any]) -> None:
        super().__init__(F(lhs) if isinstance(lhs, str) else lhs, list(values))

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if not self.rhs:
            raise EmptyResultSet
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        if connection.vendor == "postgresql":
            resolved = cast(Expression, self.lhs)  # an F() is resolved to a column before compiling
            element = resolved.output_field.db_type(connection) or "text"
            return f"{lhs_sql} = ANY(%s::{element}[])", (*lhs_params, array_literal(self.rhs))
        return f"{lhs_sql} IN ({', '.join(['%s'] * len(self.rhs))})", (*lhs_params, *self.rhs)


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: dict[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (values in ``columns`` order, attnames) without model instances;
    ``constants`` are columns with the same value in every row."""
    if not rows:
        return
    constants = constants or {}
    connection = connections[model._default_manager.db]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**dict(zip(columns, row, strict=True)), **constants) for row in rows])
        return
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    selects, params, fields = [], [], []
    for index, column in enumerate(columns):
        field = by_attname[column]
        values = [_db_value(field, row[index]) for row in rows]
        selects.append(f"unnest(%s::{field.db_type(connection)}[])")
        params.append(array_literal(values))
        fields.append(field)
    for column, value in constants.items():
        field = by_attname[column]
        selects.append(f"%s::{field.db_type(connection)}")
        params.append(_db_value(field, value))
        fields.append(field)
    names = [connection.ops.quote_name(cast(str, field.column)) for field in fields]  # concrete: never None
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selects)}", params)


def _db_value(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=DjangoJSONEncoder)
    if isinstance(field, models.DateTimeField):
        return value.isoformat()
    return value
