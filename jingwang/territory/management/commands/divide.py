"""jingwang divide --station CODE [--policy FILE] [--seed N] [--redivide] [--tolerance M]
[--seconds S]: propose a grid division, or a re-division that keeps the current grids."""

from __future__ import annotations

import json
from collections import Counter
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
        parser.add_argument(
            "--redivide",
            action="store_true",
            help="keep the current grids and move as few base units as needed (also runs a "
            "fresh division to compare with)",
        )
        parser.add_argument(
            "--tolerance",
            type=float,
            metavar="M",
            help="snapping tolerance in metres: borders this close count as shared",
        )
        parser.add_argument(
            "--seconds", type=float, metavar="S", help="time budget of the search (several starts)"
        )

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
        overrides = {
            name: options[option]
            for name, option in (("snap_tolerance_m", "tolerance"), ("search_seconds", "seconds"))
            if options[option] is not None
        }
        if overrides:
            try:
                policy = division.Policy.from_dict({**policy.to_dict(), **overrides})
            except ValueError as error:
                raise CommandError(str(error)) from error
        mode = "redivide" if options["redivide"] else "fresh"
        try:
            proposal = actions.propose_division(
                None, station, policy, seed=options["seed"], mode=mode
            )
        except actions.PlanError as error:
            raise CommandError(str(error)) from error
        plan = proposal.plan
        self._warnings(plan.get("data") or {})
        blocks = plan["measures"]["levels"]["block"]
        kind = "re-division" if mode == "redivide" else "proposal"
        self.stdout.write(
            f"{kind} {proposal.number} for {station.code}: {blocks['count']} blocks, "
            f"workload CV {blocks.get('cv_workload', 0):.3f}, "
            f"{blocks.get('share_in_range', 0):.0%} within the household range, "
            f"{len(plan['violations'])} constraints not met"
        )
        causes = Counter(v.get("cause") or "none" for v in plan["violations"])
        if plan["violations"]:
            self.stdout.write(
                "  of which: "
                + ", ".join(f"{n} {CAUSES.get(c, c)}" for c, n in sorted(causes.items()))
            )
        self._kept(plan)
        self.stdout.write(f"review it at /territory/divisions/{proposal.id}/")

    def _warnings(self, report: dict[str, Any]) -> None:
        """The input checks first: what looks broken, the tolerance that would help."""
        if not (report.get("looks_broken") or report.get("refused") or report.get("repaired")):
            return
        if report.get("looks_broken") or report.get("refused"):
            self.stdout.write("WARNING: the base units' data look broken; check the plan:")
        for finding in report.get("findings", []):
            self.stdout.write(f"  - {finding['message']}")
        if report.get("suggested_tolerance_m"):
            self.stdout.write(
                f"  suggested snapping tolerance: {report['suggested_tolerance_m']} m "
                f"(run again with --tolerance {report['suggested_tolerance_m']})"
            )
        for code, reason in report.get("refused", []):
            self.stdout.write(f"  refused {code}: {reason} (the plan cannot be applied)")
        if report.get("repaired"):
            self.stdout.write(f"  repaired: {', '.join(report['repaired'])}")

    def _kept(self, plan: dict[str, Any]) -> None:
        """What the plan keeps of the current grids, beside the full re-division's figures."""
        mine = plan.get("kept")
        if not mine:
            return
        fresh = (plan.get("fresh") or {}).get("kept")
        header = "kept of the current grids" + (
            ": this plan | a full re-division" if fresh else ":"
        )
        self.stdout.write(header)
        for label, part, whole in KEPT_ROWS:
            line = f"  {label}: {_share(mine, part, whole)}"
            if fresh:
                line += f" | {_share(fresh, part, whole)}"
            self.stdout.write(line)
        if fresh:
            self.stdout.write(
                f"  constraints not met: {len(plan['violations'])} | {plan['fresh']['violations']}"
            )


CAUSES = {
    "data": "forced by the data",
    "search": "the search found no better",
    "none": "without a cause given",
}
KEPT_ROWS = (
    ("base units", "units_kept", "units"),
    ("households", "households_kept", "households"),
    ("residents", "population_kept", "population"),
    ("blocks", "blocks_kept", "blocks_before"),
    ("grid workers", "people_kept", "people"),
    ("records (last 12 months)", "records_kept", "records"),
)


def _share(kept: dict[str, Any], part: str, whole: str) -> str:
    if part not in kept or whole not in kept:
        return "-"
    n, of = int(kept[part]), int(kept[whole])
    return f"{n}/{of} ({n / of:.0%})" if of else f"{n}/{of}"
