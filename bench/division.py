"""Benchmark: the grid division engine against PySAL spopt's MaxPHeuristic on the same inputs.

    .venv/bin/python bench/division.py [--sizes 1000,3000,10000] [--skip-spopt]
                                       [--spopt-max-units 3000] [--no-write]

Inputs: libpysal's bundled Columbus and Georgia polygons (households drawn at random, seeded,
since those datasets carry none) and seeded synthetic Voronoi counties (bench/division_data.py).
Both methods are scored by the engine's own `evaluate` at block level, so the figures are
measured by the same code. Results go to the "## Grid division" section of bench/RESULTS.md.

spopt needs the optional "bench" dependencies (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from division_data import county  # noqa: E402

from jingwang.lib.division import BaseUnit, Policy, divide, evaluate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Grid division"
SEED = 0


@dataclass
class Score:
    seconds: float
    cpu_seconds: float
    regions: int
    cv: float
    share_in_range: float
    pp_min: float
    pp_mean: float
    contiguous: bool
    crosses_community: int


def bundled_inputs() -> list[tuple[str, list[BaseUnit]]]:
    """Columbus and Georgia from inside the installed libpysal (no download), if present."""
    try:
        import geopandas
        from libpysal import examples
    except ImportError:
        return []
    found = []
    for name, dataset, filename in (
        ("Columbus (libpysal)", "columbus", "columbus.shp"),
        ("Georgia (libpysal)", "georgia", "G_utm.shp"),
    ):
        path = Path(examples.__file__).parent / dataset / filename
        if not path.exists():
            print(f"{name}: not bundled with libpysal, skipped")
            continue
        frame = geopandas.read_file(path)
        found.append((name, _units_from_polygons(list(frame.geometry), seed=len(frame))))
    return found


def _units_from_polygons(polygons: list, seed: int) -> list[BaseUnit]:
    rng = np.random.default_rng(seed)
    households = rng.integers(20, 121, size=len(polygons))
    return [
        BaseUnit(
            code=f"P{i:04d}",
            community="C00",
            kind="urban",
            households=int(households[i]),
            population=int(households[i] * 3),
            complexity=float(rng.beta(2.0, 5.0)),
            geometry=polygons[i],
        )
        for i in range(len(polygons))
    ]


def score_blocks(units: list[BaseUnit], labels: list[str], policy: Policy, seconds: float) -> Score:
    """Measure a block assignment (unit order → block label) with the engine's evaluate."""
    assignment = {u.code: f"D01-S01-B{label}-C01" for u, label in zip(units, labels, strict=True)}
    blocks = evaluate(units, assignment, policy).regions["block"]
    lo, _, hi, _ = policy.block_range("urban")
    loads = np.array([b.workload for b in blocks])
    pp = [b.polsby_popper for b in blocks]
    return Score(
        seconds=seconds[0],
        cpu_seconds=seconds[1],
        regions=len(blocks),
        cv=float(loads.std() / loads.mean()),
        share_in_range=float(np.mean([lo <= b.households <= hi for b in blocks])),
        pp_min=min(pp),
        pp_mean=float(np.mean(pp)),
        contiguous=all(b.pieces == 1 for b in blocks),
        crosses_community=sum(len(b.communities) > 1 for b in blocks),
    )


def run_engine(units: list[BaseUnit], policy: Policy) -> Score:
    start, cpu = time.perf_counter(), time.process_time()
    plan = divide(units, policy, seed=SEED)
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    labels = [plan.assignment["block"][u.code].replace("-", "") for u in units]
    return score_blocks(units, labels, policy, seconds)


def run_spopt(units: list[BaseUnit], policy: Policy) -> Score:
    """MaxPHeuristic with its defaults; threshold = the urban household floor.

    Timed from the GeoDataFrame to the labels, rook weights included (the engine's time
    includes building its adjacency too).
    """
    import geopandas
    import libpysal
    from spopt.region import MaxPHeuristic

    frame = geopandas.GeoDataFrame(
        {
            "households": [u.households for u in units],
            "workload": [policy.workload(u.households, u.complexity) for u in units],
        },
        geometry=[u.geometry for u in units],
    )
    np.random.seed(SEED)  # spopt draws from numpy's global generator
    start, cpu = time.perf_counter(), time.process_time()
    weights = libpysal.weights.Rook.from_dataframe(frame, use_index=False, silence_warnings=True)
    model = MaxPHeuristic(frame, weights, ["workload"], "households", policy.urban_households_min)
    model.solve()
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    return score_blocks(units, [str(label) for label in model.labels_], policy, seconds)


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = match.group(1).strip() if match else model
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or "?"
    return f"{cores} cores (`nproc`), {model}, Python {platform.python_version()}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("shapely", "numpy", "spopt", "libpysal", "geopandas"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(found)


