"""The delivery jobs of texts: thin, idempotent (see ``sms.actions``)."""

from __future__ import annotations

from jingwang.core.jobs import db_periodic_task, db_task, every


@db_task()
def deliver_message(message_id: int) -> None:
    from jingwang.sms.actions import deliver

    deliver(message_id)


@db_periodic_task(every(1))
def deliver_due_messages() -> None:
    """Every minute: retries whose back-off ended, and the texts held for the quiet hours."""
    from jingwang.sms.actions import deliver_due

    deliver_due()
