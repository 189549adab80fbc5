"""Between the database and the division engine (``jingwang.lib.division``).

Reads a station's base units for the engine, measures the current grids the same way a
proposal is measured, rebuilds a Plan from its stored JSON, and turns a plan into Grid rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import shapely
from django.utils import timezone

from jingwang.core import bulk
from jingwang.lib import division
from jingwang.lib.division.measures import level_ids
from jingwang.lib.division.model import DataReport
from jingwang.lib.geo import map_shape
from jingwang.lib.locate import GridIndex
from jingwang.lib.numbers import cn_number
from jingwang.territory.models import BaseUnit, Community, Grid, GridVersion, Station

LEVELS = list(division.LEVELS)  # district, sector, block, cluster


def station_units(station: Station) -> tuple[list[BaseUnit], list[division.BaseUnit]]:
    """The station's base units with polygons, as rows and as engine units in metres."""
    rows = [
        unit
        for unit in BaseUnit.objects.filter(station=station)
        .select_related("community")
        .order_by("code")
        if unit.geometry.geom_type in {"Polygon", "MultiPolygon"}
    ]
    units = [
        division.BaseUnit(
            code=unit.code,
            community=unit.community.code,
            kind=unit.kind,
            households=unit.households,
            population=unit.population,
            complexity=unit.complexity,
            geometry=unit.geometry,
        )
        for unit in rows
    ]
    return rows, division.project_lonlat(units)


