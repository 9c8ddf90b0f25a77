"""How identities compare: Unicode NFKC (as Django's ``normalize_username``), then lower case —
the same answer in Python, on SQLite and on PostgreSQL.

SQLite's ``LOWER()`` folds ASCII only (``LOWER('É') = 'É'``), PostgreSQL's folds by its
locale: so ``Fold`` is ``LOWER(NORMALIZE(x, NFKC))`` on PostgreSQL and a Python function
registered on each SQLite connection (importops' own name; SQLite's ``LOWER`` is untouched).
A full-width ``ｒｏｏｔ`` or ``ＲＯＯＴ`` is then the same identity as ``root``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import CharField, Func

SQLITE_FUNCTION = "importops_fold"


def normalize_identity(value: str) -> str:
    """NFKC, as Django normalizes usernames: compatibility look-alikes become one string."""
    return unicodedata.normalize("NFKC", value)


def fold(value: str) -> str:
    """The comparison key of a username or email."""
    return normalize_identity(value).lower()


def _sqlite_fold(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def register_sqlite_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: makes ``Fold`` available on SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 1, _sqlite_fold, deterministic=True)


class Fold(Func):
    """``fold()`` in SQL."""

    output_field = CharField()

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        if connection.vendor == "postgresql":
            template = "LOWER(NORMALIZE(%(expressions)s, NFKC))"
        elif connection.vendor == "sqlite":
            function = SQLITE_FUNCTION
        else:
            function = "LOWER"
        sql, params = super().as_sql(compiler, connection, function, template, arg_joiner, **extra_context)
        return sql, tuple(params)
