"""When a station's grids change, what follows them.

Applying a plan writes a new grid version, then its lineage (each new grid with the old grids
of its level it overlaps, and by how much: ``GridLineage``), then calls the **followers** that
other apps registered, in the same transaction: each re-places its own records in bulk (people's
assignments today; incidents, disputes, places and patrol areas next). Territory imports none
of them: an app registers from its ``AppConfig.ready()``::

    from jingwang.territory import lineage
    lineage.register("people.assignments", carry_assignments)

A follower is ``follower(actor, old_version, new_version, lineage) -> dict`` (figures for the
audit event of the plan: what moved, what needs review). Records with a point are better placed
again by the point (``jingwang.territory.index``); records tied to a grid use ``Lineage.best``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shapely

from jingwang.core import bulk
from jingwang.territory.models import Grid, GridLineage, GridVersion

# A new grid "keeps the ground" of an old one when their shapes overlap this much (IoU): what
# was tied to the old grid follows; below it, it is listed for review.
KEEPS_GROUND = 0.9
# Slivers below this share of both grids are rounding along shared borders, not lineage.
SLIVER = 1e-6

Follower = Callable[[Any, GridVersion, GridVersion, "Lineage"], dict[str, Any]]
_followers: dict[str, Follower] = {}


def register(name: str, follower: Follower) -> None:
    """Call ``follower`` whenever a station gets a new grid version (see the module's doc)."""
    _followers[name] = follower


def followers() -> dict[str, Follower]:
    return dict(_followers)


@dataclass
class Lineage:
    """The overlaps between an old version's grids and a new version's, level by level."""

    rows: list[GridLineage] = field(default_factory=list)
    _by_old: dict[int, list[GridLineage]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_old: dict[int, list[GridLineage]] = defaultdict(list)
        for row in self.rows:
            by_old[row.old_grid_id].append(row)
        self._by_old = dict(by_old)

    def successors(self, old_grid_id: int) -> list[GridLineage]:
        return list(self._by_old.get(old_grid_id, []))

    def best(self, old_grid_id: int) -> tuple[int | None, float]:
        """The new grid (of the same level) covering most of an old grid's ground, and the IoU."""
        best: GridLineage | None = None
        for row in self._by_old.get(old_grid_id, []):
            if best is None or row.overlap > best.overlap:
                best = row
        return (best.new_grid_id, best.overlap) if best is not None else (None, 0.0)


def measure(old: list[Grid], new: list[Grid]) -> list[GridLineage]:
    """The overlapping pairs of grids of the same level (unsaved rows)."""
    rows: list[GridLineage] = []
    for level in Grid.LEVEL_ORDER:
        olds = [grid for grid in old if grid.level == level]
        news = [grid for grid in new if grid.level == level]
        if not olds or not news:
            continue
        new_shapes = [grid.geometry for grid in news]
        tree = shapely.STRtree(new_shapes)
        new_areas = shapely.area(new_shapes)
        for grid in olds:
            shape = grid.geometry
            area = shape.area
            hits = tree.query(shape, predicate="intersects")
            if not len(hits) or not area:
                continue
            common = shapely.area(shapely.intersection(shape, [new_shapes[i] for i in hits]))
            for i, inter in zip(hits, common, strict=True):
                of_old, of_new = inter / area, inter / new_areas[i] if new_areas[i] else 0.0
                if of_old > SLIVER or of_new > SLIVER:
                    rows.append(
                        GridLineage(
                            new_grid_id=news[int(i)].pk,
                            old_grid_id=grid.pk,
                            share_of_new=round(float(of_new), 6),
                            share_of_old=round(float(of_old), 6),
                        )
                    )
    return rows


def write_lineage(old: GridVersion, new: GridVersion) -> Lineage:
    """Measure and store the lineage of ``new`` from ``old`` (in the caller's transaction)."""
    fields = ("id", "level", "geometry_wkt")
    rows = measure(
        list(Grid.objects.filter(version=old).only(*fields)),
        list(Grid.objects.filter(version=new).only(*fields)),
    )
    bulk.create(GridLineage, rows)  # one INSERT, whatever the number of grids
    return Lineage(rows)


def follow(actor: Any, old: GridVersion, new: GridVersion) -> dict[str, dict[str, Any]]:
    """Write the lineage and call every follower; their figures, by follower name."""
    found = write_lineage(old, new)
    return {name: follower(actor, old, new, found) for name, follower in sorted(_followers.items())}
