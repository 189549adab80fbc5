"""What the audit tests share: an action of their own, and the hand of a database administrator."""

from __future__ import annotations

from typing import Any

from django.db import connection

from jingwang.audit.vocabulary import register_actions

register_actions({"test_event": "test event"})


def tamper(*statements: tuple[str, list[Any]] | str) -> None:
    """What a database administrator could do: drop the guard, change rows, put the guard back.

    Each statement is SQL, or (SQL, parameters).
    """
    from jingwang.audit import triggers

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        else:
            triggers.remove(connection)
        for statement in statements:
            sql, params = (statement, []) if isinstance(statement, str) else statement
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
        else:
            triggers.install(connection)
