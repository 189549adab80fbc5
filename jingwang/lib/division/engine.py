"""The division engine: base units → blocks → sectors → districts, and clusters inside blocks."""

from __future__ import annotations

import dataclasses
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer

from .checks import inspect_units, usable_units
from .graph import Graph, components, quotient, unit_graph
from .measures import evaluate, level_ids, majority_kind
from .model import LEVELS, BaseUnit, Plan, Policy, Violation
from .partition import (
    Bounds,
    Scored,
    Search,
    choose_k,
    k_range,
    partition,
    partition_scored,
    split_forced,
)


def divide(units: Sequence[BaseUnit], policy: Policy, seed: int = 0) -> Plan:
    """Divide base units into a four-level plan. Deterministic for a given seed.

    Blocks never cross a community boundary and every region at every level is contiguous
    (rook adjacency) within its community piece; what cannot be met is reported in
    `plan.violations`, never raised.
    """
    policy.validate()
    # Refused units (docs/division.md, "Input checks") are left out of the plan altogether;
    # the graph is unit_graph's under policy.snap_tolerance_m, measured by the checks.
    units, report, graph = inspect_units(units, policy)
    rng = np.random.default_rng(seed)
    data = _Arrays.of_units(units, policy)
    blocks, notes, search, starts = _blocks(units, graph, data, policy, seed)
    block_graph = quotient(graph, blocks)
    block_data = data.grouped(blocks)
    block_community = [_majority_community(units, b) for b in blocks]
    sectors = _group_level(
        block_graph,
        block_data,
        block_community if not policy.sectors_cross_communities else None,
        policy.sector_count or round(len(blocks) / policy.sector_blocks),
        policy,
        rng,
    )
    sector_graph = quotient(block_graph, sectors)
    sector_data = block_data.grouped(sectors)
    sector_community = [_majority_community(units, _flatten(blocks, s)) for s in sectors]
    districts = _group_level(
        sector_graph,
        sector_data,
        sector_community if not policy.districts_cross_communities else None,
        policy.district_count or round(len(sectors) / policy.district_sectors),
        policy,
        rng,
    )
    clusters = [_clusters(graph, data, b, policy, rng) for b in blocks]
    assignment = _name(units, graph, blocks, sectors, districts, clusters)
    evaluation = evaluate(units, assignment, policy, graph=graph, starts=starts)
    notes = [_rename(n, assignment) for n in notes]
    return Plan(
        assignment=_by_level(assignment),
        policy=policy,
        seed=seed,
        evaluation=evaluation,
        notes=notes,
        search=search,
        data=report,
    )


def move_unit(plan: Plan, units: Sequence[BaseUnit], unit_code: str, target_block: str) -> Plan:
    """Move one unit into another block and re-measure.

    The unit joins the smallest adjacent cluster of the target block that stays within the
    cluster maximum, else becomes a cluster of its own. A move that breaks contiguity is allowed
    and reported as a violation: the station decides, the engine explains.
    """
    units = list(units)
    clusters = dict(plan.assignment["cluster"])
    if unit_code not in clusters:
        raise ValueError(f"unit_code: unknown unit {unit_code}")
    blocks = set(plan.assignment["block"].values())
    if target_block not in blocks:
        raise ValueError(f"target_block: no block {target_block} in this plan")
    units = usable_units(units)  # as divide used them: repaired, refused ones left out
    graph = unit_graph([u.geometry for u in units], tolerance=plan.policy.snap_tolerance_m)
    clusters[unit_code] = _cluster_for(units, graph, clusters, unit_code, target_block, plan.policy)
    evaluation = evaluate(units, clusters, plan.policy, graph=graph)
    return Plan(
        assignment=_by_level(clusters),
        policy=plan.policy,
        seed=plan.seed,
        evaluation=evaluation,
        notes=list(plan.notes),
    )


