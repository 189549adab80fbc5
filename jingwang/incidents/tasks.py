"""Jobs of the callback loop (core/jobs.py): thin, idempotent, calling the actions.

``queue_callbacks_daily`` runs every morning (07:10 in the server's time zone): it gives the
incidents closed before today their callbacks and sends the day's SMS surveys. Running it
twice, or two processes at once, makes no duplicate. By hand: ``jingwang queue_callbacks``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from jingwang.core.jobs import CONFIG, db_periodic_task, db_task

QUEUE_AT = (7, 10)  # local time: before the day's work, after the night's closings


def daily_at(hour: int, minute: int) -> Callable[[datetime], bool]:
    """A schedule firing once a day at ``hour:minute`` in the server's time zone (huey's
    scheduler hands over UTC times when the queue runs in UTC)."""
    zone = ZoneInfo(settings.TIME_ZONE)

    def due(at: datetime) -> bool:
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC) if CONFIG.get("utc", True) else at.replace(tzinfo=zone)
        local = at.astimezone(zone)
        return (local.hour, local.minute) == (hour, minute)

    return due


@db_periodic_task(daily_at(*QUEUE_AT))
def queue_callbacks_daily() -> None:
    from jingwang.incidents.actions_callbacks import queue_callbacks

    queue_callbacks()


# Surveys per queued task: the daily job enqueues thousands at once, a few tasks carry them.
SURVEYS_PER_TASK = 200


@db_task()
def send_surveys(callback_ids: list[int]) -> None:
    """Send the survey of each callback (each once: ``send_survey`` skips one already sent)."""
    from jingwang.incidents.actions_callbacks import send_survey as send

    for callback_id in callback_ids:
        send(callback_id)
