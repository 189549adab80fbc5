"""Measure a plan: per region and overall figures, and every constraint it does not meet.

`divide` and `move_unit` both end here, so a hand-edited plan is judged by the same code as a
generated one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import Graph, components, internal_length, unit_graph
from .model import LEVELS, BaseUnit, Evaluation, Policy, Region, Violation


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
) -> Evaluation:
    """Measure an assignment of unit code → cluster id ("D01-S02-B03-C04").

    Raises ValueError for an assignment that names an unknown unit or a malformed id; a unit
    left out is reported as a violation, not an error.
    """
    units = list(units)
    index = {u.code: i for i, u in enumerate(units)}
    for code in assignment:
        if code not in index:
            raise ValueError(f"assignment: unknown unit {code}")
    graph = graph or unit_graph([u.geometry for u in units])
    levels = {code: level_ids(cid) for code, cid in assignment.items()}
    pieces = _community_pieces(units, graph)
    ctx = _Context(
        units, graph, policy, index, {i: p for ps in pieces.values() for p in ps for i in p}
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


@dataclass(frozen=True)
class _Context:
    """What the violation checks need to explain themselves."""

    units: Sequence[BaseUnit]
    graph: Graph
    policy: Policy
    index: Mapping[str, int]
    piece_of: Mapping[int, list[int]]  # unit index → the community piece holding it


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
            found.append(
                Violation(
                    f"{r.level}_crosses_community",
                    f"{r.level} {r.id} spans communities {', '.join(r.communities)}",
                    (r.id, *r.communities),
                    r.level,
                )
            )
        if r.level == "block":
            found += _block_violations(r, ctx)
        elif r.level == "cluster":
            found += _cluster_violations(r, ctx.units, ctx.policy, ctx.index)
    return found


def _may_cross(level: str, policy: Policy) -> bool:
    if level == "district":
        return policy.districts_cross_communities
    if level == "sector":
        return policy.sectors_cross_communities
    return False


def _block_violations(r: Region, ctx: _Context) -> list[Violation]:
    lo, _, hi, pmax = ctx.policy.block_range(r.kind)
    units, index = ctx.units, ctx.index
    found = []
    if r.households < lo:
        why = _small_block_reason(r, ctx, lo, hi)
        found.append(
            Violation(
                "block_households_low",
                f"block {r.id} has {r.households} households, below {lo}{why}",
                (r.id,),
                "block",
            )
        )
    if r.households > hi:
        biggest = max(r.units, key=lambda c: units[index[c]].households)
        big = units[index[biggest]].households
        if big > hi:
            why = f", because unit {biggest} alone has {big}"
            ids: tuple[str, ...] = (r.id, biggest)
        else:
            why = _piece_reason(r, ctx, lo, hi)
            ids = (r.id,)
        found.append(
            Violation(
                "block_households_high",
                f"block {r.id} has {r.households} households, above {hi}{why}",
                ids,
                "block",
            )
        )
    if pmax is not None and r.population > pmax:
        found.append(
            Violation(
                "block_population_high",
                f"block {r.id} has {r.population} people, above {pmax}",
                (r.id,),
                "block",
            )
        )
    return found


def _piece(r: Region, ctx: _Context) -> tuple[str, int, int]:
    """(community, units, households) of the community piece holding the block's first unit."""
    first = ctx.index[r.units[0]]
    piece = ctx.piece_of[first]
    return ctx.units[first].community, len(piece), sum(ctx.units[i].households for i in piece)


def _small_block_reason(r: Region, ctx: _Context, lo: int, hi: int) -> str:
    community, count, total = _piece(r, ctx)
    if total < lo:
        return (
            f", because community {community} has an island of {total} households "
            f"({count} unit(s)) that cannot form a block on its own"
        )
    return _piece_reason(r, ctx, lo, hi)


def _piece_reason(r: Region, ctx: _Context, lo: int, hi: int) -> str:
    community, _, total = _piece(r, ctx)
    # Some whole number of blocks fits the piece iff ceil(total / hi) <= floor(total / lo).
    if total >= lo and math.ceil(total / hi) > total // lo:
        return (
            f", because community {community} (that piece of it) has {total} households, "
            f"which no number of blocks of {lo}–{hi} can hold"
        )
    return ", because the units around it could not be balanced further"


def _cluster_violations(
    r: Region, units: Sequence[BaseUnit], policy: Policy, index: Mapping[str, int]
) -> list[Violation]:
    lo, hi = policy.cluster_households_min, policy.cluster_households_max
    if r.households > hi:
        atomic = [c for c in r.units if units[index[c]].households > hi]
        if len(r.units) == 1 and atomic:
            message = (
                f"unit {atomic[0]} has {r.households} households, more than {hi}, and cannot be "
                f"split: it is cluster {r.id} on its own"
            )
            return [Violation("cluster_atomic_unit", message, (r.id, atomic[0]), "cluster")]
        message = f"cluster {r.id} has {r.households} households, above {hi}"
        return [Violation("cluster_households_high", message, (r.id, *atomic), "cluster")]
    if r.households < lo:
        message = f"cluster {r.id} has {r.households} households, below {lo}"
        return [Violation("cluster_households_low", message, (r.id,), "cluster")]
    return []


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
