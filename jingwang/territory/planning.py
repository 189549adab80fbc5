"""Between the database and the division engine (``jingwang.lib.division``).

Reads a station's base units for the engine, measures the current grids the same way a
proposal is measured, rebuilds a Plan from its stored JSON, and turns a plan into Grid rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import shapely

from jingwang.lib import division
from jingwang.lib.division.measures import level_ids
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
    return {
        "seed": plan.seed,
        "policy": plan.policy.to_dict(),
        "clusters": dict(plan.assignment["cluster"]),
        "notes": [note.to_dict() for note in plan.notes],
        "measures": plan.measures,
        "violations": [violation.to_dict() for violation in plan.violations],
        "blocks": blocks,
        "shapes": block_shapes(blocks, rows, previous),
        "current": current,
    }


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
) -> dict[str, Any] | None:
    """The current grids measured like a proposal, stamped with their version."""
    version = station.current_version()
    evaluation = measure_current(station, rows, units, policy)
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
    notes = [
        division.Violation(n["code"], n["message"], tuple(n["ids"]), n.get("level"))
        for n in data.get("notes", [])
    ]
    return division.Plan(
        assignment=assignment,
        policy=policy,
        seed=data["seed"],
        evaluation=division.evaluate(units, clusters, policy),
        notes=notes,
    )


def current_assignment(station: Station, rows: Sequence[BaseUnit]) -> dict[str, str] | None:
    """Base unit code → cluster id ("D01-S02-B03-C04") under the station's current grids.

    Each unit goes to the finest current grid holding a point inside it; ids are numbered in
    code order at each level. None when the current grids do not have all four levels.
    """
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
    for unit in rows:
        point = unit.geometry.point_on_surface()
        key = index.locate(point.x, point.y)
        if key is None:
            continue
        chain: list[str] = []
        node: Grid | None = grids[leaves[key].id]
        while node is not None:
            chain.append(labels[node.id])
            node = grids.get(node.parent_id) if node.parent_id else None
        if len(chain) == len(LEVELS):
            assignment[unit.code] = "-".join(reversed(chain))
    return assignment


def measure_current(
    station: Station,
    rows: Sequence[BaseUnit],
    units: Sequence[division.BaseUnit],
    policy: division.Policy,
) -> division.Evaluation | None:
    assignment = current_assignment(station, rows)
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
        Grid.objects.bulk_create([grid for _region, grid in batch], batch_size=500)
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
