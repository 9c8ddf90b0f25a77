"""Health: is the database reachable, are the migrations applied (for load balancers and
orchestrators: ``importops.api.views.health`` and ``manage.py importops_health``)."""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from importops import retry

logger = logging.getLogger("importops")

_migrated: set[str] = set()  # aliases found fully migrated: that stays true until a deploy restarts us


def readiness_problem(using: str = DEFAULT_DB_ALIAS) -> str | None:
    """None when the database answers and every migration is applied; else what is wrong."""
    connection = connections[using]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if using not in _migrated:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                return f"{len(pending)} migrations not applied"
            _migrated.add(using)
    except DatabaseError as exc:
        logger.warning("health: database unreachable: %s", retry.describe(exc))
        retry.reset_connection(exc)
        return "database unreachable"
    return None
