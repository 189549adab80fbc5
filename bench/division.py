"""Benchmark: the grid division engine against spopt's max-p, on messy data, over seeds, in
re-division and at prefecture scale.

    .venv/bin/python bench/division.py [--cases spopt,jitter,seeds,redivide,scale]
                                       [--sizes 1000,3000,10000] [--skip-spopt]
                                       [--spopt-max-units 3000] [--no-write] ...

Cases (all by default; `--cases` picks some):

- spopt: libpysal's bundled Columbus and Georgia polygons (households drawn at random, seeded,
  since those datasets carry none) and seeded synthetic Voronoi counties (bench/division_data.py),
  divided by the engine and by PySAL spopt's MaxPHeuristic, both scored by the engine's own
  `evaluate` at block level.
- jitter: a county whose polygons no longer share exact borders (vertices jittered by a few
  millimetres, or every polygon shrunk / grown 1%), divided with snap tolerance 0 and with a
  tolerance, against the plan of the exact data.
- seeds: the spread of results over 40 seeds, one start (`search_seconds=0`) against several
  starts (the default budget).
- redivide: a county's plan taken as the current grids; the data change (households grow in one
  area, new units, two communities merged); `redivide` against a fresh `divide`.
- scale: a 50,000-unit prefecture divided in a child process (wall, CPU, peak memory), and the
  unit graph alone at that size.

Results go to the "## Grid division" section of bench/RESULTS.md, one "###" table per case; a
run of some cases replaces only their tables, and every table names the command that made it.

spopt needs the optional "bench" dependencies (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from division_data import change, county, mean_unit_side, prefecture_side  # noqa: E402

from jingwang.lib.division import BaseUnit, Plan, Policy, divide, evaluate  # noqa: E402
from jingwang.lib.division.measures import level_ids  # noqa: E402
from jingwang.lib.division.tests.messy import jitter, scale  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Grid division"
SEED = 0
CASES = ("spopt", "jitter", "seeds", "redivide", "scale")
# Issue 9's budgets for a prefecture.
SCALE_SECONDS = 60.0
SCALE_BYTES = 1024**3
# Block-level violations that mean "a block out of range".
OUT_OF_RANGE = ("block_households_low", "block_households_high", "block_population_high")

T = TypeVar("T")


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


@dataclass
class Options:
    argv: list[str]
    write: bool


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """fn's result, its wall-clock seconds and its CPU seconds (this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - start, time.process_time() - cpu


def load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def ratio(a: float, b: float, digits: int = 2) -> str:
    if b == 0:
        return "—" if a == 0 else "∞"
    return f"{a / b:.{digits}f}×"


# ---------------------------------------------------------------------------------------------
# spopt: the engine against MaxPHeuristic on the same inputs


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


def _units_from_polygons(polygons: list[Any], seed: int) -> list[BaseUnit]:
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


def score_blocks(
    units: list[BaseUnit], labels: list[str], policy: Policy, seconds: tuple[float, float]
) -> Score:
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
    plan, wall, cpu = timed(lambda: divide(units, policy, seed=SEED))
    labels = [plan.assignment["block"][u.code].replace("-", "") for u in units]
    return score_blocks(units, labels, policy, (wall, cpu))


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

    def solve() -> Any:
        weights = libpysal.weights.Rook.from_dataframe(
            frame, use_index=False, silence_warnings=True
        )
        model = MaxPHeuristic(
            frame, weights, ["workload"], "households", policy.urban_households_min
        )
        model.solve()
        return model

    model, wall, cpu = timed(solve)
    return score_blocks(units, [str(label) for label in model.labels_], policy, (wall, cpu))


