"""jingwang divide --station CODE [--policy FILE] [--seed N]: propose a grid division."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingwang.core.config import settings_for
from jingwang.lib import division
from jingwang.territory import actions
from jingwang.territory.models import DivisionSettings, Station


class Command(BaseCommand):
    help = "Run the division engine over a station's base units and keep the plan as a proposal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--station", required=True, help="station code, e.g. TC")
        parser.add_argument(
            "--policy",
            type=Path,
            help="a JSON file of policy fields (docs/division.md); the fields it leaves out "
            "come from the division defaults of the station's bureau (its settings)",
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        station = Station.objects.filter(code=options["station"]).first()
        if station is None:
            raise CommandError(f"There is no station with code {options['station']}.")
        # The bureau's division defaults (its settings, jingwang.core.config), then the file's.
        policy = settings_for(station.bureau_id, DivisionSettings).policy()
        if options["policy"]:
            try:
                given = json.loads(options["policy"].read_text("utf-8"))
                if isinstance(given, dict):
                    given = {**policy.to_dict(), **given}
                policy = division.Policy.from_dict(given)
            except OSError as error:
                raise CommandError(f"Cannot read {options['policy']}: {error.strerror}") from error
            except json.JSONDecodeError as error:
                raise CommandError(
                    f"{options['policy']} is not valid JSON: line {error.lineno}, column {error.colno}"
                ) from error
            except ValueError as error:
                raise CommandError(f"{options['policy']}: {error}") from error
        try:
            proposal = actions.propose_division(None, station, policy, seed=options["seed"])
        except actions.PlanError as error:
            raise CommandError(str(error)) from error
        blocks = proposal.plan["measures"]["levels"]["block"]
        self.stdout.write(
            f"proposal {proposal.number} for {station.code}: {blocks['count']} blocks, "
            f"workload CV {blocks.get('cv_workload', 0):.3f}, "
            f"{blocks.get('share_in_range', 0):.0%} within the household range, "
            f"{len(proposal.plan['violations'])} constraints not met"
        )
        self.stdout.write(f"review it at /territory/divisions/{proposal.id}/")
