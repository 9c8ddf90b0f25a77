"""Transient database faults (docs/architecture.md, "Transient faults").

A unit of work is one transaction, or one conditional statement: a batch, a lane claim, a
chunk of staging, a stop call. When the database fails it in a way that passes (a lost or
terminated connection, an administrator shutdown, a read-only node after a failover, a
serialization failure, a deadlock, a lock or statement timeout) the transaction was rolled
back; ``unit`` closes a broken connection and runs the unit again on a fresh one, after an
exponential backoff with jitter, until the fault has lasted ``RETRY_DEADLINE`` seconds:
then ``DatabaseUnavailable`` names the error. Any other error goes up at once.

Every unit is written so that running it again is safe even when its commit reached the
database but the answer was lost (conditional updates; records leave the staging area in
the transaction that imports them).
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.db import DatabaseError, connection

from importops.conf import importops_settings
from importops.errors import DatabaseUnavailable

logger = logging.getLogger("importops")

T = TypeVar("T")

#: SQLSTATEs that pass: admin shutdown, crash shutdown, cannot connect now, serialization
#: failure, deadlock, lock not available, query canceled (statement/lock timeout), read-only
#: transaction (a standby after a failover), too many connections, idle-session timeouts.
TRANSIENT_SQLSTATES = frozenset(
    {"57P01", "57P02", "57P03", "40001", "40P01", "55P03", "57014", "25006", "53300", "25P03", "57P05"}
)
#: Class 08: connection exceptions.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08"})
#: How SQLite says another connection holds the write lock.
SQLITE_BUSY = ("database is locked", "database table is locked")

FIRST_DELAY = 0.1
MAX_DELAY = 5.0
#: Stop calls and other units a person waits for give up sooner: the web answers 503.
INTERACTIVE_DEADLINE = 5.0


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg 3 ``sqlstate``, psycopg2 ``pgcode``), if any."""
    for error in _chain(exc):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` is a database fault that passes, so the unit that met it may run again."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    errors = list(_chain(exc))
    if not any(isinstance(error, DatabaseError) or _is_driver_error(error) for error in errors):
        return False
    code = sqlstate(exc)
    if code is not None:
        return code in TRANSIENT_SQLSTATES or code[:2] in TRANSIENT_SQLSTATE_CLASSES
    if any(str(error).startswith(SQLITE_BUSY) for error in errors):
        return True
    # No SQLSTATE: the driver's own connection failures (refused, closed, lost mid-query).
    return any(_is_driver_connection_error(error) for error in errors)


def _is_driver_error(error: BaseException) -> bool:
    return type(error).__module__.split(".")[0] in ("psycopg", "psycopg2")


def _is_driver_connection_error(error: BaseException) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return _is_driver_error(error) and bool(names & {"OperationalError", "InterfaceError"})


def describe(exc: BaseException) -> str:
    """``Class: message`` of the driver's error (the first line), for logs and failure reasons."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class Outage:
    """The process's view of a service (the database, Redis): one log line when faults start,
    one when they end."""

    def __init__(self, service: str = "database") -> None:
        self._lock = threading.Lock()
        self.service = service
        self.since: float | None = None

    def failed(self, exc: BaseException, what: str) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        logger.warning("%s fault during %s: %s; retrying with backoff", self.service, what, describe(exc))

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            lasted, self.since = time.monotonic() - self.since, None
        logger.warning("%s available again after %.1f s", self.service, lasted)


outage = Outage()


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff: a random delay up to FIRST_DELAY * 2**attempt, capped."""
    return random.uniform(0, min(MAX_DELAY, FIRST_DELAY * 2**attempt))  # noqa: S311 - not a secret


#: Faults of one transaction on a healthy connection: the connection is kept.
SAME_CONNECTION_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})


def reset_connection(exc: BaseException | None = None) -> None:
    """Close this thread's connection after a fault (a fresh one opens on next use), unless
    the fault was one transaction's (a deadlock, a timeout). A connection to a node that
    turned read-only answers ``SELECT 1`` but must be closed too: the new one finds the primary."""
    if exc is not None and sqlstate(exc) in SAME_CONNECTION_SQLSTATES:
        try:
            connection.close_if_unusable_or_obsolete()
        except DatabaseError:
            connection.close()
        return
    try:
        connection.close()
    except DatabaseError:
        logger.debug("closing a broken connection failed", exc_info=True)


def unit(work: Callable[[], T], *, what: str, deadline: float | None = None) -> T:
    """Run ``work`` (one transaction or one statement); on a transient fault, roll back, back
    off and run it again, until the fault has lasted ``deadline`` seconds (RETRY_DEADLINE).

    Inside an enclosing ``atomic`` block nothing can be retried (the enclosing transaction is
    the unit): the error goes up to whoever owns it.
    """
    if connection.in_atomic_block:
        return work()
    limit = importops_settings.RETRY_DEADLINE if deadline is None else deadline
    started: float | None = None
    attempt = 0
    while True:
        try:
            result = work()
        except Exception as exc:
            if not is_transient(exc) or isinstance(exc, DatabaseUnavailable):
                raise
            now = time.monotonic()
            started = now if started is None else started
            outage.failed(exc, what)
            reset_connection(exc)
            if now - started >= limit:
                failed = f"{what}: the database failed for {now - started:.0f} s: {describe(exc)}"
                raise DatabaseUnavailable(failed) from exc
            time.sleep(min(backoff(attempt), max(0.0, started + limit - now)))
            attempt += 1
            continue
        if started is not None:
            outage.recovered()
        return result


def retried(what: str, *, deadline: float | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator form of ``unit`` for a function that is one unit of work."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(function)
        def wrapper(*args: object, **kwargs: object) -> T:
            return unit(lambda: function(*args, **kwargs), what=what, deadline=deadline)

        return wrapper

    return decorate
