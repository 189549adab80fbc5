"""Applying a division plan as a new grid version: queries and seconds (issue 6 item 17).

    python bench/apply_plan.py                      # SQLite file, the demo's Tongchuan
    python bench/apply_plan.py --database postgres://postgres@127.0.0.1:5432/jw_bench_apply
    python bench/apply_plan.py --units 10000        # a generated station of 10,000 base units

Loads the demo station TC (1,344 base units, 1,488 grids, its people and assignments) into a
fresh database, proposes a division with the default policy and applies it, counting the
queries of the apply alone (grids, lineage, followers, audit). Prints one Markdown row.

With --units N, the station measured is a generated one next to TC instead: N seeded Voronoi
base units (bench/division_data.py's county, ~700 per community) placed around lon 105.0,
lat 31.1, divided and applied once, one person assigned to each of its clusters, then divided
and applied again: the second apply is measured (a new version, lineage against the first, the people followed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import django_on  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="")
    parser.add_argument("--units", type=int, default=0, help="a generated station of N units")
    parser.add_argument("--queries", action="store_true", help="also list the queries, grouped")
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
    if args.units:
        station = generated_station(station, chief, args.units)
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
    if args.queries:
        groups = Counter(" ".join(q["sql"].split()[:6])[:90] for q in queries.captured_queries)
        for text, count in groups.most_common():
            print(f"{count:6d}  {text}")
    engine = "PostgreSQL" if args.database else "SQLite (file)"
    units = station.base_units.count()
    print(
        f"| {engine} | {units:,} | {grids:,} | {lineage:,} | {assignments:,} | {len(queries):,} "
        f"| {seconds:.2f} | {os.getloadavg()[0]:.1f} |"
    )


def generated_station(near: Any, chief: Any, n: int) -> Any:
    """A station of n generated base units in TC's bureau, with grids and people (see above)."""
    import shapely
    from division_data import county

    from jingwang.people.models import GridAssignment, Person
    from jingwang.territory.actions import apply_grid_plan, propose_division
    from jingwang.territory.models import BaseUnit, Community, Grid, Station

    station = Station.objects.create(bureau=near.bureau, code="GEN", name="Generated")
    units = county(n, seed=0)
    # Metres from the county's corner to lon/lat around (105.0, 31.1).
    lon_m, lat_m = 111_320.0 * 0.8563, 110_574.0

    def to_lonlat(xy: Any) -> Any:
        return xy / [lon_m, lat_m] + [104.9, 31.0]

    communities = {}
    for code in sorted({u.community for u in units}):
        members = [to_lonlat_shape(u.geometry, to_lonlat) for u in units if u.community == code]
        community = Community(station=station, code=code, name=f"{code}村", kind="urban")
        community.set_geometry(shapely.union_all(members))
        communities[code] = community
    Community.objects.bulk_create(communities.values())
    rows = []
    for unit in units:
        row = BaseUnit(
            station=station,
            community=communities[unit.community],
            code=unit.code,
            name=unit.code,
            kind=unit.kind,
            households=unit.households,
            population=unit.population,
            complexity=unit.complexity,
        )
        row.set_geometry(to_lonlat_shape(unit.geometry, to_lonlat))
        rows.append(row)
    BaseUnit.objects.bulk_create(rows, batch_size=2000)
    proposal = propose_division(chief, station)
    version = apply_grid_plan(chief, proposal, proposal.revision)
    clusters = list(Grid.objects.filter(version=version, level="cluster").order_by("code"))
    people = Person.objects.bulk_create(
        [
            Person(station=station, kind="grid_worker", name=f"网格员{i}")
            for i in range(len(clusters))
        ],
        batch_size=2000,
    )
    GridAssignment.objects.bulk_create(
        [
            GridAssignment(person=person, grid=grid, role="grid_worker")
            for person, grid in zip(people, clusters, strict=True)
        ],
        batch_size=2000,
    )
    return station


def to_lonlat_shape(geometry: Any, to_lonlat: Any) -> Any:
    import shapely

    return shapely.transform(geometry, to_lonlat)


if __name__ == "__main__":
    main()
