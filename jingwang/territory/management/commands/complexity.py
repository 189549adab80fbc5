"""jingwang complexity [--station CODE]: score base units from the last 12 months' records."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingwang.territory import complexity
from jingwang.territory.models import Station


class Command(BaseCommand):
    help = (
        "Compute the complexity of base units from the incidents, disputes and key places of "
        "the last 12 months (every station, or one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--station", help="station code, e.g. TC (default: every station)")

    def handle(self, *args: Any, **options: Any) -> None:
        stations = None
        if options["station"]:
            station = Station.objects.filter(code=options["station"]).first()
            if station is None:
                raise CommandError(f"There is no station with code {options['station']}.")
            stations = [station]
        for code, figures in complexity.recompute(None, stations).items():
            if figures["skipped"]:
                self.stdout.write(f"{code}: no records in the last 12 months; left as imported")
                continue
            located = ", ".join(
                f"{name} {figures['located'].get(name, 0)}"
                + (
                    f" (+{figures['outside'][name]} outside every unit)"
                    if figures["outside"].get(name)
                    else ""
                )
                for name in complexity.INPUTS
                if name in figures["located"]
            )
            self.stdout.write(
                f"{code}: {figures['units']} base units scored, {figures['changed']} changed; "
                f"{located or 'no sources registered'}"
            )
