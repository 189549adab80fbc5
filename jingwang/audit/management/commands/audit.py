from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingwang.audit.actions import verify


class Command(BaseCommand):
    help = (
        "Audit log tools. `audit verify` checks the hash chain and reports the first broken link."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify()
        if broken is None:
            self.stdout.write(f"audit chain intact: {checked} events checked")
            return
        reasons = {
            "hash": "the event's content does not match its hash (altered)",
            "prev_hash": "the event does not link to the one before it (altered or reordered)",
            "missing": "an event is missing (removed)",
            "truncated": "the newest events are missing (removed)",
        }
        raise CommandError(
            f"audit chain broken at event {broken.seq}: {reasons[broken.reason]}; "
            f"{checked} events before it are intact"
        )