def project_lonlat(units: Sequence[BaseUnit]) -> list[BaseUnit]:
    """Units with WGS-84 lon/lat geometry → the same units in a local transverse Mercator (m).

    The engine measures lengths and areas, so it needs metres; a projection centred on the
    territory keeps the distortion negligible at station and county scale.
    """
    units = list(units)
    if not units:
        return units
    minx, miny, maxx, maxy = shapely.total_bounds([u.geometry for u in units])
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    local = CRS.from_proj4(f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +ellps=WGS84 +units=m")
    transformer = Transformer.from_crs("EPSG:4326", local, always_xy=True)

    def to_metres(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return [
        dataclasses.replace(u, geometry=shapely.transform(u.geometry, to_metres)) for u in units
    ]


@dataclass(frozen=True)
class _Arrays:
    """Households, population and workload per node (unit, block or sector)."""

    households: np.ndarray
    population: np.ndarray
    workload: np.ndarray

    @classmethod
    def of_units(cls, units: Sequence[BaseUnit], policy: Policy) -> _Arrays:
        return cls(
            households=np.array([u.households for u in units], dtype=float),
            population=np.array([u.population for u in units], dtype=float),
            workload=np.array([policy.workload(u.households, u.complexity) for u in units]),
        )

    def grouped(self, groups: Sequence[Sequence[int]]) -> _Arrays:
        def total(arr: np.ndarray) -> np.ndarray:
            return np.array([arr[list(g)].sum() for g in groups], dtype=float)

        return _Arrays(total(self.households), total(self.population), total(self.workload))


def _search(policy: Policy) -> Search:
    return Search(policy.moves_per_unit, policy.compactness_weight, policy.perturbation_rounds)


# Several starts (docs/division.md, "Several starts"). The budget is counted in units of work
# of the local search (move evaluations, `Scored.work`), not in seconds of a clock, so that a
# given seed and budget give the same plan on any machine. One unit of work took 2.2 µs of CPU
# on the reference machine (2-core AMD EPYC, Python 3.11; 1.5-2.9 µs over Voronoi counties of
# 1,000 and 3,000 units, urban and rural, small and large units: bench/division.py).
SECONDS_PER_WORK = 2.2e-6
# Beyond this many starts a piece gains little: the budget left goes unspent.
MAX_STARTS = 16
# A piece whose first start is already within range gets at most this many more: they polish
# the balance a little (block workload CV 0.056 → 0.052 on a 3,000-unit county) at the price of
# a whole start each, which the pieces out of range need more.
POLISH_STARTS = 1


@dataclass
class _Part:
    """A connected part of a community piece left for the search, with its block range."""

    nodes: list[int]
    k: int
    alternatives: list[int]  # other feasible counts, tried only where the first start failed
    feasible: bool  # some whole number of blocks fits the range and the ceiling
    bounds: Bounds
    key: int  # spawn key of its seeds: from its first unit's code, not from its position


def _blocks(
    units: Sequence[BaseUnit],
    graph: Graph,
    data: _Arrays,
    policy: Policy,
    seed: int,
) -> tuple[list[list[int]], list[Violation], dict[str, Any], dict[str, int]]:
    """Blocks per connected piece of each community, sized by the piece's majority kind.

    What the data force comes first (`split_forced`: a unit alone above the maximum is a block
    with its dead-end pocket); the rest of each piece is searched with several starts. Returns
    the blocks, engine notes, the `plan.search` figures and, per unit code, the number of starts
    tried for the part holding it.
    """
    by_community: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_community[u.community].append(i)
    # Per piece, in order: its blocks so far (forced ones) and the indexes of its searched parts.
    pieces: list[tuple[list[list[int]], list[int], bool]] = []
    parts: list[_Part] = []
    forced_count = 0
    search = _search(policy)
    for community in sorted(by_community):
        for piece in components(graph.adj, by_community[community]):
            kind = majority_kind([units[i] for i in piece])
            lo, target, hi, pmax = policy.block_range(kind)
            bounds = Bounds(lo, hi, pmax)
            households = float(data.households[piece].sum())
            if households < lo:
                pieces.append(([list(piece)], [], True))
                continue
            split = split_forced(graph.adj, piece, data.households, bounds)
            forced = [f.members for f in split.forced]
            forced_count += len(forced)
            mine: list[int] = []
            for nodes in split.rest:
                hh = float(data.households[list(nodes)].sum())
                pop = float(data.population[list(nodes)].sum())
                k = min(choose_k(hh, pop, target, bounds), len(nodes))
                low, high = k_range(hh, pop, bounds)
                others = [x for x in (k + 1, k - 1) if max(low, 1) <= x <= min(high, len(nodes))]
                key = zlib.crc32(min(units[i].code for i in nodes).encode())
                mine.append(len(parts))
                fits = low <= high
                parts.append(_Part(list(nodes), k, others if fits else [], fits, bounds, key))
            pieces.append((forced, mine, False))
    best, figures = _several_starts(graph, data, parts, policy.search_seconds, seed, search)
    blocks: list[list[int]] = []
    islands: list[int] = []
    starts: dict[str, int] = {}
    for forced, mine, island in pieces:
        if island:
            islands.append(len(blocks))
        blocks += forced
        for p in mine:
            blocks += best[p][0].regions
            for i in parts[p].nodes:
                starts[units[i].code] = best[p][1]
    figures["forced_blocks"] = forced_count
    notes: list[Violation] = []
    if policy.island_policy == "merge":
        blocks, notes = _merge_islands(units, graph, blocks, islands)
    return blocks, notes, figures, starts


def _several_starts(
    graph: Graph,
    data: _Arrays,
    parts: Sequence[_Part],
    seconds: float,
    seed: int,
    search: Search,
) -> tuple[list[tuple[Scored, int]], dict[str, Any]]:
    """Partition every part with as many starts as the budget buys; keep each part's best.

    Start j of a part draws from SeedSequence(seed, spawn_key=(part key, j)), so a part's result
    depends on the seed, the budget and its own data, never on the order of the parts. Every
    part has one start; the budget, `seconds` / SECONDS_PER_WORK units of work, buys further
    starts, each costing the work of the part's first start: first for the parts whose first
    start left households outside the range or people above the ceiling where some number of
    blocks fits (their further starts also try one block more or fewer where that count fits
    too), up to MAX_STARTS in all, then for all the others, up to POLISH_STARTS more each;
    within each group as many for every part as the budget allows, then one more for single
    parts, worst balanced first.
    A part's result is the start with the fewest households out of range, then the fewest
    people above the ceiling, then (for the same count of blocks; the first count wins a tie)
    the lowest objective.
    """

    failed_set: set[int] = set()

    def start(p: int, j: int) -> Scored:
        part = parts[p]
        choices = [part.k, *part.alternatives] if p in failed_set else [part.k]
        k = choices[j % len(choices)]
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(part.key, j)))
        return partition_scored(
            graph,
            part.nodes,
            k,
            data.workload,
            data.households,
            data.population,
            part.bounds,
            rng,
            search,
        )

    first = [start(p, 0) for p in range(len(parts))]
    budget = int(seconds / SECONDS_PER_WORK)
    left = budget
    # A part of one block with no other count to try gives the same result from any seed.
    varies = [p for p in range(len(parts)) if first[p].k > 1 or parts[p].alternatives]
    # A part no number of blocks can hold stays out of range whatever the start: not a failure.
    failed = [
        p
        for p in varies
        if parts[p].feasible and (first[p].outside > 0 or first[p].over_ceiling > 0)
    ]
    failed_set.update(failed)
    others = [p for p in varies if p not in failed_set]
    extra = [0] * len(parts)
    for group, cap in ((failed, MAX_STARTS - 1), (others, POLISH_STARTS)):
        cost = sum(first[p].work for p in group)
        if cost <= 0 or left <= 0:
            continue
        more = min(cap, left // cost)
        for p in group:
            extra[p] = more
        left -= more * cost
        # Too little left for another start of every part: one more for single parts, the
        # worst balanced first (highest objective per block), while the budget lasts.
        worst = sorted(group, key=lambda p: (-first[p].objective / first[p].k, parts[p].key, p))
        for p in worst:
            if extra[p] < cap and first[p].work <= left:
                extra[p] += 1
                left -= first[p].work
    best: list[tuple[Scored, int]] = []
    work = 0
    for p in range(len(parts)):
        results = [first[p]] + [start(p, j) for j in range(1, 1 + extra[p])]
        work += sum(r.work for r in results)
        k0 = parts[p].k

        def rank(j: int, results: list[Scored] = results, k0: int = k0) -> tuple[Any, ...]:
            r = results[j]
            outside, over, objective = r.key()
            return (outside, over, r.k != k0, objective if r.k == k0 else 0.0, j)

        chosen = min(range(len(results)), key=rank)
        best.append((results[chosen], len(results)))
    distribution: dict[str, int] = defaultdict(int)
    for _, n in best:
        distribution[str(n)] += 1
    figures: dict[str, Any] = {
        "method": "divide",
        "budget_seconds": seconds,
        "seconds_per_work": SECONDS_PER_WORK,
        "budget_work": budget,
        "work": work,
        "pieces": len(parts),
        "pieces_failed_first": len(failed),
        "starts": sum(n for _, n in best),
        "max_starts": MAX_STARTS,
        "starts_per_piece": dict(sorted(distribution.items(), key=lambda x: int(x[0]))),
        "objective_first": sum(r.objective for r in first),
        "objective_best": sum(r.objective for r, _ in best),
        "outside_first": sum(r.outside for r in first),
        "outside_best": sum(r.outside for r, _ in best),
        "pieces_improved": sum(1 for p, (r, _) in enumerate(best) if r is not first[p]),
        "other_count_kept": sum(1 for p, (r, _) in enumerate(best) if r.k != parts[p].k),
    }
    return best, figures


def _merge_islands(
    units: Sequence[BaseUnit], graph: Graph, blocks: list[list[int]], islands: list[int]
) -> tuple[list[list[int]], list[Violation]]:
    """Merge each too-small community piece into the neighbouring block sharing most boundary."""
    owner = {u: b for b, members in enumerate(blocks) for u in members}
    island_set = set(islands)
    notes: list[Violation] = []
    for b in islands:
        shared: dict[int, float] = defaultdict(float)
        for u in blocks[b]:
            for v, length in graph.adj[u].items():
                if owner[v] != b and owner[v] not in island_set:
                    shared[owner[v]] += length
        if not shared:
            continue
        into = max(sorted(shared), key=lambda x: shared[x])
        codes = tuple(units[u].code for u in blocks[b])
        households = sum(units[u].households for u in blocks[b])
        anchor = units[blocks[into][0]].code  # named by a unit: block ids come later
        message = (
            f"community {units[blocks[b][0]].community} has an island of {households} households "
            f"that cannot form a block: merged with block {{block:{anchor}}}"
        )
        ids = (f"{{block:{anchor}}}", *codes)
        notes.append(Violation("island_merged", message, ids, "block", cause="data"))
        for u in blocks[b]:
            owner[u] = into
        blocks[into] = sorted(blocks[into] + blocks[b])
        blocks[b] = []
    return [b for b in blocks if b], notes


def _majority_community(units: Sequence[BaseUnit], members: Sequence[int]) -> str:
    totals: dict[str, int] = defaultdict(int)
    for i in members:
        totals[units[i].community] += units[i].households
    return max(sorted(totals), key=lambda c: totals[c])


def _flatten(groups: Sequence[Sequence[int]], picks: Sequence[int]) -> list[int]:
    return [u for g in picks for u in groups[g]]


def _group_level(
    graph: Graph,
    data: _Arrays,
    community: Sequence[str] | None,
    count: int,
    policy: Policy,
    rng: np.random.Generator,
) -> list[list[int]]:
    """Group nodes (blocks or sectors) into `count` contiguous regions of balanced workload.

    With `community` given, regions stay inside one community. The count is shared among the
    connected pieces in proportion to their workload, at least one region each.
    """
    if community is None:
        pieces = components(graph.adj, range(graph.n))
    else:
        by: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(community):
            by[c].append(i)
        pieces = [p for c in sorted(by) for p in components(graph.adj, by[c])]
    shares = _allocate(
        max(1, count), [float(data.workload[p].sum()) for p in pieces], [len(p) for p in pieces]
    )
    regions: list[list[int]] = []
    for piece, k in zip(pieces, shares, strict=True):
        regions += partition(
            graph,
            piece,
            k,
            data.workload,
            data.households,
            data.population,
            Bounds(),
            rng,
            _search(policy),
        )
    return regions


def _allocate(total: int, weights: Sequence[float], caps: Sequence[int]) -> list[int]:
    """Split `total` regions among pieces by weight (largest remainder), 1 ≤ share ≤ cap."""
    n = len(weights)
    if n == 0:
        return []
    mass = sum(weights) or 1.0
    exact = [total * w / mass if sum(weights) else total / n for w in weights]
    shares = [max(1, min(cap, math.floor(e))) for e, cap in zip(exact, caps, strict=True)]
    order = sorted(range(n), key=lambda i: (-(exact[i] - math.floor(exact[i])), i))
    spare = total - sum(shares)
    for i in order * 2:
        if spare <= 0:
            break
        if shares[i] < caps[i]:
            shares[i] += 1
            spare -= 1
    return shares


def _clusters(
    graph: Graph, data: _Arrays, block: Sequence[int], policy: Policy, rng: np.random.Generator
) -> list[list[int]]:
    """Clusters of a block: atomic big units alone; small adjacent units grouped to 10-50."""
    hi = policy.cluster_households_max
    atomic = [[u] for u in block if data.households[u] > hi]
    small = [u for u in block if data.households[u] <= hi]
    bounds = Bounds(policy.cluster_households_min, hi)
    grouped: list[list[int]] = []
    for piece in components(graph.adj, small):
        households = float(data.households[piece].sum())
        k = choose_k(households, 0.0, policy.cluster_households_target, bounds)
        # Clusters balance households, not workload: a cluster is a walkable patch of homes.
        grouped += partition(
            graph,
            piece,
            k,
            data.households,
            data.households,
            data.population,
            bounds,
            rng,
            _search(policy),
        )
    return _absorb_crumbs(graph, data, atomic + grouped, policy.cluster_households_min)


def _absorb_crumbs(
    graph: Graph, data: _Arrays, clusters: list[list[int]], minimum: int
) -> list[list[int]]:
    """Merge a cluster below the minimum into its lightest adjacent cluster of the same block."""
    owner = {u: c for c, members in enumerate(clusters) for u in members}
    for c in range(len(clusters)):
        members = clusters[c]
        if not members or data.households[members].sum() >= minimum:
            continue
        neighbours = {owner[v] for u in members for v in graph.adj[u] if v in owner} - {c}
        neighbours = {n for n in neighbours if clusters[n]}
        if not neighbours:
            continue
        into = min(sorted(neighbours), key=lambda n: data.households[clusters[n]].sum())
        for u in members:
            owner[u] = into
        clusters[into] = clusters[into] + members
        clusters[c] = []
    return [sorted(c) for c in clusters if c]


def _reading_order(graph: Graph, groups: Sequence[Sequence[int]]) -> list[int]:
    """Order groups north to south, then west to east, by their area-weighted centre."""

    def key(i: int) -> tuple[float, float, int]:
        idx = list(groups[i])
        weights = graph.area[idx]
        if weights.sum() > 0:
            x, y = (graph.xy[idx] * weights[:, None]).sum(axis=0) / weights.sum()
        else:
            x, y = graph.xy[idx].mean(axis=0)
        return (-round(float(y), 6), round(float(x), 6), i)

    return sorted(range(len(groups)), key=key)


def _label(prefix: str, letter: str, i: int, count: int) -> str:
    width = max(2, len(str(count)))
    return f"{prefix}{'-' if prefix else ''}{letter}{i + 1:0{width}d}"


def _name(
    units: Sequence[BaseUnit],
    graph: Graph,
    blocks: list[list[int]],
    sectors: list[list[int]],
    districts: list[list[int]],
    clusters: list[list[list[int]]],
) -> dict[str, str]:
    """Unit code → readable hierarchical cluster id, numbered in reading order at each level."""
    assignment: dict[str, str] = {}
    district_units = [_flatten(blocks, _flatten(sectors, d)) for d in districts]
    for di, d in enumerate(_reading_order(graph, district_units)):
        did = _label("", "D", di, len(districts))
        sector_units = [_flatten(blocks, sectors[s]) for s in districts[d]]
        for si, s_pos in enumerate(_reading_order(graph, sector_units)):
            sid = _label(did, "S", si, len(districts[d]))
            block_ids = sectors[districts[d][s_pos]]
            for bi, b_pos in enumerate(_reading_order(graph, [blocks[b] for b in block_ids])):
                block = block_ids[b_pos]
                bid = _label(sid, "B", bi, len(block_ids))
                for ci, c_pos in enumerate(_reading_order(graph, clusters[block])):
                    cid = _label(bid, "C", ci, len(clusters[block]))
                    for u in clusters[block][c_pos]:
                        assignment[units[u].code] = cid
    return assignment


def _rename(note: Violation, assignment: dict[str, str]) -> Violation:
    """Replace '{block:UNIT}' placeholders with the final id of the block holding UNIT."""

    def block_id(match: re.Match[str]) -> str:
        return level_ids(assignment[match.group(1)])["block"]

    pattern = re.compile(r"\{block:([^}]+)\}")
    return dataclasses.replace(
        note,
        message=pattern.sub(block_id, note.message),
        ids=tuple(pattern.sub(block_id, i) for i in note.ids),
    )


def _by_level(clusters: dict[str, str]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {level: {} for level in LEVELS}
    for code, cid in clusters.items():
        for level, rid in level_ids(cid).items():
            result[level][code] = rid
    return result


def _cluster_for(
    units: Sequence[BaseUnit],
    graph: Graph,
    clusters: dict[str, str],
    unit_code: str,
    target_block: str,
    policy: Policy,
) -> str:
    """The cluster a moved unit joins in its new block (see `move_unit`)."""
    index = {u.code: i for i, u in enumerate(units)}
    households: dict[str, int] = defaultdict(int)
    for code, cid in clusters.items():
        if code != unit_code and cid.startswith(target_block + "-"):
            households[cid] += units[index[code]].households
    moving = units[index[unit_code]].households
    adjacent = {clusters[units[v].code] for v in graph.adj[index[unit_code]]} & set(households)
    fits = [c for c in sorted(adjacent) if households[c] + moving <= policy.cluster_households_max]
    if fits and moving <= policy.cluster_households_max:
        return min(fits, key=lambda c: households[c])
    numbers = [int(c.rsplit("-C", 1)[1]) for c in households if c.rsplit("-C", 1)[1].isdigit()]
    return _label(target_block, "C", max(numbers, default=0), max(numbers, default=0) + 1)
