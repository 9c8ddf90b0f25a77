"""Set-based SQL helpers for the batch path.

On PostgreSQL a list of keys becomes one array parameter (``col = ANY(%s)``) and a list of
rows one ``COPY`` (psycopg 3). The SQL text then no longer depends on the batch size, so
neither Django nor the driver compiles a 6,000-placeholder statement per batch, and no model
instance is built per row. Other databases get the portable form (``IN (...)``,
``bulk_create``).
"""

from __future__ import annotations

import datetime
import itertools
import json
import json.encoder
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, transaction
from django.db.models import Expression, F, Lookup
from django.utils import timezone

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f]")


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal, rendered in one pass (the driver would quote element by
    element): ``{1,2}`` or ``{"a","b\\"c"}``. None becomes NULL."""
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    if all(type(value) is str for value in values) and not CONTROL_CHARACTER.search("".join(values)):
        # JSON quotes a string as an array literal does (\" and \\) but for control characters.
        return "{" + json.dumps(values, ensure_ascii=False, separators=(",", ":"))[1:-1] + "}"
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value if isinstance(value, str) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def index_probes(using: str = "default") -> Iterator[None]:
    """Within it, PostgreSQL's planner probes indexes rather than scanning tables.

    A run grows the user table and importops' own tables by thousands of rows a second,
    faster than autovacuum refreshes their statistics: planned on the statistics of a table
    that was empty, a batch's key lookups would scan a table that has since grown to a
    million rows. (The planner also costs ``NORMALIZE()`` as cheap, so it scans even a table
    it knows is large rather than probe an expression index.) A table with no index for a
    lookup is still scanned.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):  # SET LOCAL; undone with the savepoint on an error
        with connection.cursor() as cursor:
            # JIT off too: the penalty that steers the planner away from scans would make
            # every lookup look costly enough to compile.
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('jit'), "
                "set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"
            )
            seqscan, jit, *_ = cursor.fetchone()
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_seqscan', %s, true), set_config('jit', %s, true)", [seqscan, jit])


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
            sql = f"{lhs_sql} = ANY(%s::{element}[])"
            return sql, (*lhs_params, array_literal(self.rhs))
        return f"{lhs_sql} IN ({', '.join(['%s'] * len(self.rhs))})", (*lhs_params, *self.rhs)


#: Field classes whose values go into the JSON rows as they are (JSON columns get the JSON).
PLAIN_FIELDS = {
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.EmailField,
    models.ForeignKey,
    models.IntegerField,
    models.JSONField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SlugField,
    models.SmallIntegerField,
    models.TextField,
    models.UUIDField,
}


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: dict[str, Any] | None = None,
    returning: str | None = None,
) -> list[Any]:
    """Insert ``rows`` (values in ``columns`` order, attnames) as ``bulk_create`` would save
    instances made from them, without building the instances; ``constants`` are columns with
    the same value in every row. Every other field gets its default (``auto_now`` and
    ``auto_now_add``: now; a database default: left to the database). With ``returning`` (the
    primary key's attname), the inserted rows' keys, in row order. No ``save()`` runs, no
    signal is sent.

    On PostgreSQL (psycopg 3) the rows go in one ``COPY``: no statement to parse per row, and
    PostgreSQL converts each value with its column's own input function. ``rows`` may be a
    generator: each row is made as the ``COPY`` takes it, so PostgreSQL stores the rows sent
    while the next ones are made. The keys of new rows are drawn from the primary key's
    sequence first. Values of Django's own kinds of field go as they are (JSON columns get the
    JSON text); any other field converts them with its ``get_db_prep_save``. Elsewhere, and
    for a key with no sequence to draw from, ``bulk_create``.
    """
    pending = iter(rows)
    first = next(pending, None)
    if first is None:
        return []
    rows = itertools.chain([first], pending)
    constants = constants or {}
    connection = connections[model._default_manager.db]
    filled, per_row, constants_filled = _with_defaults(model, columns, constants)
    drawn = returning is not None and returning not in filled  # a key the database must give
    copies = _copies(connection)
    sequence = _key_sequence(model, connection) if copies and drawn else None
    if not copies or (drawn and sequence is None):
        instances = [model(**dict(zip(columns, row, strict=True)), **constants) for row in rows]
        model._default_manager.bulk_create(instances)
        return [getattr(instance, returning) for instance in instances] if returning else []
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_attname[column] for column in (*filled, *constants_filled)]
    converting = [
        (index, convert)
        for index, field in enumerate(fields[: len(filled)])
        if (convert := _converter(field, connection)) is not None
    ]
    fixed = tuple(
        _text(convert(value) if (convert := _converter(field, connection)) else value)
        for field, value in zip(fields[len(filled) :], constants_filled.values(), strict=True)
    )
    quote = connection.ops.quote_name
    names = [quote(cast(str, field.column)) for field in fields]
    keys: list[Any] = []
    with connection.cursor() as cursor:
        if sequence is not None:
            rows = list(rows)
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(rows)])
            keys = [row[0] for row in cursor.fetchall()]
            names.insert(0, quote(cast(str, model._meta.pk.column)))
        given_key = filled.index(returning) if returning and not drawn else None
        sql = f"COPY {quote(model._meta.db_table)} ({', '.join(names)}) FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            drawn_keys = iter(keys)
            for row in rows:
                values = [*row, *(field.get_default() for field in per_row)] if per_row else list(row)
                if given_key is not None:
                    keys.append(values[given_key])
                for index, convert in converting:
                    values[index] = convert(values[index])
                if sequence is not None:
                    values.insert(0, next(drawn_keys))
                values.extend(fixed)
                copy.write_row(values)
    return keys


def _copies(connection: Any) -> bool:
    """Whether rows go in by ``COPY``: PostgreSQL through psycopg 3."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


#: (database alias, table) -> the sequence a table's primary key draws from, or None.
_SEQUENCES: dict[tuple[str, str], str | None] = {}


def _key_sequence(model: type[models.Model], connection: Any) -> str | None:
    """The sequence the model's primary key draws from (an identity column ``GENERATED BY
    DEFAULT``, or ``serial``), when a ``COPY`` may give the key itself; None otherwise."""
    table, column = model._meta.db_table, cast(str, model._meta.pk.column)
    key = (connection.alias, table)
    if key not in _SEQUENCES:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s), attidentity FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attname = %s",
                [connection.ops.quote_name(table), column, connection.ops.quote_name(table), column],
            )
            found = cursor.fetchone()
        # ALWAYS identity columns refuse a given value.
        _SEQUENCES[key] = found[0] if found and found[1] != "a" else None
    return _SEQUENCES[key]


