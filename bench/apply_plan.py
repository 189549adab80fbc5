"""Applying a division plan as a new grid version: queries and seconds (issue 6 item 17).

    python bench/apply_plan.py                      # SQLite file, the demo's Tongchuan
    python bench/apply_plan.py --database postgres://postgres@127.0.0.1:5432/jw_bench_apply

Loads the demo station TC (1,344 base units, 1,488 grids, its people and assignments) into a
fresh database, proposes a division with the default policy and applies it, counting the
queries of the apply alone (grids, lineage, followers, audit). Prints one Markdown row.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import django_on  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    django_on(args.database, "apply")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jingwang.accounts.models import User
    from jingwang.demo.load import load
    from jingwang.people.models import GridAssignment
    from jingwang.territory.actions import apply_grid_plan, propose_division
    from jingwang.territory.models import Grid, GridLineage, Station

    load(stations=["TC"])
    station = Station.objects.get(code="TC")
    chief = User.objects.get(username="suozhang")
    assignments = GridAssignment.objects.filter(
        grid__station=station, ended_at__isnull=True
    ).count()
    proposal = propose_division(chief, station)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        version = apply_grid_plan(chief, proposal, proposal.revision)
    seconds = time.perf_counter() - started
    grids = Grid.objects.filter(version=version).count()
    lineage = GridLineage.objects.filter(new_grid__version=version).count()
    engine = "PostgreSQL" if args.database else "SQLite (file)"
    print(
        f"| {engine} | {grids} | {lineage} | {assignments} | {len(queries)} | {seconds:.2f} | "
        f"{os.getloadavg()[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
