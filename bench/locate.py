"""Point → grid lookup benchmark: GridIndex against a plain shapely STRtree, in the same run.

    .venv/bin/python bench/locate.py [--points 1000000] [--grids 10000] [--write]
    .venv/bin/python bench/locate.py --geojson county_grids.geojson [--write]

Without --geojson it runs three seeded synthetic Voronoi layers of --grids cells around lon 105.0,
lat 31.1 (uniform seeds; half of the seeds around towns; the same with ~80 vertices per grid);
with --geojson it runs the polygons of that FeatureCollection instead (keys are ranks of the
features' "code" property, else file order). Each layer is measured on points uniform over its
bounds, then on points "per grid" (see per_grid_points). Both methods must give the same keys;
the script fails if not.
--write puts the rows into the "## Point lookup" section of bench/RESULTS.md (a row with the same
data, grid and point counts is replaced; other sections are left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from synthetic import COUNTY_BOX, voronoi_grids

from jingwang.lib.locate import GridIndex

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Point lookup"
SINGLE_CALLS = 10_000
REPEATS = 3  # build and bulk timings: the median of this many runs
NO_KEY = np.iinfo(np.int64).max
# Synthetic layers: label, share of seeds around towns, vertex spacing in degrees (0: Voronoi
# vertices only, ~6 per grid; 0.0002° ≈ 20 m gives ~80 per grid, like hand-drawn grids).
SYNTHETIC = [
    ("synthetic Voronoi, uniform", 0.0, 0.0),
    ("synthetic Voronoi, towns", 0.5, 0.0),
    ("synthetic Voronoi, towns, ~80 vertices per grid", 0.5, 0.0002),
]


@dataclass
class Row:
    label: str
    command: str
    load: float  # 1-minute load average when the row started: the machine may be shared
    grids: int
    points: int
    build_s: float
    index_mb: float
    bulk: float  # points/s
    peer_build_s: float
    peer_bulk: float
    single: tuple[float, float]  # median, p99 in µs
    peer_single: tuple[float, float]


class TreePeer:
    """The obvious alternative: an STRtree over the polygons, smallest key among the hits."""

    def __init__(self, geoms: list, keys: np.ndarray) -> None:
        self.tree = shapely.STRtree(geoms)
        self.tree.query(shapely.Point(0, 0))  # the tree is built lazily: build it now
        self.keys = keys

    def locate_many(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        point, polygon = self.tree.query(shapely.points(x, y), predicate="intersects")
        best = np.full(len(x), NO_KEY, dtype=np.int64)
        np.minimum.at(best, point, self.keys[polygon])
        best[best == NO_KEY] = -1
        return best

    def locate(self, x: float, y: float) -> int | None:
        hits = self.tree.query(shapely.Point(x, y), predicate="intersects")
        return int(self.keys[hits].min()) if len(hits) else None


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bulk_rate(locate_many: Callable, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    locate_many(x[:1000], y[:1000])  # warm caches and lazy set-up
    runs = [timed(lambda: locate_many(x, y)) for _ in range(REPEATS)]
    return len(x) / statistics.median(t for t, _ in runs), runs[0][1]


def single_latency(locate: Callable, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Median and p99 of one call, in µs, over the first SINGLE_CALLS points."""
    xs, ys = x[:SINGLE_CALLS].tolist(), y[:SINGLE_CALLS].tolist()
    samples = []
    for xi, yi in zip(xs, ys, strict=True):
        start = time.perf_counter_ns()
        locate(xi, yi)
        samples.append(time.perf_counter_ns() - start)
    return float(np.median(samples)) / 1e3, float(np.percentile(samples, 99)) / 1e3


def index_megabytes(index: GridIndex) -> float:
    arrays = [a for level in index._levels for a in (level.xs, level.ys, level.codes)]
    arrays += [index._cand_ptr, index._cand] if index._levels else []
    return sum(a.nbytes for a in arrays) / 2**20


def uniform_points(geoms: list, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)


