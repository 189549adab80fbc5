"""Insert many rows in as few statements as the database allows: one, in practice.

``create(Model, objs)`` is ``Model.objects.bulk_create(objs)`` without Django's SQLite batching:
Django assumes SQLite's historical limit of 999 bound parameters per statement
(``connection.features.max_query_params``) and splits a bulk insert into statements of
999 // fields rows (76 grids, 66 audit events…), so the number of queries grows with the rows.
The SQLite library the process actually runs allows far more (``SQLITE_LIMIT_VARIABLE_NUMBER``:
32,766 since SQLite 3.32, 250,000 in Debian's build); ``create`` reads that limit from the open
connection and lets one statement carry up to it. On PostgreSQL, Django already inserts any
number of rows in one statement (``INSERT … SELECT * FROM UNNEST(…)``, one array parameter per
column) when no batch size is given and every column is of a plain type; otherwise (a field with
its own placeholder) it binds every value, and ``create`` keeps each statement within
PostgreSQL's 65,535 parameters. Primary keys are set on the objects as with ``bulk_create``.

Use it where a write's query count must not grow with the data (applying a division plan:
``jingwang.territory.planning.build_grids``, the lineage, the followers).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)
_POSTGRES_PARAMS = 65_535  # bound parameters per statement (the protocol's 16-bit count)


def create(model: type[M], objs: Sequence[M]) -> list[M]:
    """``model.objects.bulk_create(objs)`` in one statement where the database allows it."""
    if not objs:
        return []
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "postgresql":
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        plain = not any(hasattr(f, "get_placeholder") for f in fields) and all(
            (getattr(f, "target_field", f) if f.is_relation else f).get_internal_type()
            in connection.data_types
            for f in fields
        )
        batch = None if plain else max(1, _POSTGRES_PARAMS // max(1, len(fields) + 1))
        return model._default_manager.bulk_create(objs, batch_size=batch)
    if connection.vendor != "sqlite":
        return model._default_manager.bulk_create(objs)
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    features = connection.features
    # The connection (so its features object) belongs to this thread: the override is local.
    before = features.__dict__.get("max_query_params")
    features.max_query_params = max(limit, 999)
    try:
        return model._default_manager.bulk_create(objs)
    finally:
        if before is None:
            del features.max_query_params
        else:
            features.max_query_params = before