def plan_to_json(
    plan: division.Plan,
    current: dict[str, Any] | None,
    rows: Sequence[BaseUnit],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a proposal keeps: the cluster of each unit (every level follows from the ids), the
    notes of the engine, and what its page shows without re-measuring: the measures, the
    violations, the blocks with their map shapes, and the current grids' measures it was
    compared with. ``previous`` (the plan before a hand edit) lends the shapes of the blocks
    whose units did not change."""
    blocks = [region.to_dict() for region in plan.regions("block")]
    stored: dict[str, Any] = {
        "seed": plan.seed,
        "policy": plan.policy.to_dict(),
        "clusters": dict(plan.assignment["cluster"]),
        "notes": [note.to_dict() for note in plan.notes],
        "measures": plan.measures,
        "violations": [violation.to_dict() for violation in plan.violations],
        "blocks": blocks,
        "shapes": block_shapes(blocks, rows, previous),
        "current": current,
        # What the engine's input checks found, how its search went, what it kept of the
        # current grids (docs/division.md); a hand edit keeps the checks and the search.
        "data": plan.data.to_dict() if plan.data is not None else None,
        "search": dict(plan.search),
        "kept": plan.kept,
    }
    if previous:
        if stored["data"] is None:
            stored["data"] = previous.get("data")
        if not stored["search"]:
            stored["search"] = previous.get("search") or {}
        for key in ("mode", "fresh", "records_since"):
            if key in previous:
                stored[key] = previous[key]
    return stored


def block_shapes(
    blocks: list[dict[str, Any]],
    rows: Sequence[BaseUnit],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Each block's shape as maps draw it (GeoJSON), keyed by block id."""
    kept: dict[str, tuple[list[str], Any]] = {}
    if previous:
        old_units = {block["id"]: sorted(block["units"]) for block in previous.get("blocks", [])}
        for block_id, shape in previous.get("shapes", {}).items():
            if block_id in old_units:
                kept[block_id] = (old_units[block_id], shape)
    by_code = {unit.code: unit for unit in rows}
    shapes: dict[str, Any] = {}
    for block in blocks:
        units = sorted(block["units"])
        if block["id"] in kept and kept[block["id"]][0] == units:
            shapes[block["id"]] = kept[block["id"]][1]
            continue
        parts = [by_code[code].geometry for code in units if code in by_code]
        if parts:
            shapes[block["id"]] = json.loads(map_shape(shapely.union_all(parts)))
    return shapes


def compare_current(
    station: Station,
    rows: Sequence[BaseUnit],
    units: Sequence[division.BaseUnit],
    policy: division.Policy,
    located: CurrentGrids | None = None,
) -> dict[str, Any] | None:
    """The current grids measured like a proposal, stamped with their version (``located``:
    where the units lie in them, when the caller has it already)."""
    version = station.current_version()
    evaluation = measure_current(station, rows, units, policy, located=located)
    if version is None or evaluation is None:
        return None
    return {
        "version": version.pk,
        "blocks": evaluation.measures["levels"]["block"],
        "violations": len(evaluation.violations),
    }


def plan_from_json(data: dict[str, Any], units: Sequence[division.BaseUnit]) -> division.Plan:
    """A Plan again, re-measured from the stored clusters."""
    policy = division.Policy.from_dict(data["policy"])
    clusters = data["clusters"]
    assignment: dict[str, dict[str, str]] = {level: {} for level in LEVELS}
    for code, cluster in clusters.items():
        for level, region in level_ids(cluster).items():
            assignment[level][code] = region
    notes = [_violation(n) for n in data.get("notes", [])]
    return division.Plan(
        assignment=assignment,
        policy=policy,
        seed=data["seed"],
        evaluation=division.evaluate(units, clusters, policy),
        notes=notes,
        data=data_report(data.get("data")),
        search=dict(data.get("search") or {}),
        kept=data.get("kept"),
    )


def _violation(item: dict[str, Any]) -> division.Violation:
    return division.Violation(
        item["code"], item["message"], tuple(item["ids"]), item.get("level"), item.get("cause")
    )


def data_report(data: dict[str, Any] | None) -> DataReport | None:
    """The engine's input checks again from their stored dict (None for an older proposal)."""
    if not data:
        return None
    return DataReport(
        units=int(data.get("units", 0)),
        isolated=tuple(data.get("isolated", ())),
        gaps=int(data.get("gaps", 0)),
        overlaps=int(data.get("overlaps", 0)),
        repaired=tuple(data.get("repaired", ())),
        refused=tuple((str(code), str(reason)) for code, reason in data.get("refused", ())),
        suggested_tolerance_m=data.get("suggested_tolerance_m"),
        looks_broken=bool(data.get("looks_broken")),
        findings=tuple(_violation(f) for f in data.get("findings", ())),
    )


def current_assignment(station: Station, rows: Sequence[BaseUnit]) -> dict[str, str] | None:
    """Base unit code → cluster id ("D01-S02-B03-C04") under the station's current grids.

    Each unit goes to the finest current grid holding a point inside it; ids are numbered in
    code order at each level. None when the current grids do not have all four levels.
    """
    located = locate_current(station, rows)
    return located.clusters if located is not None else None


def has_full_grids(station: Station) -> bool:
    """The station's current grids have all four levels (what a re-division starts from)."""
    version = station.current_version()
    if version is None:
        return False
    levels = set(Grid.objects.filter(version=version).values_list("level", flat=True).distinct())
    return levels == set(LEVELS)


@dataclass
class CurrentGrids:
    """Where the station's base units lie in its current grids."""

    version: GridVersion
    clusters: dict[str, str]  # unit code → cluster id, as current_assignment
    grids: dict[str, dict[str, int]]  # unit code → level → Grid id

    def blocks(self) -> dict[str, str]:
        """Unit code → block id ("D01-S02-B03")."""
        return {code: cluster.rsplit("-", 1)[0] for code, cluster in self.clusters.items()}


def locate_current(station: Station, rows: Sequence[BaseUnit]) -> CurrentGrids | None:
    """The current grids of each base unit (see ``current_assignment``); None as it says."""
    version = station.current_version()
    if version is None:
        return None
    grids = {grid.id: grid for grid in Grid.objects.filter(version=version).defer("geometry_wkt")}
    if {grid.level for grid in grids.values()} != set(LEVELS):
        return None
    leaves = [g for g in Grid.objects.filter(version=version, level="cluster").order_by("code")]
    index = GridIndex([g.geometry for g in leaves], list(range(len(leaves))))
    labels: dict[int, str] = {}
    for level, letter in zip(LEVELS, "DSBC", strict=True):
        siblings: dict[int | None, list[Grid]] = defaultdict(list)
        for grid in grids.values():
            if grid.level == level:
                siblings[grid.parent_id].append(grid)
        for group in siblings.values():
            for i, grid in enumerate(sorted(group, key=lambda g: g.code)):
                labels[grid.id] = f"{letter}{i + 1:03d}"
    assignment: dict[str, str] = {}
    ids: dict[str, dict[str, int]] = {}
    for unit in rows:
        point = unit.geometry.point_on_surface()
        key = index.locate(point.x, point.y)
        if key is None:
            continue
        chain: list[str] = []
        path: dict[str, int] = {}
        node: Grid | None = grids[leaves[key].id]
        while node is not None:
            chain.append(labels[node.id])
            path[node.level] = node.id
            node = grids.get(node.parent_id) if node.parent_id else None
        if len(chain) == len(LEVELS):
            assignment[unit.code] = "-".join(reversed(chain))
            ids[unit.code] = path
    return CurrentGrids(version, assignment, ids)


# ---------------------------------------------------------------------------------------------
# What a proposal keeps of the current grids: units, households and people (``continuity``),
# and what follows the grids: the people assigned to a block or cluster and the placed records.

# Records counted: those entered in the last this many days.
RECORDS_DAYS = 365


@dataclass
class Followers:
    """The people and records tied to the current blocks and clusters, read once."""

    people: dict[int, set[int]]  # person id → the current block/cluster grids they work on
    records: list[tuple[str | None, int]]  # (base unit holding the point, or None; grid id)
    since: str  # the first day of the records counted (ISO date)


def followers_of(station: Station, rows: Sequence[BaseUnit], located: CurrentGrids) -> Followers:
    """One query for the assignments, one per placed model (``placement.placed_models``)."""
    from jingwang.people.models import GridAssignment  # people follows territory, not the reverse
    from jingwang.territory.placement import placed_models

    people: dict[int, set[int]] = defaultdict(set)
    for person, grid in GridAssignment.objects.filter(
        grid__version=located.version, grid__level__in=("block", "cluster"), ended_at__isnull=True
    ).values_list("person_id", "grid_id"):
        people[person].add(grid)
    since = timezone.now() - timedelta(days=RECORDS_DAYS)
    shapes = [unit.geometry for unit in rows]
    tree = shapely.STRtree(shapes) if shapes else None
    records: list[tuple[str | None, int]] = []
    for model in placed_models().values():
        found = list(
            model.objects.filter(  # type: ignore[attr-defined]
                station=station, grid__isnull=False, created_at__gte=since
            ).values_list("lon", "lat", "grid_id")
        )
        units: list[str | None] = [None] * len(found)
        pointed = [
            i for i, (lon, lat, _grid) in enumerate(found) if lon is not None and lat is not None
        ]
        if tree is not None and pointed:
            points = shapely.points([(found[i][0], found[i][1]) for i in pointed])
            hits = tree.query(points, predicate="intersects")
            for point_i, shape_i in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
                slot = pointed[point_i]
                if units[slot] is None:
                    units[slot] = rows[shape_i].code
        records.extend((unit, row[2]) for unit, row in zip(units, found, strict=True))
    return Followers(dict(people), records, timezone.localdate(since).isoformat())


def kept_figures(
    units: Sequence[division.BaseUnit],
    located: CurrentGrids,
    followers: Followers,
    after: Mapping[str, str],
) -> dict[str, Any]:
    """``division.continuity`` of the current blocks and ``after`` (unit code → block id), with
    the people and records on ground that keeps its block: ``people``/``people_kept`` (people
    assigned to a current block or cluster, kept when every base unit of each of their grids
    keeps its block: they follow it when the plan is applied) and ``records``/``records_kept``
    (records placed in the last year, kept when the base unit under their point, or else their
    grid's ground, keeps its block)."""
    figures = division.continuity(units, located.blocks(), after)
    moved = set(figures["moved"])
    codes = {unit.code for unit in units}
    kept_units = {c for c in located.clusters if c in after and c in codes and c not in moved}
    ground: dict[int, bool] = {}
    for code, path in located.grids.items():
        for level in ("block", "cluster"):
            grid = path.get(level)
            if grid is not None:
                ground[grid] = ground.get(grid, True) and code in kept_units
    figures["people"] = len(followers.people)
    figures["people_kept"] = sum(
        all(ground.get(grid, False) for grid in grids) for grids in followers.people.values()
    )
    figures["records"] = len(followers.records)
    figures["records_kept"] = sum(
        (unit in kept_units) if unit is not None else ground.get(grid, False)
        for unit, grid in followers.records
    )
    return figures


def measure_current(
    station: Station,
    rows: Sequence[BaseUnit],
    units: Sequence[division.BaseUnit],
    policy: division.Policy,
    located: CurrentGrids | None = None,
) -> division.Evaluation | None:
    assignment = located.clusters if located is not None else current_assignment(station, rows)
    if not assignment:
        return None
    return division.evaluate(units, assignment, policy)


def build_grids(
    station: Station, version: GridVersion, plan: division.Plan, rows: Sequence[BaseUnit]
) -> dict[str, Grid]:
    """Create the Grid rows of ``plan`` in ``version``: region id → Grid, parents first, one
    bulk insert per level."""
    by_code = {unit.code: unit for unit in rows}
    communities = {c.code: c for c in Community.objects.filter(station=station)}
    created: dict[str, Grid] = {}
    counters: Counter[tuple[str, str]] = Counter()
    for level in LEVELS:
        members: dict[str, list[BaseUnit]] = defaultdict(list)
        for code, region in plan.assignment[level].items():
            if code in by_code:
                members[region].append(by_code[code])
        batch: list[tuple[str, Grid]] = []
        for region in sorted(members):
            units = members[region]
            parent = created.get(region.rsplit("-", 1)[0]) if "-" in region else None
            households = sum(u.households for u in units)
            majority = Counter(u.community.code for u in units).most_common(1)[0][0]
            community = communities[majority]
            grid = Grid(
                station=station,
                version=version,
                parent=parent,
                community=None if level == "district" else community,
                level=level,
                code=f"{station.code}-{region}",
                name=_name(level, region, community, parent, counters),
                households=households,
                population=sum(u.population for u in units),
                complexity=(
                    sum(u.complexity * u.households for u in units) / households
                    if households
                    else 0.0
                ),
            )
            grid.set_geometry(shapely.union_all([u.geometry for u in units]).buffer(0))
            batch.append((region, grid))
        bulk.create(Grid, [grid for _region, grid in batch])  # one INSERT per level
        created.update(batch)
    return created


def _name(
    level: str, region: str, community: Community, parent: Grid | None, counters: Counter
) -> str:
    if level == "district":
        return f"第{cn_number(int(region[1:]))}区"
    if level == "cluster":
        return f"{parent.name if parent else ''}第{cn_number(int(region.rsplit('C', 1)[1]))}群"
    suffix = "片" if level == "sector" else "组"
    counters[(level, community.code)] += 1
    return f"{community.name}{cn_number(counters[(level, community.code)])}{suffix}"
