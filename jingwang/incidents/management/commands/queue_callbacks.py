from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Queue the callbacks of the incidents closed before today (or --date) and send the "
        "day's SMS surveys: what the daily job does. Running it twice makes no duplicate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="the day to queue for (YYYY-MM-DD); today by default")

    def handle(self, *args: Any, **options: Any) -> None:
        from jingwang.incidents.actions_callbacks import queue_callbacks

        try:
            today = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        queued = queue_callbacks(today)
        self.stdout.write(
            f"{queued.callbacks} callbacks queued ({queued.uncertain} with an estimated due "
            f"date), {len(queued.surveys)} SMS surveys to send"
        )
