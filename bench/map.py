"""The territory map at county scale, before and after issue 7, with 4 readers at once.

    .venv/bin/python bench/map.py                      # SQLite file
    .venv/bin/python bench/map.py --database postgres://postgres@127.0.0.1:5432/jw_map_bench

Data: one station with a synthetic four-level hierarchy built like real grids, from base units
(``--units`` Voronoi cells of a county-sized box, bench/synthetic.py) grouped into ``--grids``
clusters, then blocks, sectors and districts, and ``--points`` incidents placed in the clusters.
Two server processes (waitress, 4 threads each, bench/map_site.py) serve it; ``--readers``
threads log in as the station chief and, ``--rounds`` times each:

- before: the map page as it was (``/bench/old-map/``: every grid of the level inline);
- after: the map page, then its requests: the level's shapes for the whole station (at zoom
  12, as a screen shows the county whole), the incidents layer for the whole station (counts
  per grid), and for a zoomed view (a random window of 1/16 of the county at zoom 14: shapes,
  and the incidents one by one or per grid).

Prints p50/p95 per request and Markdown rows for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import live  # noqa: E402

SETUP = """
import sys
sys.path.insert(0, %(root)r)
from bench.map import setup
setup(%(units)d, %(grids)d, %(points)d)
"""


def setup(units: int, grids: int, points: int) -> None:
    """Write the station, its grids and incidents; print the chief's session cookie (JSON)."""
    import numpy as np
    import shapely
    from django.test import Client
    from django.utils import timezone

    from bench.synthetic import COUNTY_BOX, voronoi_grids
    from jingwang.accounts.models import User
    from jingwang.incidents.models import Category, Incident
    from jingwang.territory import index
    from jingwang.territory.models import Bureau, Community, Grid, GridVersion, Station

    bureau = Bureau.objects.create(code="ST", name="三台县公安局")
    station = Station.objects.create(bureau=bureau, code="CT", name="县城派出所")
    community = Community(station=station, code="C01", name="全县", kind="urban")
    community.set_geometry(shapely.box(*COUNTY_BOX))
    community.save()
    version = GridVersion.objects.create(station=station, number=1, is_current=True)
    rng = np.random.default_rng(7)

    cells = voronoi_grids(units, seed=3)
    centres = np.array([[c.x, c.y] for c in shapely.centroid(np.array(cells, dtype=object))])

    def group(members: np.ndarray, k: int) -> np.ndarray:
        """Each of ``members`` (points) to the nearest of k of them chosen at random."""
        seeds = members[rng.choice(len(members), size=min(k, len(members)), replace=False)]
        out = np.empty(len(members), dtype=np.int64)
        for start in range(0, len(members), 2000):
            part = members[start : start + 2000]
            d = ((part[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
            out[start : start + 2000] = d.argmin(axis=1)
        return out

    def unions(shapes: list[Any], labels: np.ndarray) -> tuple[list[Any], list[list[int]]]:
        found, members = [], []
        for label in np.unique(labels).tolist():
            picked = np.flatnonzero(labels == label).tolist()
            found.append(shapely.coverage_union_all(np.array([shapes[i] for i in picked])))
            members.append(picked)
        return found, members

    levels = [("cluster", grids), ("block", grids // 4), ("sector", grids // 25), ("district", 12)]
    shapes, middles = cells, centres
    tree: list[tuple[str, list[Any], list[list[int]]]] = []
    for level, k in levels:
        shapes, members = unions(shapes, group(middles, k))
        middles = np.array([[c.x, c.y] for c in shapely.centroid(np.array(shapes, dtype=object))])
        tree.append((level, shapes, members))
    # Write from the top: each level's parent is the group of the level above holding it.
    parent_of: dict[int, int] = {}
    counts = {}
    for depth in range(len(tree) - 1, -1, -1):
        level, shapes, _members = tree[depth]
        above = tree[depth + 1][2] if depth + 1 < len(tree) else None
        owner = {}
        if above is not None:
            for parent_index, children in enumerate(above):
                for child in children:
                    owner[child] = parent_index
        rows = []
        for i, shape in enumerate(shapes):
            parent_id = parent_of.get(owner[i]) if above is not None else None
            grid = Grid(
                station=station,
                version=version,
                level=level,
                code=f"CT-{level[0].upper()}{i:05}",
                name=f"{level}{i}",
                parent_id=parent_id,
                community=community,
                households=int(rng.integers(50, 500)),
            )
            grid.population = grid.households * 3
            grid.set_geometry(shape)
            rows.append(grid)
        Grid.objects.bulk_create(rows, batch_size=500)
        parent_of = {i: g.id for i, g in enumerate(rows)}
        counts[level] = len(rows)
    # Incidents: uniform over the county, placed by the point index.
    built = index.station_index(station.id)
    assert built is not None
    lons = rng.uniform(COUNTY_BOX[0], COUNTY_BOX[2], points)
    lats = rng.uniform(COUNTY_BOX[1], COUNTY_BOX[3], points)
    keys = np.asarray(built.index.locate_many(lons, lats))
    category = Category.objects.create(bureau=bureau, code="help", name="求助")
    when = timezone.now()
    batch = []
    for i in range(points):
        grid_id = built.grid_ids[keys[i]] if keys[i] >= 0 else None
        batch.append(
            Incident(
                station=station,
                number=f"J{i:07}",
                received_at=when,
                source="call_110",
                category=category,
                lon=float(lons[i]),
                lat=float(lats[i]),
                grid_id=grid_id,
                grid_at_time_id=grid_id,
            )
        )
        if len(batch) == 5000:
            Incident.objects.bulk_create(batch)
            batch = []
    Incident.objects.bulk_create(batch)
    chief = User.objects.create(username="chief", role="station_chief", station=station)
    client = Client()
    client.force_login(chief)
    print(json.dumps({"grids": counts, "session": client.cookies["sessionid"].value}))


def fetch(port: int, session: str, url: str) -> tuple[float, int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{url}", headers={"Cookie": f"sessionid={session}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, body


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


BOX = (104.75, 30.90, 105.25, 31.30)  # bench/synthetic.COUNTY_BOX


def window(rng: random.Random) -> str:
    """A zoomed view: 1/16 of the county, somewhere in it."""
    w, h = (BOX[2] - BOX[0]) / 4, (BOX[3] - BOX[1]) / 4
    x, y = rng.uniform(BOX[0], BOX[2] - w), rng.uniform(BOX[1], BOX[3] - h)
    return f"{x:.5f},{y:.5f},{x + w:.5f},{y + h:.5f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite file)")
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--grids", type=int, default=2000, help="finest grids (clusters)")
    parser.add_argument("--points", type=int, default=100000)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--level", default="cluster")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jw-map-bench-"))
    url = args.database or f"sqlite:///{tmp / 'bench.sqlite3'}"
    if args.database:
        name = args.database.rpartition("/")[2]
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name])
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JINGWANG_VAR_DIR": str(tmp),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "JINGWANG_AXES_ENABLED": "false",
        "DJANGO_SETTINGS_MODULE": "bench.map_site",
        "PYTHONPATH": str(ROOT),
    }
    live.migrate(env)
    started = time.perf_counter()
    site = live.django(
        env,
        SETUP
        % {"root": str(ROOT), "units": args.units, "grids": args.grids, "points": args.points},
    )
    print(
        f"data written in {time.perf_counter() - started:.0f} s: {site['grids']}", file=sys.stderr
    )
    session = site["session"]
    level = args.level
    kinds = {
        "before: page (all grids inline)": lambda r: f"/bench/old-map/?station=CT&level={level}",
        "after: page": lambda r: f"/territory/?station=CT&level={level}",
        "after: shapes, whole station": lambda r: (
            f"/territory/map/shapes/?station=CT&level={level}&zoom=12&bbox={','.join(map(str, BOX))}"
        ),
        "after: incidents, whole station": lambda r: (
            f"/territory/map/points/incidents/?station=CT&bbox={','.join(map(str, BOX))}"
        ),
        "after: shapes, zoomed": lambda r: (
            f"/territory/map/shapes/?station=CT&level={level}&zoom=14&bbox={window(r)}"
        ),
        "after: incidents, zoomed": lambda r: (
            f"/territory/map/points/incidents/?station=CT&bbox={window(r)}"
        ),
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    sizes: dict[str, list[int]] = {kind: [] for kind in kinds}
    modes: dict[str, set[str]] = {kind: set() for kind in kinds}
    firsts: list[float] = []
    with live.servers(env, count=2, threads=4) as ports:
        # Warm each process (its caches: the map shapes, the point index).
        for port in ports:
            for make in kinds.values():
                fetch(port, session, make(random.Random(0)))

        def reader(n: int) -> None:
            rng = random.Random(n)
            port = ports[n % len(ports)]
            for _ in range(args.rounds):
                first = 0.0
                for kind, make in kinds.items():
                    ms, status, body = fetch(port, session, make(rng))
                    assert status == 200, (kind, status)
                    times[kind].append(ms)
                    sizes[kind].append(len(body))
                    if "incidents" in kind:
                        modes[kind].add(json.loads(body)["mode"])
                    if kind in (
                        "after: page",
                        "after: shapes, whole station",
                        "after: incidents, whole station",
                    ):
                        first += ms
                firsts.append(first)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.readers) as pool:
            list(pool.map(reader, range(args.readers)))
        seconds = time.perf_counter() - started
    engine = "PostgreSQL" if args.database else "SQLite (file)"
    load = os.getloadavg()[0]
    before = statistics.median(times["before: page (all grids inline)"])
    command = "python bench/map.py" + (
        " --database postgres://…/jw_map_bench" if args.database else ""
    )
    print(f"{args.readers} readers, {args.rounds} rounds each, {seconds:.0f} s; load {load:.1f}")
    print(
        "| request | database | p50 ms | p95 ms | KB (median) | drawn as | ratio (before p50 ÷ p50) |"
    )
    print("|---|---|---:|---:|---:|---|---:|")
    for kind in kinds:
        p50, p95 = percentile(times[kind], 0.5), percentile(times[kind], 0.95)
        kb = statistics.median(sizes[kind]) / 1024
        drawn = "/".join(sorted(modes[kind])) or "—"
        print(
            f"| {kind} | {engine} | {p50:.0f} | {p95:.0f} | {kb:.0f} | {drawn} | {before / p50:.1f}× |"
        )
    p50, p95 = percentile(firsts, 0.5), percentile(firsts, 0.95)
    print(
        f"| after: first view (page + shapes + incidents, one after another) | {engine} | "
        f"{p50:.0f} | {p95:.0f} | — | — | {before / p50:.1f}× |"
    )
    print(f"command: {command}; {site['grids']}; {args.points} incidents", file=sys.stderr)


if __name__ == "__main__":
    main()
