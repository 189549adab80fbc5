"""The division engine: base units → blocks → sectors → districts, and clusters inside blocks."""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from .graph import Graph, components, quotient, unit_graph
from .measures import evaluate, level_ids, majority_kind
from .model import KINDS, LEVELS, BaseUnit, Plan, Policy, Violation
from .partition import Bounds, Search, choose_k, partition


def divide(units: Sequence[BaseUnit], policy: Policy, seed: int = 0) -> Plan:
    """Divide base units into a four-level plan. Deterministic for a given seed.

    Blocks never cross a community boundary and every region at every level is contiguous
    (rook adjacency) within its community piece; what cannot be met is reported in
    `plan.violations`, never raised.
    """
    policy.validate()
    units = list(units)
    _validate_units(units)
    rng = np.random.default_rng(seed)
    graph = unit_graph([u.geometry for u in units])
    data = _Arrays.of_units(units, policy)
    blocks, notes = _blocks(units, graph, data, policy, rng)
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
    evaluation = evaluate(units, assignment, policy, graph=graph)
    notes = [_rename(n, assignment) for n in notes]
    return Plan(
        assignment=_by_level(assignment),
        policy=policy,
        seed=seed,
        evaluation=evaluation,
        notes=notes,
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
    graph = unit_graph([u.geometry for u in units])
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


def _validate_units(units: Sequence[BaseUnit]) -> None:
    seen: set[str] = set()
    for u in units:
        if u.code in seen:
            raise ValueError(f"units: duplicate unit code {u.code}")
        seen.add(u.code)
        if u.kind not in KINDS:
            raise ValueError(f"{u.code}: kind must be one of {', '.join(KINDS)}")
        if u.households < 0 or u.population < 0:
            raise ValueError(f"{u.code}: households and population must not be negative")
        if not math.isfinite(u.complexity) or u.complexity < 0:
            raise ValueError(f"{u.code}: complexity must be a non-negative number")
        if u.geometry is None or u.geometry.is_empty or u.geometry.area <= 0:
            raise ValueError(f"{u.code}: geometry must be a non-empty polygon")


def _blocks(
    units: Sequence[BaseUnit],
    graph: Graph,
    data: _Arrays,
    policy: Policy,
    rng: np.random.Generator,
) -> tuple[list[list[int]], list[Violation]]:
    """Blocks per connected piece of each community, sized by the piece's majority kind."""
    by_community: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_community[u.community].append(i)
    blocks: list[list[int]] = []
    islands: list[int] = []
    for community in sorted(by_community):
        for piece in components(graph.adj, by_community[community]):
            kind = majority_kind([units[i] for i in piece])
            lo, target, hi, pmax = policy.block_range(kind)
            bounds = Bounds(lo, hi, pmax)
            households = float(data.households[piece].sum())
            k = choose_k(households, float(data.population[piece].sum()), target, bounds)
            if households < lo:
                islands.append(len(blocks))
            blocks += partition(
                graph,
                piece,
                k,
                data.workload,
                data.households,
                data.population,
                bounds,
                rng,
                _search(policy),
            )
    notes: list[Violation] = []
    if policy.island_policy == "merge":
        blocks, notes = _merge_islands(units, graph, blocks, islands)
    return blocks, notes


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
        notes.append(Violation("island_merged", message, (f"{{block:{anchor}}}", *codes), "block"))
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
    return Violation(
        note.code,
        pattern.sub(block_id, note.message),
        tuple(pattern.sub(block_id, i) for i in note.ids),
        note.level,
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
