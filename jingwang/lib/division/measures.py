"""Measure a plan: per region and overall figures, and every constraint it does not meet.

`divide` and `move_unit` both end here, so a hand-edited plan is judged by the same code as a
generated one. Each violation says why where the data tell (`cause` "data": an island too small
for a block, a unit alone above a maximum or ceiling, a dead-end pocket, a piece no whole number
of blocks can hold); for a generated plan (`starts` given) the rest is the search's ("search");
for a hand-edited plan the rest is left without a cause.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import Graph, components, internal_length, unit_graph
from .model import LEVELS, BaseUnit, Evaluation, Policy, Region, Violation
from .partition import Bounds, PieceSplit, k_range, split_forced


def level_ids(region_id: str) -> dict[str, str]:
    """'D01-S02-B03-C04' → the id at each level: D01, D01-S02, D01-S02-B03, D01-S02-B03-C04."""
    parts = region_id.split("-")
    if len(parts) != len(LEVELS) or not all(parts):
        raise ValueError(f"{region_id}: expected a cluster id like D01-S02-B03-C04")
    return {level: "-".join(parts[: i + 1]) for i, level in enumerate(LEVELS)}


def evaluate(
    units: Sequence[BaseUnit],
    assignment: Mapping[str, str],
    policy: Policy,
    *,
    graph: Graph | None = None,
    starts: Mapping[str, int] | None = None,
) -> Evaluation:
    """Measure an assignment of unit code → cluster id ("D01-S02-B03-C04").

    `starts` is given for a plan the engine generated: unit code → the number of starts the
    search tried for the part of its community holding it (an empty mapping: generated, count
    unknown). A violation the data do not explain is then the search's; without `starts` (a
    plan edited by hand) it is left without a cause.

    Raises ValueError for an assignment that names an unknown unit or a malformed id; a unit
    left out is reported as a violation, not an error.
    """
    units = list(units)
    index = {u.code: i for i, u in enumerate(units)}
    for code in assignment:
        if code not in index:
            raise ValueError(f"assignment: unknown unit {code}")
    graph = graph or unit_graph([u.geometry for u in units], policy.snap_tolerance_m)
    levels = {code: level_ids(cid) for code, cid in assignment.items()}
    pieces = _community_pieces(units, graph)
    ctx = _Context(
        units,
        graph,
        policy,
        index,
        {i: p for ps in pieces.values() for p in ps for i in p},
        starts,
        {code: ids["block"] for code, ids in levels.items()},
    )
    violations: list[Violation] = []
    violations += _unassigned(units, assignment)
    violations += _disconnected_communities(units, pieces)
    regions: dict[str, list[Region]] = {}
    for level in LEVELS:
        members: dict[str, list[int]] = defaultdict(list)
        for code, ids in levels.items():
            members[ids[level]].append(index[code])
        regions[level] = [
            _region(rid, level, sorted(idx), units, graph, policy)
            for rid, idx in sorted(members.items())
        ]
        violations += _region_violations(regions[level], ctx)
    measures = _overall(units, regions, policy)
    return Evaluation(measures=measures, regions=regions, violations=violations)


def _region(
    rid: str, level: str, idx: list[int], units: Sequence[BaseUnit], graph: Graph, policy: Policy
) -> Region:
    households = sum(units[i].households for i in idx)
    population = sum(units[i].population for i in idx)
    workload = sum(policy.workload(units[i].households, units[i].complexity) for i in idx)
    kind = majority_kind([units[i] for i in idx])
    area = float(graph.area[idx].sum())
    # For a partition of the plane the perimeter of the union is the sum of the perimeters less
    # twice every shared edge; this avoids a union per region (tests check it against unions).
    perimeter = float(graph.perimeter[idx].sum()) - 2.0 * internal_length(graph.adj, idx)
    pp = 4.0 * math.pi * area / perimeter**2 if perimeter > 0 else 0.0
    return Region(
        id=rid,
        level=level,
        units=tuple(units[i].code for i in idx),
        households=households,
        population=population,
        workload=workload,
        kind=kind,
        communities=tuple(sorted({units[i].community for i in idx})),
        pieces=len(components(graph.adj, idx)),
        area=area,
        perimeter=perimeter,
        polsby_popper=pp,
        in_range=_in_range(level, kind, households, policy),
    )


def majority_kind(units: Sequence[BaseUnit]) -> str:
    """The kind holding most households (urban on a tie): it decides a block's range."""
    urban = sum(u.households for u in units if u.kind == "urban")
    rural = sum(u.households for u in units if u.kind == "rural")
    if rural > urban or (rural == urban == 0 and units and all(u.kind == "rural" for u in units)):
        return "rural"
    return "urban"