def fmt_row(name: str, n: int, ours: Score, theirs: Score | None, why: str, load: float) -> str:
    def pair(a: str, b: str | None) -> str:
        return f"{a} / {b if b is not None else '—'}"

    t = theirs
    speedup = (
        f"{t.seconds / ours.seconds:.0f}× ({t.cpu_seconds / ours.cpu_seconds:.0f}× CPU)"
        if t
        else why
    )
    return (
        f"| {name} | {n:,} | {ours.seconds:.2f} ({ours.cpu_seconds:.2f}) "
        f"| {f'{t.seconds:.1f} ({t.cpu_seconds:.1f})' if t else '—'} | {speedup} "
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


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def case_spopt(args: argparse.Namespace) -> list[str]:
    sizes = [int(s) for s in args.sizes.split(",") if s]
    policy = Policy()
    inputs = bundled_inputs() + [
        (f"Voronoi county, seed {SEED}", county(n, seed=SEED)) for n in sizes
    ]
    rows = []
    for name, units in inputs:
        started = load()
        ours = run_engine(units, policy)
        theirs, why = None, ""
        if args.skip_spopt:
            why = "spopt skipped (--skip-spopt)"
        elif len(units) > args.spopt_max_units:
            why = f"spopt not run (> {args.spopt_max_units:,} units)"
        else:
            theirs = run_spopt(units, policy)
        rows.append(fmt_row(name, len(units), ours, theirs, why, started))
        print(rows[-1], flush=True)
    return [
        "### The engine against spopt's max-p",
        "",
        f"Engine: `divide()` for the whole four-level plan (blocks, sectors, districts, "
        f"clusters) with the default policy (urban blocks 300–500 households, workload = "
        f"households × (1 + 0.5 × complexity), several starts with `search_seconds` = "
        f"{policy.search_seconds:g}), seed 0. spopt: `MaxPHeuristic` with its "
        "defaults (top_n=2, 99 construction iterations, 10 annealing iterations), rook "
        "weights, threshold = 300 households, homogeneity attribute = workload; its time "
        "includes building the weights; it runs only on inputs of up to `--spopt-max-units` "
        f"units ({args.spopt_max_units:,} in this run; it takes minutes above 3,000: 509 s "
        "for 10,000 units in an earlier run). Both scored at block level by the engine's "
        "`evaluate` (Polsby–Popper min/mean; share in range = blocks with 300–500 "
        "households; spopt has no upper bound and no notion of communities, so it may "
        "cross them — last column). Times are wall clock, with the process's CPU time in "
        "brackets; the speed-up is the ratio of wall times (spopt ÷ engine), and of CPU times in "
        "brackets (steadier on a shared machine).",
        "",
        "Data: Columbus (49 polygons) and Georgia (159 counties) as bundled in libpysal, "
        "with seeded random households 20–120 per polygon, one community; synthetic "
        f"Voronoi counties of {', '.join(f'{n:,}' for n in sizes)} units "
        "(`bench/division_data.py`: 20 km square, households 20–120 per unit, about one "
        "community per 700 units, seed 0).",
        "",
        "| input | units | engine s (CPU s) | spopt s (CPU s) | speed-up "
        "| blocks (engine / spopt) "
        "| CV workload | in 300–500 | Polsby–Popper min/mean | contiguous "
        "| blocks crossing a community | load |",
        "|---|---:|---:|---:|---:|---|---|---|---|---|---|---:|",
        *rows,
    ]


# ---------------------------------------------------------------------------------------------
# Figures of a plan


@dataclass
class Figures:
    """Block-level figures of one plan."""

    blocks: int
    out_of_range: int
    share_in_range: float
    cv: float
    not_contiguous: int
    violations_data: int  # block-level violations whose cause is "data"
    violations_other: int  # block-level violations with another cause (or none)
    isolated: int | None  # units with no neighbour (plan.data), None without a report
    gaps: int | None
    overlaps: int | None
    looks_broken: bool | None
    suggested_tolerance_m: float | None


def figures(plan: Plan) -> Figures:
    blocks = plan.regions("block")
    out = sum(1 for b in blocks if b.in_range is False)
    measures = plan.measures["levels"]["block"]
    block_violations = [v for v in plan.violations if v.level == "block"]
    data = plan.data
    return Figures(
        blocks=len(blocks),
        out_of_range=out,
        share_in_range=float(measures.get("share_in_range", 0.0)),
        cv=float(measures.get("cv_workload", 0.0)),
        not_contiguous=sum(1 for b in blocks if b.pieces != 1),
        violations_data=sum(1 for v in block_violations if v.cause == "data"),
        violations_other=sum(1 for v in block_violations if v.cause != "data"),
        isolated=len(data.isolated) if data is not None else None,
        gaps=data.gaps if data is not None else None,
        overlaps=data.overlaps if data is not None else None,
        looks_broken=data.looks_broken if data is not None else None,
        suggested_tolerance_m=data.suggested_tolerance_m if data is not None else None,
    )


def block_of(plan: Plan) -> dict[str, str]:
    return dict(plan.assignment["block"])


def kept(
    units: Sequence[BaseUnit], before: dict[str, str], after: dict[str, str]
) -> dict[str, Any]:
    """`continuity` of the engine (redivision.py)."""
    from jingwang.lib.division.redivision import continuity

    result: dict[str, Any] = continuity(units, before, after)
    return result


def has_continuity() -> bool:
    try:
        from jingwang.lib.division.redivision import continuity  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# jitter: borders that do not match


def case_jitter(args: argparse.Namespace) -> list[str]:
    n = args.jitter_units
    exact = county(n, seed=SEED)
    millimetres = args.jitter_mm
    variants: list[tuple[str, list[BaseUnit]]] = [
        (f"vertices jittered ±{millimetres:g} mm", jitter(exact, millimetres / 1000, seed=SEED)),
        ("every polygon shrunk 1%", scale(exact, 0.99)),
        ("every polygon grown 1%", scale(exact, 1.01)),
    ]
    can_compare = has_continuity()

    def run(units: list[BaseUnit], tolerance: float) -> tuple[Plan, float, float, float]:
        started = load()
        plan, wall, cpu = timed(
            lambda: divide(units, Policy(snap_tolerance_m=tolerance), seed=SEED)
        )
        return plan, wall, cpu, started

    base, base_wall, base_cpu, base_load = run(exact, 0.0)
    base_fig = figures(base)
    rows = [
        _jitter_row(
            "exact (shared borders)",
            0.0,
            n,
            base_fig,
            None,
            base_fig,
            base_wall,
            base_cpu,
            base_cpu,
            base_load,
        )
    ]
    print(rows[-1], flush=True)
    notes, summary = [], []
    for name, units in variants:
        plan0, wall0, cpu0, load0 = run(units, 0.0)
        fig0 = figures(plan0)
        same0 = (
            kept(units, block_of(base), block_of(plan0))["units_kept"] / n if can_compare else None
        )
        rows.append(_jitter_row(name, 0.0, n, fig0, same0, base_fig, wall0, cpu0, base_cpu, load0))
        print(rows[-1], flush=True)
        if args.tolerance is not None:
            tolerance, source = args.tolerance, "`--tolerance`"
        elif fig0.suggested_tolerance_m:
            tolerance, source = fig0.suggested_tolerance_m, "the report's suggested tolerance"
        else:
            tolerance, source = args.default_tolerance, "the default of `--default-tolerance`"
        notes.append(f"{name}: tolerance {tolerance:g} m from {source}")
        plan1, wall1, cpu1, load1 = run(units, tolerance)
        fig1 = figures(plan1)
        same1 = (
            kept(units, block_of(base), block_of(plan1))["units_kept"] / n if can_compare else None
        )
        rows.append(
            _jitter_row(name, tolerance, n, fig1, same1, base_fig, wall1, cpu1, base_cpu, load1)
        )
        print(rows[-1], flush=True)
        summary.append(
            f"{name}: without tolerance {fig0.blocks:,} blocks "
            f"({ratio(fig0.blocks, base_fig.blocks)} the exact data's), "
            f"{fig0.share_in_range:.1%} in range, looks broken: {_yes_no(fig0.looks_broken)}; "
            f"with {tolerance:g} m {fig1.blocks:,} blocks ({ratio(fig1.blocks, base_fig.blocks)}), "
            f"{fig1.share_in_range:.1%} in range "
            f"({ratio(fig1.share_in_range, base_fig.share_in_range)}), CV {fig1.cv:.3f} "
            f"({ratio(fig1.cv, base_fig.cv)})"
            + (f", {same1:.1%} of units in the exact plan's block" if same1 is not None else "")
            + "."
        )
        wider = max(2 * tolerance, args.wider_tolerance)
        if (fig1.looks_broken or fig1.isolated) and wider <= 50:
            # The tolerance used left units isolated: does a wider one recover the exact plan?
            notes.append(f"{name}, still broken at {tolerance:g} m: also {wider:g} m")
            plan2, wall2, cpu2, load2 = run(units, wider)
            fig2 = figures(plan2)
            same2 = (
                kept(units, block_of(base), block_of(plan2))["units_kept"] / n
                if can_compare
                else None
            )
            rows.append(
                _jitter_row(name, wider, n, fig2, same2, base_fig, wall2, cpu2, base_cpu, load2)
            )
            print(rows[-1], flush=True)
            summary.append(
                f"{name}, with {wider:g} m: {fig2.blocks:,} blocks "
                f"({ratio(fig2.blocks, base_fig.blocks)}), {fig2.share_in_range:.1%} in range "
                f"({ratio(fig2.share_in_range, base_fig.share_in_range)}), CV {fig2.cv:.3f} "
                f"({ratio(fig2.cv, base_fig.cv)}), looks broken: {_yes_no(fig2.looks_broken)}"
                + (f", {same2:.1%} of units in the exact plan's block" if same2 is not None else "")
                + "."
            )
    return [
        "### Borders that do not match: snap tolerance",
        "",
        f"Data: the Voronoi county of {n:,} units, seed 0 (mean unit "
        f"{mean_unit_side(exact):.0f} m across), as drawn (neighbours share exact borders), "
        f"then with every polygon's vertices moved on its own by up to ±{millimetres:g} mm, "
        "then with every polygon shrunk 1% about its centroid (gaps between neighbours), then "
        "grown 1% (overlaps) — `jitter` / `scale` of jingwang/lib/division/tests/messy.py. Each divided "
        "with the default policy and `snap_tolerance_m` = 0, then with a tolerance ("
        + "; ".join(notes)
        + "). *isolated*: units with no neighbour (the plan's data report); *gaps / overlaps*: "
        "pairs the report found; *broken*: `plan.data.looks_broken`; *same block*: share of "
        "units whose block matches the exact data's plan (`continuity`, old→new blocks matched "
        "one-to-one by shared households). Ratios in brackets are to the exact data's plan "
        "(blocks, share in range, CV of block workload, CPU time).",
        "",
        "| data | tolerance m | isolated | gaps / overlaps | broken | blocks (÷ exact) "
        "| in range (÷ exact) | CV (÷ exact) | same block as exact | s (CPU s) (CPU ÷ exact) "
        "| load |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        *(f"- {line}" for line in summary),
    ]


def _jitter_row(
    name: str,
    tolerance: float,
    n: int,
    fig: Figures,
    same: float | None,
    base: Figures,
    wall: float,
    cpu: float,
    base_cpu: float,
    started: float,
) -> str:
    isolated = "—" if fig.isolated is None else f"{fig.isolated / n:.1%}"
    gaps = "—" if fig.gaps is None else f"{fig.gaps:,} / {fig.overlaps:,}"
    broken = "—" if fig.looks_broken is None else ("**yes**" if fig.looks_broken else "no")
    return (
        f"| {name} | {tolerance:g} | {isolated} | {gaps} | {broken} "
        f"| {fig.blocks:,} ({ratio(fig.blocks, base.blocks)}) "
        f"| {fig.share_in_range:.1%} ({ratio(fig.share_in_range, base.share_in_range)}) "
        f"| {fig.cv:.3f} ({ratio(fig.cv, base.cv)}) "
        f"| {'—' if same is None else f'{same:.1%}'} "
        f"| {wall:.2f} ({cpu:.2f}) ({ratio(cpu, base_cpu)}) | {started:.1f} |"
    )


# ---------------------------------------------------------------------------------------------
# seeds: one start against several


@dataclass
class SeedRun:
    seed: int
    fig: Figures
    wall: float
    cpu: float


def case_seeds(args: argparse.Namespace) -> list[str]:
    units = county(
        args.seeds_units,
        seed=args.seeds_data_seed,
        communities=args.seeds_communities,
        rural_share=args.seeds_rural_share,
    )
    seeds = list(range(args.seeds))
    configs = [
        ("one start (`search_seconds=0`)", Policy(search_seconds=0.0)),
        (f"several starts (default, `search_seconds={Policy().search_seconds:g}`)", Policy()),
    ]
    results, loads = [], []
    for name, policy in configs:
        loads.append(load())
        runs = []
        for s in seeds:
            plan, wall, cpu = timed(lambda s=s, p=policy: divide(units, p, seed=s))  # type: ignore[misc]
            runs.append(SeedRun(s, figures(plan), wall, cpu))
        results.append(runs)
        print(name, [r.fig.out_of_range for r in runs], flush=True)
    # The fewest blocks out of range any plan reached: a plan above it lost to the seed.
    best = min(r.fig.out_of_range for runs in results for r in runs)
    rows = [
        _seeds_row(name, runs, best, started)
        for (name, _), runs, started in zip(configs, results, loads, strict=True)
    ]
    single, multi = results
    bad_single = [r.seed for r in single if r.fig.out_of_range]
    bad_multi = [r.seed for r in multi if r.fig.out_of_range]

    def med(runs: list[SeedRun], key: Callable[[SeedRun], float]) -> float:
        return statistics.median(key(r) for r in runs)

    def mean(runs: list[SeedRun], key: Callable[[SeedRun], float]) -> float:
        return statistics.mean(key(r) for r in runs)

    def share(r: SeedRun) -> float:
        return r.fig.share_in_range

    def cv(r: SeedRun) -> float:
        return r.fig.cv

    def out(r: SeedRun) -> float:
        return r.fig.out_of_range

    def seconds(r: SeedRun) -> float:
        return r.wall

    def cpu_seconds(r: SeedRun) -> float:
        return r.cpu

    others = (sum(r.fig.violations_other for r in runs) for runs in (multi, single))
    worse = [sum(1 for r in runs if r.fig.out_of_range > best) for runs in (multi, single)]
    rows.append(
        "| several ÷ one "
        f"| {ratio(len(bad_multi), len(bad_single))} | {ratio(*worse)} "
        f"| {ratio(med(multi, share), med(single, share), 3)} (median) "
        f"| {ratio(med(multi, cv), med(single, cv))} (median) "
        f"| {ratio(mean(multi, out), mean(single, out))} (mean) "
        f"| {ratio(mean(multi, seconds), mean(single, seconds), 1)} "
        f"({ratio(mean(multi, cpu_seconds), mean(single, cpu_seconds), 1)} CPU) (mean) "
        f"| {ratio(*others)} | |"
    )
    kinds = sorted({u.kind for u in units})
    rural = sum(1 for u in units if u.kind == "rural")
    return [
        "### The spread over seeds: one start against several",
        "",
        f"Data: Voronoi county of {len(units):,} units (`county({len(units)}, "
        f"seed={args.seeds_data_seed}, communities={args.seeds_communities}, "
        f"rural_share={args.seeds_rural_share:g})`: {rural:,} rural units; kinds: "
        f"{', '.join(kinds)}; {len({u.community for u in units})} communities), chosen "
        "because one start sometimes leaves a block out of range there. Divided with "
        f"engine seeds 0–{len(seeds) - 1} under each policy (default otherwise). *out of "
        "range*: plans (of the seeds) that leave at least one block outside its household range "
        "or above the population ceiling; min / median / max over the seeds of the share of "
        "blocks in range, of the CV of block workload and of the number of blocks out of range; "
        "*worse than the best*: plans with more blocks out of range than the best plan of "
        "either policy (what the seed lost); "
        "*violations not from data*: block-level violations over all seeds whose cause is not "
        "`data` (search, or none). Times per plan (wall; CPU in brackets: mean).",
        "",
        f"Seeds out of range — one start: {_seed_list(bad_single)}; several starts: "
        f"{_seed_list(bad_multi)}. One start left a block out of range in "
        f"{len(bad_single)} of {len(seeds)} seeds, several starts in {len(bad_multi)} "
        f"({ratio(len(bad_multi), len(bad_single))}), at "
        f"{ratio(mean(multi, cpu_seconds), mean(single, cpu_seconds), 1)} the CPU time per plan.",
        "",
        f"| policy | plans out of range | plans worse than the best ({best} out of range) "
        "| in range min / median / max | CV min / median / max "
        "| blocks out of range min / median / max (mean) | s per plan mean / max (CPU mean) "
        "| violations not from data | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]


def _seed_list(seeds: list[int]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else "none"


def _seeds_row(name: str, runs: list[SeedRun], best: int, started: float) -> str:
    def spread(values: list[float], fmt: str) -> str:
        return " / ".join(
            format(v, fmt) for v in (min(values), statistics.median(values), max(values))
        )

    bad = sum(1 for r in runs if r.fig.out_of_range)
    worse = sum(1 for r in runs if r.fig.out_of_range > best)
    return (
        f"| {name} | {bad} of {len(runs)} | {worse} of {len(runs)} "
        f"| {spread([r.fig.share_in_range for r in runs], '.1%')} "
        f"| {spread([r.fig.cv for r in runs], '.3f')} "
        f"| {spread([float(r.fig.out_of_range) for r in runs], '.0f')} "
        f"({statistics.mean(r.fig.out_of_range for r in runs):.2f}) "
        f"| {statistics.mean(r.wall for r in runs):.2f} / {max(r.wall for r in runs):.2f} "
        f"({statistics.mean(r.cpu for r in runs):.2f}) "
        f"| {sum(r.fig.violations_other for r in runs)} | {started:.1f} |"
    )


# ---------------------------------------------------------------------------------------------
# redivide: keep what works


def case_redivide(args: argparse.Namespace) -> list[str]:
    from jingwang.lib.division.redivision import redivide

    policy = Policy()
    units = county(args.redivide_units, seed=SEED)
    start_plan = divide(units, policy, seed=SEED)
    current = dict(start_plan.assignment["cluster"])
    changed, what = change(units, seed=SEED, growth=args.growth, new_units=args.new_units)
    codes = {u.code for u in changed}
    before_blocks = {c: level_ids(cid)["block"] for c, cid in current.items() if c in codes}
    started = load()
    before = evaluate(changed, {c: cid for c, cid in current.items() if c in codes}, policy)
    before_block_regions = before.regions["block"]
    before_bad = [v for v in before.violations if v.code in OUT_OF_RANGE]
    before_split = [v for v in before.violations if v.code == "block_not_contiguous"]
    unassigned = sum(1 for u in changed if u.code not in current)

    redone, re_wall, re_cpu = timed(lambda: redivide(changed, current, policy, seed=SEED))
    fresh, fr_wall, fr_cpu = timed(lambda: divide(changed, policy, seed=SEED))
    re_kept = redone.kept or kept(changed, before_blocks, block_of(redone))
    fr_kept = kept(changed, before_blocks, block_of(fresh))
    rows = [
        "| current grids on the changed data | "
        f"{len(before_block_regions):,} | "
        f"{sum(1 for b in before_block_regions if b.in_range is False)} | "
        f"{len(before_bad)} out of range, {len(before_split)} not contiguous "
        f"(+ {unassigned} new units without a block; no causes: a plan not generated) "
        "| — | 100% | 100% | 100% | — | — | — | "
        f"{started:.1f} |"
    ]
    print(rows[-1], flush=True)
    for name, plan, k, wall, cpu in (
        ("`redivide`", redone, re_kept, re_wall, re_cpu),
        ("fresh `divide`", fresh, fr_kept, fr_wall, fr_cpu),
    ):
        rows.append(_redivide_row(name, plan, k, wall, cpu, started))
        print(rows[-1], flush=True)
    r_units = re_kept["units_kept"] / re_kept["units"]
    f_units = fr_kept["units_kept"] / fr_kept["units"]
    r_hh = re_kept["households_kept"] / re_kept["households"]
    f_hh = fr_kept["households_kept"] / fr_kept["households"]
    r_pop = re_kept["population_kept"] / re_kept["population"]
    f_pop = fr_kept["population_kept"] / fr_kept["population"]
    rows.append(
        f"| `redivide` ÷ fresh | {ratio(figures(redone).blocks, figures(fresh).blocks)} | "
        f"{ratio(figures(redone).out_of_range, figures(fresh).out_of_range)} | | | "
        f"{ratio(r_units, f_units)} | {ratio(r_hh, f_hh)} | {ratio(r_pop, f_pop)} | "
        f"{ratio(re_kept['blocks_kept'], fr_kept['blocks_kept'])} | "
        f"{ratio(len(re_kept['moved']), len(fr_kept['moved']))} | "
        f"{ratio(re_wall, fr_wall)} | |"
    )
    return [
        "### Re-division: keep what works",
        "",
        f"Data: the Voronoi county of {len(units):,} units, seed 0, divided with the default "
        "policy (seed 0): that plan is the current grids. Then the data change "
        f"(`bench/division_data.py` `change`): households and population grow "
        f"{what.growth:.0%} in one area ({len(what.grown)} units, the 5% nearest a random "
        f"point), {len(what.new)} units are each split in two (one half keeps the code, the "
        "other is a new unit with 40–120 new households), and communities "
        f"{what.merged[0]} and {what.merged[1]} merge into {what.merged[1]}: "
        f"{len(changed):,} units. `redivide(changed, current)` (default `keep_weight` "
        f"{policy.keep_weight:g}, no limit on moved units) against a fresh `divide(changed)`. "
        "*kept*: `continuity` against the current grids (units, households, people whose "
        "block is kept — old and new blocks matched one-to-one by shared households; for "
        "`redivide` its own `plan.kept`); *blocks kept*: old blocks whose match holds ≥ 90% "
        "of their households and nothing else above 10%; *moved*: units present before and "
        "after that changed block. *violations*: block-level, split by cause — `data` (forced "
        "by the data) + other; *all fixed*: no block-level violation left but those of cause "
        "`data`. The last row quotes `redivide`'s figure ÷ the fresh plan's.",
        "",
        "| plan | blocks | out of range | block violations (data + other) | all fixed "
        "| units kept | households kept | people kept | blocks kept | moved units "
        "| s (CPU s) | load |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Units kept: `redivide` {r_units:.1%}, fresh {f_units:.1%} "
        f"({ratio(r_units, f_units)}); households kept {r_hh:.1%} against {f_hh:.1%}.",
    ]


def _redivide_row(
    name: str, plan: Plan, k: dict[str, Any], wall: float, cpu: float, started: float
) -> str:
    fig = figures(plan)
    fixed = "yes" if fig.violations_other == 0 else f"**NO** ({fig.violations_other} left)"
    return (
        f"| {name} | {fig.blocks:,} | {fig.out_of_range} "
        f"| {fig.violations_data} + {fig.violations_other}"
        f"{f' ({fig.not_contiguous} not contiguous)' if fig.not_contiguous else ''} "
        f"| {fixed} "
        f"| {k['units_kept'] / k['units']:.1%} "
        f"| {k['households_kept'] / k['households']:.1%} "
        f"| {k['population_kept'] / k['population']:.1%} "
        f"| {k['blocks_kept']} of {k['blocks_before']} | {len(k['moved']):,} "
        f"| {wall:.2f} ({cpu:.2f}) | {started:.1f} |"
    )


# ---------------------------------------------------------------------------------------------
# scale: a prefecture in a child process


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM, kB).

    Not `ru_maxrss`: Linux carries the parent's peak at fork into a child's `ru_maxrss` across
    exec, so a child of this (large) process would report at least the parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        match = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
        if match:
            return int(match.group(1))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def scale_child(n: int, what: str, tolerance: float) -> None:
    """In a child process: build the prefecture, then divide it ("divide") or build its unit
    graph three ways ("graph"); print the figures as one JSON line."""
    from jingwang.lib.division.graph import unit_graph

    side = prefecture_side(n)
    units, build, build_cpu = timed(lambda: county(n, seed=SEED, side=side))
    result: dict[str, Any] = {
        "units": len(units),
        "communities": len({u.community for u in units}),
        "side_km": side / 1000,
        "unit_m": mean_unit_side(units),
        "build": build,
        "build_cpu": build_cpu,
        "rss_data_kb": peak_rss_kb(),
        "maxrss_data_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if what == "divide":
        plan, wall, cpu = timed(lambda: divide(units, Policy(), seed=SEED))
        fig = figures(plan)
        result.update(
            wall=wall,
            cpu=cpu,
            rss_kb=peak_rss_kb(),
            maxrss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            blocks=fig.blocks,
            share_in_range=fig.share_in_range,
            cv=fig.cv,
            out_of_range=fig.out_of_range,
            search=plan.search,
        )
    else:
        geoms = [u.geometry for u in units]
        graphs: dict[str, tuple[float, float, int, int]] = {}

        def graph(name: str, data: list[Any], tol: float) -> None:
            def build_graph() -> Any:
                return unit_graph(data, tolerance=tol) if tol else unit_graph(data)

            g, g_wall, g_cpu = timed(build_graph)
            graphs[name] = (g_wall, g_cpu, sum(1 for a in g.adj if not a), peak_rss_kb())

        graph("exact data, tolerance 0", geoms, 0.0)
        try:
            graph(f"exact data, tolerance {tolerance:g} m", geoms, tolerance)
            shaken = [u.geometry for u in jitter(units, 0.005, seed=SEED)]
            graph(f"vertices jittered ±5 mm, tolerance {tolerance:g} m", shaken, tolerance)
        except TypeError as error:  # unit_graph without a tolerance yet
            print(f"graph with tolerance skipped: {error}", file=sys.stderr)
        result["graphs"] = graphs
    print(json.dumps(result, default=str))


def run_child(args: argparse.Namespace, what: str) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--scale-child",
        str(args.scale_units),
        "--scale-what",
        what,
        "--scale-tolerance",
        str(args.scale_tolerance),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def case_scale(args: argparse.Namespace) -> list[str]:
    started = load()
    child = run_child(args, "divide")
    # The divide's child is the only one that ended so far (but `nproc`, tiny): its peak.
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak = child["rss_kb"] * 1024
    within = child["wall"] < SCALE_SECONDS and peak < SCALE_BYTES
    cpu_within = child["cpu"] < SCALE_SECONDS
    search = child.get("search") or {}
    rows = [
        f"| `divide` (four levels) | {child['units']:,} | {child['wall']:.1f} | "
        f"{child['cpu']:.1f} | {child['rss_data_kb'] / 1024:.0f} → {peak / 1024**2:.0f} "
        f"(`ru_maxrss`: {child['maxrss_kb'] / 1024:.0f}; `RUSAGE_CHILDREN`: "
        f"{children_kb / 1024:.0f}) | "
        f"wall {ratio(child['wall'], SCALE_SECONDS)} of 60 s, CPU "
        f"{ratio(child['cpu'], SCALE_SECONDS)}, memory {ratio(peak, SCALE_BYTES)} of 1 GB: "
        f"{'**within**' if within else '**OVER**'}"
        f"{' (CPU time within)' if cpu_within and not within else ''} "
        f"| {child['blocks']:,} blocks, {child['share_in_range']:.1%} in range, "
        f"CV {child['cv']:.3f} | {started:.1f} |"
    ]
    graph_load = load()
    graphs = run_child(args, "graph")
    for name, (g_wall, g_cpu, isolated, g_peak) in graphs["graphs"].items():
        rows.append(
            f"| `unit_graph`, {name} | {graphs['units']:,} | {g_wall:.1f} | {g_cpu:.1f} "
            f"| {g_peak / 1024:.0f} | {ratio(g_wall, child['wall'])} of the divide's wall "
            f"time | {isolated:,} units isolated | {graph_load:.1f} |"
        )
    for row in rows:
        print(row, flush=True)
    shown = ("pieces", "starts", "budget_work", "work", "pieces_improved")
    starts = ", ".join(f"{k} {search[k]:,}" for k in shown if isinstance(search.get(k), int))
    return [
        "### A prefecture: 50,000 units",
        "",
        f"Data: a Voronoi prefecture of {child['units']:,} units on a "
        f"{child['side_km']:.1f} km square (`county(n, side=prefecture_side(n))`: the same "
        f"mean unit size as the 10,000-unit county, {child['unit_m']:.0f} m across), "
        f"{child['communities']} communities, seed 0; built in {child['build']:.1f} s "
        f"({child['build_cpu']:.1f} s CPU). The divide runs in a child process of its own "
        "(`--scale-child`): *wall* and *CPU* are the divide's alone (default policy, several "
        f"starts{'; plan.search: ' + starts if starts else ''}); *peak RSS MB* is the "
        "child's peak resident set (`VmHWM` of /proc/self/status) once the data is built → "
        "after the divide; in brackets its `ru_maxrss` and the parent's `RUSAGE_CHILDREN`, "
        "which on Linux also hold the parent's own size when it forked the child (the "
        "parent has run the other cases by then), so they overstate the divide. Budget "
        "(issue 9): under "
        "60 s and under 1 GB. The `unit_graph` rows build the adjacency alone, in a second "
        "child, on the exact data and on the same data jittered by ±5 mm (their peak RSS is "
        "that child's `VmHWM` after each, the data included).",
        "",
        "| work | units | wall s | CPU s | peak RSS MB | against the budget | result | load |",
        "|---|---:|---:|---:|---:|---|---|---:|",
        *rows,
        "",
        f"The divide of {child['units']:,} units took {child['wall']:.1f} s wall "
        f"({ratio(child['wall'], SCALE_SECONDS)} the 60 s budget) and {child['cpu']:.1f} s CPU "
        f"({ratio(child['cpu'], SCALE_SECONDS)}) at load {started:.1f} on 2 cores, with a peak "
        f"of {peak / 1024**2:.0f} MB ({ratio(peak, SCALE_BYTES)} of 1 GB): "
        + (
            "within both budgets."
            if within
            else "over the budget"
            + (
                " on wall time, though its CPU time is within it (the machine was shared)."
                if cpu_within and peak < SCALE_BYTES
                else "."
            )
        ),
    ]


# ---------------------------------------------------------------------------------------------
# The section of RESULTS.md


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


def intro() -> list[str]:
    return [
        SECTION,
        "",
        "`bench/division.py`: the division engine (`jingwang.lib.division`) against spopt's "
        "max-p, on borders that do not match, over seeds, in re-division and at prefecture "
        "scale (issue 9). Each table says the command that made it, the machine and *load*: "
        "the 1-minute load average when its rows started (the machine is shared with other "
        "work, so times vary from run to run).",
        "",
    ]


def subsection(title_lines: list[str], command: str, started: float, seconds: float) -> list[str]:
    """A case's table with its provenance line under the title."""
    title, *rest = title_lines
    return [
        title,
        "",
        f"Command: `{command}` (from the repository root, in the project's venv with its "
        "`bench` extras); "
        f"machine: {machine()}; {versions()}; load {started:.1f} at the start; the case took "
        f"{seconds:.0f} s.",
        "",
        *(rest[1:] if rest and rest[0] == "" else rest),
        "",
    ]


def write_section(subsections: dict[str, list[str]]) -> None:
    """Replace the given "###" tables inside the section, keeping the others."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(SECTION)
    if start == -1:
        before, old, after = text.rstrip("\n") + "\n\n", "", ""
    else:
        following = text.find("\n## ", start + len(SECTION))
        end = len(text) if following == -1 else following + 1
        before, old, after = text[:start], text[start:end], text[end:]
    kept_tables: dict[str, str] = {}
    for chunk in old.split("\n### ")[1:]:
        title = "### " + chunk.split("\n", 1)[0].strip()
        kept_tables[title] = "### " + chunk.rstrip("\n") + "\n"
    for title, lines in subsections.items():
        kept_tables[title] = "\n".join(lines).rstrip("\n") + "\n"
    order = [t for t in kept_tables if t not in subsections] + list(subsections)
    ordered = sorted(order, key=lambda t: _table_rank(t))
    body = "\n".join(intro()) + "\n" + "\n".join(kept_tables[t] for t in ordered)
    text = before + body.rstrip("\n") + "\n" + ("\n" + after if after else "")
    RESULTS.write_text(text.rstrip("\n") + "\n")


def _table_rank(title: str) -> int:
    titles = {
        "### The engine against spopt's max-p": 0,
        "### Borders that do not match: snap tolerance": 1,
        "### The spread over seeds: one start against several": 2,
        "### Re-division: keep what works": 3,
        "### A prefecture: 50,000 units": 4,
    }
    return titles.get(title, 9)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES)
    )
    parser.add_argument("--sizes", default="1000,3000,10000", help="spopt: county sizes")
    parser.add_argument("--skip-spopt", action="store_true")
    parser.add_argument("--spopt-max-units", type=int, default=3000)
    parser.add_argument("--jitter-units", type=int, default=3000)
    parser.add_argument("--jitter-mm", type=float, default=5.0)
    parser.add_argument(
        "--tolerance", type=float, default=None, help="jitter: snap tolerance (m) for all"
    )
    parser.add_argument(
        "--default-tolerance",
        type=float,
        default=10.0,
        help="jitter: tolerance when the data report suggests none",
    )
    parser.add_argument(
        "--wider-tolerance",
        type=float,
        default=10.0,
        help="jitter: tried too (at least twice the first) when the first leaves the data broken",
    )
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--seeds-units", type=int, default=1000)
    # A county where one start sometimes leaves a block out of range (3 of seeds 0-11 did,
    # with the single-start engine before issue 9).
    parser.add_argument("--seeds-data-seed", type=int, default=1)
    parser.add_argument("--seeds-communities", type=int, default=25)
    parser.add_argument("--seeds-rural-share", type=float, default=0.5)
    parser.add_argument("--redivide-units", type=int, default=3000)
    parser.add_argument("--growth", type=float, default=0.4)
    parser.add_argument("--new-units", type=int, default=30)
    parser.add_argument("--scale-units", type=int, default=50_000)
    parser.add_argument("--scale-tolerance", type=float, default=1.0)
    parser.add_argument("--scale-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scale-what", default="divide", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.scale_child is not None:
        scale_child(args.scale_child, args.scale_what, args.scale_tolerance)
        return
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"--cases: unknown {', '.join(sorted(unknown))}")
    runners: dict[str, Callable[[argparse.Namespace], list[str]]] = {
        "spopt": case_spopt,
        "jitter": case_jitter,
        "seeds": case_seeds,
        "redivide": case_redivide,
        "scale": case_scale,
    }
    command = " ".join(["python bench/division.py", *(argv if argv is not None else sys.argv[1:])])
    tables: dict[str, list[str]] = {}
    whole = time.perf_counter()
    for case in CASES:
        if case not in cases:
            continue
        print(f"== {case}", flush=True)
        started, began = load(), time.perf_counter()
        lines = runners[case](args)
        tables[lines[0]] = subsection(lines, command, started, time.perf_counter() - began)
    print(f"all cases: {time.perf_counter() - whole:.0f} s", flush=True)
    if not args.no_write:
        write_section(tables)
        print(f"written to {RESULTS.name}")


if __name__ == "__main__":
    main()