def _converter(field: models.Field[Any, Any], connection: Any) -> Any:
    """How a value of the field becomes a ``COPY`` value: None when it goes as it is."""
    if type(field) is models.JSONField:
        return _json_text
    if type(field) in PLAIN_FIELDS:
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _text(value: Any) -> Any:
    """A constant as it goes in every row: a time as ISO 8601 text, which PostgreSQL reads as
    it would the time (the driver takes about a microsecond to write a time, each row)."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


def _json_text(value: Any) -> str | None:
    return None if value is None else ENCODE_JSON(value)


def _with_defaults(
    model: type[models.Model], columns: Sequence[str], constants: dict[str, Any]
) -> tuple[list[str], list[models.Field[Any, Any]], dict[str, Any]]:
    """The columns (then the fields given a callable default row by row, appended) and the
    constants, with every field the rows leave out filled as a model instance would fill it:
    a callable default called for each row (the fields returned), any other default once."""
    given = {*columns, *constants}
    constants = dict(constants)
    per_row: list[models.Field[Any, Any]] = []
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if (
            field.attname in given
            or getattr(field, "generated", False)  # a GeneratedField: the database computes it
            or isinstance(field, models.AutoField | models.BigAutoField | models.SmallAutoField)
        ):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or field.default is timezone.now:
            constants[field.attname] = now  # one now for the rows of one statement
        elif field.has_default() and callable(field.default):
            per_row.append(field)
        elif not field.has_db_default():
            constants[field.attname] = field.get_default()
    return [*columns, *(field.attname for field in per_row)], per_row, constants


def insert_records(model: type[models.Model], records: Sequence[dict[str, Any]]) -> list[Any]:
    """``insert_rows`` for records given as ``{field: value}``, each with the fields it names
    (as keyword arguments of the model: a relation by its name and an instance, or by its
    attname and a key); the new rows' primary keys, in order."""
    if not records:
        return []
    given = set().union(*records)
    fields = [
        f
        for f in model._meta.concrete_fields
        if (f.attname in given or f.name in given) and not getattr(f, "generated", False)
    ]
    unknown = given - {key for f in fields for key in (f.attname, f.name)}
    if unknown:
        raise TypeError(f"{model.__name__} has no field to insert named {', '.join(sorted(unknown))}")
    attnames = [f.attname for f in fields]
    if all(record.keys() == given for record in records) and given == set(attnames):  # the usual case
        rows = [[record[name] for name in attnames] for record in records]
    else:
        fillers = [_filler(field) for field in fields]
        rows = [
            [_value(record, field, filler) for field, filler in zip(fields, fillers, strict=True)] for record in records
        ]
    return insert_rows(model, attnames, rows, returning=model._meta.pk.attname)


def _value(record: dict[str, Any], field: models.Field[Any, Any], filler: Any) -> Any:
    if field.attname in record:
        return record[field.attname]
    if field.name in record:
        value = record[field.name]
        return value.pk if isinstance(value, models.Model) else value
    return filler()


def _filler(field: models.Field[Any, Any]) -> Any:
    """What fills the field in a record that leaves it out: a function of no arguments."""
    if field.has_default() and callable(field.default):
        return field.get_default
    value = field.get_default()
    return lambda: value


class RowEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (it cuts them to milliseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


JSON_TEXT = RowEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_encoder() -> Callable[[Any], str]:
    """``JSON_TEXT.encode``, its C encoder built once (``encode`` builds one per call: more
    than the encoding of a small row). No circular check: rows are trees."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return JSON_TEXT.encode
    encoder = make(None, JSON_TEXT.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(encoder(value, 0))


ENCODE_JSON = _json_encoder()
