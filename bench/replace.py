"""Re-placing records in grids after a new grid version (issue 7: placement in grids).

    python bench/replace.py                         # SQLite file, 1,000,000 incidents
    python bench/replace.py --database postgres://postgres@127.0.0.1:5432/jw_bench_replace
    python bench/replace.py --records 100000

Loads the demo station TC (1,344 base units, ~1,500 grids), inserts N incidents at points drawn
uniformly over the station's territory (a few fall outside every grid), proposes a division and
applies it: the incidents' follower (``territory.placement``) re-places every record in the plan's
transaction. Prints the follower's seconds split into read, locate and write, and the peer in the
same run: shapely's STRtree locating the same points among the same new grids.
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
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    django_on(args.database, "replace")
    import numpy as np
    import shapely
    from django.db.models import Max, Min
    from django.utils import timezone

    from jingwang.accounts.models import User
    from jingwang.demo.load import load
    from jingwang.incidents.models import Category, Incident
    from jingwang.lib.locate import GridIndex
    from jingwang.territory import index, placement
    from jingwang.territory.actions import apply_grid_plan, propose_division
    from jingwang.territory.models import Community, Grid, Station

    load(stations=["TC"])
    station = Station.objects.get(code="TC")
    chief = User.objects.get(username="suozhang")
    box = Community.objects.filter(station=station).aggregate(
        Min("min_lon"), Min("min_lat"), Max("max_lon"), Max("max_lat")
    )
    category, _ = Category.objects.get_or_create(
        bureau=station.bureau, code="bench", defaults={"name": "基准"}
    )
    rng = np.random.default_rng(7)
    lons = rng.uniform(box["min_lon__min"], box["max_lon__max"], args.records)
    lats = rng.uniform(box["min_lat__min"], box["max_lat__max"], args.records)
    Incident.objects.filter(station=station).update(grid=None)
    started = time.perf_counter()
    when = timezone.now()
    batch = 20_000
    for start in range(0, args.records, batch):
        Incident.objects.bulk_create(
            Incident(
                station=station,
                number=f"B{i:08d}",
                received_at=when,
                source="call_110",
                category=category,
                lon=float(lons[i]),
                lat=float(lats[i]),
            )
            for i in range(start, min(start + batch, args.records))
        )
    inserted = time.perf_counter() - started
    placement.replace_station(Incident, station.id)  # placed in the current grids first

    timings: dict[str, float] = {}
    original = placement.replace_station

    def timed(model, station_id, found=None):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        if os.environ.get("PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            figures = prof.runcall(original, model, station_id, found)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
        else:
            figures = original(model, station_id, found)
        timings["follower"] = time.perf_counter() - began
        return figures

    placement.replace_station = timed  # type: ignore[assignment]
    proposal = propose_division(chief, station)
    began = time.perf_counter()
    version = apply_grid_plan(chief, proposal, proposal.revision)
    applied = time.perf_counter() - began
    placement.replace_station = original  # type: ignore[assignment]

    # The parts, measured again on the new grids (read, locate, write of a full re-placing).
    index.forget(station.id)
    began = time.perf_counter()
    rows = list(Incident.objects.filter(station=station).values_list("id", "lon", "lat"))
    read = time.perf_counter() - began
    xs = np.fromiter((r[1] for r in rows), np.float64, len(rows))
    ys = np.fromiter((r[2] for r in rows), np.float64, len(rows))
    built = index.station_index(station.id)
    assert built is not None
    began = time.perf_counter()
    keys = built.index.locate_many(xs, ys)
    locate = time.perf_counter() - began
    leaves = list(
        Grid.objects.filter(version=version, children__isnull=True).only("geometry_wkt", "code")
    )
    shapes = [g.geometry for g in sorted(leaves, key=lambda g: g.code)]
    began = time.perf_counter()
    tree = shapely.STRtree(shapes)
    hits = tree.query(shapely.points(xs, ys), predicate="intersects")
    peer = time.perf_counter() - began
    placed = int((np.asarray(keys) >= 0).sum())
    assert placed == len(np.unique(hits[0])), "the index and STRtree disagree"
    began = time.perf_counter()
    GridIndex(shapes, list(range(len(shapes))))
    build = time.perf_counter() - began
    engine = "PostgreSQL" if args.database else "SQLite (file)"
    print(
        f"| {engine} | {args.records:,} | {len(shapes):,} | {placed:,} | {inserted:.1f} | "
        f"{applied:.2f} | {timings['follower']:.2f} | {read:.2f} | {locate:.2f} "
        f"({len(xs) / locate / 1e6:.2f} M/s) | {peer:.2f} ({peer / locate:.1f}×) | {build:.2f} | "
        f"{os.getloadavg()[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