def _in_range(level: str, kind: str, households: int, policy: Policy) -> bool | None:
    if level == "block":
        lo, _, hi, _ = policy.block_range(kind)
        return lo <= households <= hi
    if level == "cluster":
        return policy.cluster_households_min <= households <= policy.cluster_households_max
    return None


def _unassigned(units: Sequence[BaseUnit], assignment: Mapping[str, str]) -> list[Violation]:
    missing = [u.code for u in units if u.code not in assignment]
    if not missing:
        return []
    shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
    return [
        Violation(
            "unit_unassigned", f"{len(missing)} unit(s) have no grid: {shown}", tuple(missing)
        )
    ]


@dataclass
class _Context:
    """What the violation checks need to explain themselves."""

    units: Sequence[BaseUnit]
    graph: Graph
    policy: Policy
    index: Mapping[str, int]
    piece_of: Mapping[int, list[int]]  # unit index → the community piece holding it
    starts: Mapping[str, int] | None  # generated plan: unit code → starts of its part
    block_of: Mapping[str, str]  # unit code → block id
    _splits: dict[int, tuple[Bounds, PieceSplit]] = field(default_factory=dict)
    _blocks: dict[str, list[int]] = field(default_factory=dict)

    def split(self, unit: int) -> tuple[Bounds, PieceSplit]:
        """The block range of the piece holding `unit` and what its data force (as `divide`)."""
        piece = self.piece_of[unit]
        if piece[0] not in self._splits:
            kind = majority_kind([self.units[i] for i in piece])
            lo, _, hi, pmax = self.policy.block_range(kind)
            bounds = Bounds(lo, hi, pmax)
            households = np.array([self.units[i].households for i in piece], dtype=float)
            weights = np.zeros(len(self.units))
            weights[piece] = households
            self._splits[piece[0]] = (bounds, split_forced(self.graph.adj, piece, weights, bounds))
        return self._splits[piece[0]]

    def block_units(self, block: str) -> list[int]:
        if not self._blocks:
            for code, b in self.block_of.items():
                self._blocks.setdefault(b, []).append(self.index[code])
        return self._blocks.get(block, [])

    def households(self, idx: Sequence[int]) -> int:
        return sum(self.units[i].households for i in idx)

    def codes(self, idx: Sequence[int]) -> str:
        codes = [self.units[i].code for i in sorted(idx)]
        return ", ".join(codes[:10]) + (" …" if len(codes) > 10 else "")

    def search_reason(self, first_unit: str | None, what: str = "") -> tuple[str, str | None]:
        """The reason and cause of a violation the data do not explain: the search's in a
        generated plan (with its number of starts for a block), else none."""
        if self.starts is None:
            return " (not forced by the data)", None
        n = self.starts.get(first_unit) if first_unit else None
        tried = f" in {n} start{'' if n == 1 else 's'}" if n else ""
        return f", because the search did not find a better arrangement{what}{tried}", "search"


def _community_pieces(units: Sequence[BaseUnit], graph: Graph) -> dict[str, list[list[int]]]:
    by_community: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_community[u.community].append(i)
    return {c: components(graph.adj, idx) for c, idx in sorted(by_community.items())}


def _disconnected_communities(
    units: Sequence[BaseUnit], pieces: Mapping[str, list[list[int]]]
) -> list[Violation]:
    found = []
    for community, parts in pieces.items():
        if len(parts) > 1:
            sizes = ", ".join(str(sum(units[i].households for i in p)) for p in parts)
            found.append(
                Violation(
                    "community_disconnected",
                    f"community {community} is in {len(parts)} separate pieces "
                    f"({sizes} households); each piece is divided on its own",
                    (community,),
                    cause="data",
                )
            )
    return found


def _region_violations(regions: list[Region], ctx: _Context) -> list[Violation]:
    found: list[Violation] = []
    for r in regions:
        if r.pieces != 1:
            found.append(
                Violation(
                    f"{r.level}_not_contiguous",
                    f"{r.level} {r.id} is in {r.pieces} separate pieces",
                    (r.id,),
                    r.level,
                )
            )
        if len(r.communities) > 1 and not _may_cross(r.level, ctx.policy):
            why, cause = _merged_island(r, ctx) if r.level == "block" else ("", None)
            found.append(
                Violation(
                    f"{r.level}_crosses_community",
                    f"{r.level} {r.id} spans communities {', '.join(r.communities)}{why}",
                    (r.id, *r.communities),
                    r.level,
                    cause,
                )
            )
        if r.level == "block":
            found += _block_violations(r, ctx)
        elif r.level == "cluster":
            found += _cluster_violations(r, ctx)
    return found