def fmt_row(name: str, n: int, ours: Score, theirs: Score | None, why: str, load: float) -> str:
    def pair(a: str, b: str | None) -> str:
        return f"{a} / {b if b is not None else '—'}"

    t = theirs
    ratio = f"{t.seconds / ours.seconds:.0f}×" if t else why
    return (
        f"| {name} | {n:,} | {ours.seconds:.2f} ({ours.cpu_seconds:.2f}) "
        f"| {f'{t.seconds:.1f} ({t.cpu_seconds:.1f})' if t else '—'} | {ratio} "
        f"| {pair(str(ours.regions), str(t.regions) if t else None)} "
        f"| {pair(f'{ours.cv:.3f}', f'{t.cv:.3f}' if t else None)} "
        f"| {pair(f'{ours.share_in_range:.1%}', f'{t.share_in_range:.1%}' if t else None)} "
        f"| {pair(f'{ours.pp_min:.2f}/{ours.pp_mean:.2f}', f'{t.pp_min:.2f}/{t.pp_mean:.2f}' if t else None)} "
        f"| {pair(_yes(ours.contiguous), _yes(t.contiguous) if t else None)} "
        f"| {pair(str(ours.crosses_community), str(t.crosses_community) if t else None)} "
        f"| {load:.1f} |"
    )


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def write_section(body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        following = text.find("\n## ", start + len(SECTION))
        end = len(text) if following == -1 else following + 1
        text = text[:start] + body + ("\n" + text[end:] if following != -1 else "")
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--skip-spopt", action="store_true")
    parser.add_argument("--spopt-max-units", type=int, default=3000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    policy = Policy()
    inputs = bundled_inputs() + [
        (f"Voronoi county, seed {SEED}", county(n, seed=SEED)) for n in sizes
    ]
    rows = []
    for name, units in inputs:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        ours = run_engine(units, policy)
        theirs, why = None, ""
        if args.skip_spopt:
            why = "spopt skipped (--skip-spopt)"
        elif len(units) > args.spopt_max_units:
            why = f"spopt not run (> {args.spopt_max_units:,} units)"
        else:
            theirs = run_spopt(units, policy)
        rows.append(fmt_row(name, len(units), ours, theirs, why, load))
        print(rows[-1], flush=True)
    command = " ".join(["python bench/division.py", *(argv or sys.argv[1:])])
    body = "\n".join(
        [
            SECTION,
            "",
            f"Command: `{command}` (from the repository root, in the project's venv).",
            f"Machine: {machine()}; {versions()}.",
            "",
            "Engine: `divide()` for the whole four-level plan (blocks, sectors, districts, "
            "clusters) with the default policy (urban blocks 300–500 households, workload = "
            "households × (1 + 0.5 × complexity)), seed 0. spopt: `MaxPHeuristic` with its "
            "defaults (top_n=2, 99 construction iterations, 10 annealing iterations), rook "
            "weights, threshold = 300 households, homogeneity attribute = workload; its time "
            "includes building the weights; it runs only on inputs of up to `--spopt-max-units` "
            "units (default 3,000, as it takes minutes above that). Both scored at block level by the engine's "
            "`evaluate` (Polsby–Popper min/mean; share in range = blocks with 300–500 "
            "households; spopt has no upper bound and no notion of communities, so it may "
            "cross them — last column). Times are wall clock, with the process's CPU time in "
            "brackets; the speed-up is the ratio of wall times. *load*: the 1-minute load "
            "average when the row started (the machine is shared; both run in the same "
            "conditions).",
            "",
            "Data: Columbus (49 polygons) and Georgia (159 counties) as bundled in libpysal, "
            "with seeded random households 20–120 per polygon, one community; synthetic "
            "Voronoi counties of the given sizes (`bench/division_data.py`: 20 km square, "
            "households 20–120 per unit, about one community per 700 units, seed 0).",
            "",
            "| input | units | engine s (CPU s) | spopt s (CPU s) | speed-up "
            "| blocks (engine / spopt) "
            "| CV workload | in 300–500 | Polsby–Popper min/mean | contiguous "
            "| blocks crossing a community | load |",
            "|---|---:|---:|---:|---:|---|---|---|---|---|---|---:|",
            *rows,
            "",
        ]
    )
    if not args.no_write:
        write_section(body)
        print(f"written to {RESULTS.name}")


if __name__ == "__main__":
    main()