def per_grid_points(geoms: list, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every grid equally likely (uniform in its bounding box): points crowd where grids are
    small, as incidents crowd in towns, which is where the index has the most boundaries."""
    bounds = shapely.bounds(np.asarray(geoms, dtype=object))[rng.integers(len(geoms), size=n)]
    u, v = rng.random(n), rng.random(n)
    return bounds[:, 0] + u * (bounds[:, 2] - bounds[:, 0]), bounds[:, 1] + v * (
        bounds[:, 3] - bounds[:, 1]
    )


POINTS = {"uniform": uniform_points, "per grid": per_grid_points}


def run(
    label: str, command: str, geoms: list, keys: np.ndarray, n_points: int, seed: int, points: str
) -> Row:
    x, y = POINTS[points](geoms, n_points, np.random.default_rng(seed))
    label = f"{label}; points {points}"
    load = os.getloadavg()[0]
    builds = [timed(lambda: GridIndex(geoms, keys.tolist())) for _ in range(REPEATS)]
    build_s, index = sorted(builds, key=lambda b: b[0])[len(builds) // 2]  # the median build
    peer_builds = [timed(lambda: TreePeer(geoms, keys)) for _ in range(REPEATS)]
    peer_build_s, peer = sorted(peer_builds, key=lambda b: b[0])[len(peer_builds) // 2]
    bulk, got = bulk_rate(index.locate_many, x, y)
    peer_bulk, want = bulk_rate(peer.locate_many, x, y)
    mismatches = int(np.count_nonzero(got != want))
    if mismatches:
        sys.exit(f"{label}: GridIndex and STRtree disagree on {mismatches} points")
    return Row(
        label=label,
        command=command,
        load=load,
        grids=len(geoms),
        points=n_points,
        build_s=build_s,
        index_mb=index_megabytes(index),
        bulk=bulk,
        peer_build_s=peer_build_s,
        peer_bulk=peer_bulk,
        single=single_latency(index.locate, x, y),
        peer_single=single_latency(peer.locate, x, y),
    )


def read_geojson(path: Path) -> tuple[list, np.ndarray]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    geoms = [shapely.geometry.shape(f["geometry"]) for f in features]
    codes = [str((f.get("properties") or {}).get("code", i)) for i, f in enumerate(features)]
    rank = {code: r for r, code in enumerate(sorted(set(codes)))}
    return geoms, np.array([rank[c] for c in codes], dtype=np.int64)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = f"Python {platform.python_version()}, shapely {shapely.__version__} "
    versions += f"(GEOS {shapely.geos_version_string}), numpy {np.__version__}"
    return f"{os.cpu_count()} cores (`nproc`), {model}; {versions}"


HEADER = [
    "| data | grids | points | build s (STRtree) | index MB | bulk M points/s | "
    "STRtree bulk M points/s | bulk ratio | one point µs median / p99 | "
    "STRtree one point µs median / p99 | load | command |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]


def markdown_row(r: Row) -> str:
    return (
        f"| {r.label} | {r.grids:,} | {r.points:,} | {r.build_s:.2f} ({r.peer_build_s:.2f}) "
        f"| {r.index_mb:.1f} | {r.bulk / 1e6:.2f} | {r.peer_bulk / 1e6:.2f} "
        f"| {r.bulk / r.peer_bulk:.1f}x | {r.single[0]:.1f} / {r.single[1]:.1f} "
        f"| {r.peer_single[0]:.1f} / {r.peer_single[1]:.1f} | {r.load:.1f} | `{r.command}` |"
    )


def section_text(rows: list[str]) -> list[str]:
    return [
        SECTION,
        "",
        "`GridIndex` (`jingwang/lib/locate.py`) against shapely's "
        '`STRtree.query(points, predicate="intersects")` + smallest key, in the same run and on '
        "the same points (uniform over the layer's bounds, or *per grid*: a random grid, then "
        "uniform in its bounding box, so points crowd where grids are small); both give identical "
        f"keys. Build: the median of {REPEATS} builds (budget < 1 s for 10,000 grids). Bulk: "
        f"median of {REPEATS} runs of `locate_many` on all points, single-threaded. One point: "
        f"`locate` on each of the first {SINGLE_CALLS:,} points. Budget: ≥ 1 M points/s bulk "
        "over 10,000 grids, < 50 µs for one point. *load*: the 1-minute load average when the row "
        "started (the machine may be shared; the peer runs in the same conditions).",
        "",
        f"Machine: {machine()}.",
        "",
        *HEADER,
        *rows,
        "",
    ]


def write_results(new_rows: list[Row]) -> None:
    lines = RESULTS.read_text(encoding="utf-8").splitlines() if RESULTS.exists() else []
    if not lines:
        lines = ["# Benchmark results", ""]
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    rows: list[str] = []
    if start is None:
        if lines[-1].strip():
            lines.append("")
        start = end = len(lines)
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        rows = [line for line in lines[start:end] if line.startswith("| ") and "---" not in line]
        rows = [line for line in rows if line != HEADER[0]]
    for row in new_rows:
        same = f"| {row.label} | {row.grids:,} | {row.points:,} |"  # same data: replace
        rows = [line for line in rows if not line.startswith(same)] + [markdown_row(row)]
    lines[start:end] = section_text(rows)
    RESULTS.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--geojson", type=Path, help="a FeatureCollection of grid polygons")
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS.name}")
    args = parser.parse_args()
    # The command as it can be re-run from the repository root (a GeoJSON file by name only).
    command = f"python bench/locate.py --points {args.points}"
    if args.geojson:
        command += f" --geojson {args.geojson.name}"
    else:
        command += f" --grids {args.grids} --seed {args.seed}"
    if args.geojson:
        geoms, keys = read_geojson(args.geojson)
        layers = [(f"GeoJSON {args.geojson.name}", geoms, keys)]
    else:
        layers = []
        for label, share, spacing in SYNTHETIC:
            geoms = voronoi_grids(args.grids, seed=args.seed, box=COUNTY_BOX, urban_share=share)
            if spacing:
                geoms = list(shapely.segmentize(np.asarray(geoms, dtype=object), spacing))
            layers.append((label, geoms, np.arange(len(geoms), dtype=np.int64)))
    rows = []
    print(*HEADER, sep="\n")
    for label, geoms, keys in layers:
        for points in POINTS:
            row = run(label, command, geoms, keys, args.points, args.seed, points)
            print(markdown_row(row), flush=True)
            rows.append(row)
    if args.write:
        write_results(rows)


if __name__ == "__main__":
    main()