def _may_cross(level: str, policy: Policy) -> bool:
    if level == "district":
        return policy.districts_cross_communities
    if level == "sector":
        return policy.sectors_cross_communities
    return False


def _block_violations(r: Region, ctx: _Context) -> list[Violation]:
    lo, _, hi, pmax = ctx.policy.block_range(r.kind)
    found = []
    if r.households < lo:
        why, cause, ids = _households_reason(r, ctx, low=True)
        found.append(
            Violation(
                "block_households_low",
                f"block {r.id} has {r.households} households, below {lo}{why}",
                (r.id, *ids),
                "block",
                cause,
            )
        )
    if r.households > hi:
        why, cause, ids = _households_reason(r, ctx, low=False)
        found.append(
            Violation(
                "block_households_high",
                f"block {r.id} has {r.households} households, above {hi}{why}",
                (r.id, *ids),
                "block",
                cause,
            )
        )
    if pmax is not None and r.population > pmax:
        why, cause, ids = _population_reason(r, ctx, pmax)
        found.append(
            Violation(
                "block_population_high",
                f"block {r.id} has {r.population} people, above {pmax}{why}",
                (r.id, *ids),
                "block",
                cause,
            )
        )
    return found


_Reason = tuple[str, str | None, tuple[str, ...]]  # text after the figures, cause, unit codes


def _households_reason(r: Region, ctx: _Context, low: bool) -> _Reason:
    """Why a block is out of range: the data (which units, and why), else the search."""
    units = ctx.units
    idx = [ctx.index[c] for c in r.units]
    first = idx[0]
    piece = ctx.piece_of[first]
    bounds, split = ctx.split(first)
    plo = bounds.households_min or 0
    community = units[first].community
    total = ctx.households(piece)
    if low and total < plo and set(piece) <= set(idx):
        return (
            f", because community {community} has an island of {total} households "
            f"({len(piece)} unit(s)) that cannot form a block on its own",
            "data",
            (),
        )
    _, _, hi, _ = ctx.policy.block_range(r.kind)
    if not low:
        biggest = max(idx, key=lambda i: (units[i].households, -i))
        if units[biggest].households > hi:
            why = (
                f", because unit {units[biggest].code} alone has {units[biggest].households} "
                "households"
            )
            pocket = next((f.pocket for f in split.forced if f.unit == biggest), ())
            if pocket and set(pocket) <= set(idx):
                why += (
                    f", and unit(s) {ctx.codes(pocket)} ({ctx.households(pocket)} households), "
                    "cut off behind it and too few for a block, can only join it"
                )
            return why, "data", (units[biggest].code, *(units[i].code for i in pocket))
    for f in split.forced:
        if f.pocket and set(idx) <= set(f.pocket):
            big = units[f.unit]
            block = ctx.block_of.get(big.code, "?")
            return (
                f", because its units are cut off behind unit {big.code} (alone "
                f"{big.households} households, above the maximum) and too few for a block: "
                f"they can only join block {block}",
                "data",
                (big.code,),
            )
    why = _part_reason(first, ctx, bounds, split)
    if why:
        return why, "data", ()
    text, cause = ctx.search_reason(r.units[0])
    return text, cause, ()


def _part_reason(first: int, ctx: _Context, bounds: Bounds, split: PieceSplit) -> str:
    """The reason when the part of the piece holding `first` fits no whole number of blocks."""
    piece = ctx.piece_of[first]
    part = next((list(p) for p in split.rest if first in p), piece)
    households = ctx.households(part)
    population = sum(ctx.units[i].population for i in part)
    low, high = k_range(households, population, bounds)
    if low <= high:
        return ""
    lo, hi, pmax = bounds.households_min, bounds.households_max, bounds.population_max
    community = ctx.units[first].community
    where = "(that piece of it"
    if split.forced:
        big = [f.unit for f in split.forced]
        where += f", beside unit(s) {ctx.codes(big)} alone above the maximum"
    where += ")"
    assert lo is not None and hi is not None  # block ranges always have both
    if math.ceil(households / hi) > households // lo:
        return (
            f", because community {community} {where} has {households} households, "
            f"which no number of blocks of {lo}–{hi} can hold"
        )
    return (
        f", because community {community} {where} has {households} households and "
        f"{population} people, which no number of blocks of {lo}–{hi} households and at most "
        f"{pmax} people can hold"
    )


def _population_reason(r: Region, ctx: _Context, pmax: int) -> _Reason:
    units = ctx.units
    idx = [ctx.index[c] for c in r.units]
    biggest = max(idx, key=lambda i: (units[i].population, -i))
    if units[biggest].population > pmax:
        return (
            f", because unit {units[biggest].code} alone has {units[biggest].population} people",
            "data",
            (units[biggest].code,),
        )
    bounds, split = ctx.split(idx[0])
    why = _part_reason(idx[0], ctx, bounds, split)
    if why:
        return why, "data", ()
    text, cause = ctx.search_reason(r.units[0])
    return text, cause, ()


