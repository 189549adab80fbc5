"""Background jobs: huey, with SQLite storage by default and Redis in production.

A job lives in its app's ``tasks.py``: thin (it calls an action), idempotent (running it twice
does no harm: a queue may deliver twice after a crash), with plain arguments (ids, not rows)::

    from jingwang.core.jobs import crontab, db_periodic_task, db_task, enqueue_on_commit

    @db_task()
    def send_survey(callback_id: int) -> None:
        ...

    @db_periodic_task(crontab(minute="0", hour="8"))
    def open_todays_callbacks() -> None:
        ...

    # in an action, once its transaction commits (never for a write that rolled back):
    enqueue_on_commit(send_survey, callback.id)

``jingwang serve`` runs the consumer beside the web server (``start_consumer``); several app
processes run it once, apart: ``jingwang serve --no-jobs`` and ``jingwang jobs``. Tests run in
immediate mode (``JINGWANG_JOBS_IMMEDIATE``): a task runs when it is called. See
docs/architecture.md, "Jobs".
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

CONFIG: dict[str, Any] = settings.HUEY
# The SQLite queue is opened as soon as huey is imported: its directory must exist.
if not CONFIG.get("immediate") and "filename" in CONFIG:
    Path(CONFIG["filename"]).parent.mkdir(parents=True, exist_ok=True)

from huey import crontab  # noqa: E402
from huey.consumer import Consumer  # noqa: E402
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task  # noqa: E402

__all__ = [
    "HUEY",
    "crontab",
    "db_periodic_task",
    "db_task",
    "enqueue_on_commit",
    "every",
    "start_consumer",
]


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task(*args, **kwargs)`` once the current transaction commits (at once outside
    one); nothing is enqueued when it rolls back."""
    transaction.on_commit(lambda: task(*args, **kwargs))


def every(minutes: int) -> Callable[[datetime], bool]:
    """A crontab firing every ``minutes`` minutes, on the hour: a divisor of 60, or whole hours
    dividing 24 (60, 120, 180, 240, 360, 480, 720, 1440)."""
    if 1 <= minutes <= 60 and 60 % minutes == 0:
        return crontab(minute=f"*/{minutes}") if minutes < 60 else crontab(minute="0")
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        return crontab(minute="0", hour=f"*/{minutes // 60}")
    raise ImproperlyConfigured(
        f"a job interval of {minutes} minutes does not divide an hour or a day "
        "(use 1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440, ...)"
    )


def start_consumer(huey: Any = None, **options: Any) -> Consumer:
    """Start the consumer's workers and scheduler as threads of this process; ``stop(graceful=
    True)`` ends them. The process keeps its own signal handling (Ctrl+C stops the server)."""
    from django.utils.module_loading import autodiscover_modules

    huey = HUEY if huey is None else huey
    autodiscover_modules("tasks")  # the apps' tasks.py, so their tasks and schedules exist
    config = {**CONFIG.get("consumer", {}), "shutdown_timeout": 10, **options}
    config["worker_type"] = "thread"
    consumer = huey.create_consumer(**config)
    kept = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    if hasattr(signal, "SIGHUP"):
        kept[signal.SIGHUP] = signal.getsignal(signal.SIGHUP)
    consumer.start()  # installs the consumer's own handlers, meant for a process of its own
    for number, handler in kept.items():
        signal.signal(number, handler)
    return consumer