def _merged_island(r: Region, ctx: _Context) -> tuple[str, str | None]:
    """A block spans communities because a whole island of one was merged into it."""
    idx = {ctx.index[c] for c in r.units}
    for i in sorted(idx):
        piece = ctx.piece_of[i]
        if piece[0] != i or not set(piece) <= idx:
            continue
        bounds, _ = ctx.split(i)
        total = ctx.households(piece)
        if total < (bounds.households_min or 0):
            return (
                f", because the island of community {ctx.units[i].community} ({total} "
                "households) was merged into it",
                "data",
            )
    return "", None


def _cluster_violations(r: Region, ctx: _Context) -> list[Violation]:
    units, policy, index = ctx.units, ctx.policy, ctx.index
    lo, hi = policy.cluster_households_min, policy.cluster_households_max
    if r.households > hi:
        atomic = [c for c in r.units if units[index[c]].households > hi]
        if len(r.units) == 1 and atomic:
            message = (
                f"unit {atomic[0]} has {r.households} households, more than {hi}, and cannot be "
                f"split: it is cluster {r.id} on its own"
            )
            return [Violation("cluster_atomic_unit", message, (r.id, atomic[0]), "cluster", "data")]
        if atomic:
            big = atomic[0]
            why = f", because unit {big} alone has {units[index[big]].households}"
            cause: str | None = "data"
        else:
            why, cause = _cluster_reason(r, ctx)
        message = f"cluster {r.id} has {r.households} households, above {hi}{why}"
        return [Violation("cluster_households_high", message, (r.id, *atomic), "cluster", cause)]
    if r.households < lo:
        why, cause = _cluster_reason(r, ctx)
        message = f"cluster {r.id} has {r.households} households, below {lo}{why}"
        return [Violation("cluster_households_low", message, (r.id,), "cluster", cause)]
    return []


def _cluster_reason(r: Region, ctx: _Context) -> tuple[str, str | None]:
    """Why a cluster is out of range: cut off inside its block, a part of small units no whole
    number of clusters can hold, else the search (generated plans) or no cause (edited)."""
    units, policy = ctx.units, ctx.policy
    lo, hi = policy.cluster_households_min, policy.cluster_households_max
    idx = [ctx.index[c] for c in r.units]
    block = ctx.block_of[r.units[0]]
    mine = set(idx)
    neighbours = {v for u in idx for v in ctx.graph.adj[u] if v not in mine}
    if not any(ctx.block_of.get(units[v].code) == block for v in neighbours):
        return f", because it has no neighbour in block {block} to join", "data"
    small = [i for i in ctx.block_units(block) if units[i].households <= hi]
    part = next((p for p in components(ctx.graph.adj, small) if idx[0] in p), idx)
    households = ctx.households(part)
    low, high = k_range(households, 0.0, Bounds(lo, hi))
    if low > high:
        return (
            f", because the small units around it in block {block} have {households} "
            f"households, which no number of clusters of {lo}–{hi} can hold",
            "data",
        )
    return ctx.search_reason(None, f" for the units of block {block}")


def cv(values: Sequence[float]) -> float:
    """Coefficient of variation (population standard deviation / mean); 0 for no spread."""
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0 or arr.mean() == 0:
        return 0.0
    return float(arr.std() / arr.mean())


def _level_measures(regions: list[Region]) -> dict[str, Any]:
    if not regions:
        return {"count": 0}
    households = [r.households for r in regions]
    pp = [r.polsby_popper for r in regions]
    measures: dict[str, Any] = {
        "count": len(regions),
        "cv_workload": cv([r.workload for r in regions]),
        "cv_households": cv(households),
        "households_min": min(households),
        "households_max": max(households),
        "polsby_popper_min": min(pp),
        "polsby_popper_mean": float(np.mean(pp)),
        "contiguous": all(r.contiguous for r in regions),
    }
    ranged = [r.in_range for r in regions if r.in_range is not None]
    if ranged:
        measures["share_in_range"] = sum(ranged) / len(ranged)
    return measures


def _overall(
    units: Sequence[BaseUnit], regions: dict[str, list[Region]], policy: Policy
) -> dict[str, Any]:
    levels = {level: _level_measures(regions[level]) for level in LEVELS}
    return {
        "units": len(units),
        "households": sum(u.households for u in units),
        "population": sum(u.population for u in units),
        "workload": sum(policy.workload(u.households, u.complexity) for u in units),
        "contiguous": all(levels[level].get("contiguous", True) for level in LEVELS),
        "levels": levels,
    }
