"""Seeded generators of messy base units, for the data-check tests, others' tests and bench.

Start from a clean set (`clean_county`: Voronoi cells that share their edges exactly, or any list
of units) and spoil it the way real data is spoiled: vertices off by millimetres (`jitter`),
polygons shrunk or grown (`scale`), gaps and overlaps around a few units (`gaps`, `overlaps`),
self-intersecting polygons (`twisted`, `bow_tie`), an exclave far from everything (`island`), a
unit above the block maximum (`oversized`) and a dead-end pocket behind it (`dead_end_pocket`).

Every function returns new units (the input is left alone) and is deterministic for its seed.
Coordinates are metres; the clean county lies in the square [0, side]², codes are "U00000"...
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import shapely

from jingwang.lib.division import BaseUnit


def clean_county(
    n: int,
    seed: int = 0,
    cell: float = 100.0,
    communities: int | None = None,
    households: tuple[int, int] = (20, 120),
) -> list[BaseUnit]:
    """n Voronoi cells of random points in a square of side sqrt(n) x `cell` metres.

    Neighbours share their edges exactly (three cells meet at a vertex, so no corner contacts).
    Communities are the cells nearest each of `communities` random centres (about n / 150, at
    least 2, by default); households are uniform in the range, population 3 per household,
    complexity in 0..1. Codes "U00000"... in reading order of the cells' centroids.
    """
    rng = np.random.default_rng(seed)
    side = math.sqrt(n) * cell
    box = shapely.box(0.0, 0.0, side, side)
    points = shapely.multipoints(rng.uniform(0.0, side, size=(n, 2)))
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(points, extend_to=box)), box
    )
    centroids = shapely.centroid(cells)
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    order = np.lexsort((xy[:, 0], -xy[:, 1]))
    cells, xy = cells[order], xy[order]
    m = communities or max(2, round(n / 150))
    centres = rng.uniform(0.0, side, size=(m, 2))
    owner = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    hh = rng.integers(households[0], households[1] + 1, size=len(cells))
    complexity = rng.random(len(cells))
    return [
        BaseUnit(
            code=f"U{i:05d}",
            community=f"C{owner[i]:02d}",
            kind="urban",
            households=int(hh[i]),
            population=int(hh[i]) * 3,
            complexity=float(complexity[i]),
            geometry=cells[i],
        )
        for i in range(len(cells))
    ]


def square_lattice(
    cols: int, rows: int, size: float = 100.0, households: int = 100, community: str = "C1"
) -> list[BaseUnit]:
    """cols x rows squares of `size` metres, codes "R<row>C<col>" (row 0 at the bottom).

    Diagonal cells touch at a corner only: they must never be neighbours.
    """
    return [
        BaseUnit(
            f"R{r}C{c}",
            community,
            "urban",
            households,
            households * 3,
            0.0,
            shapely.box(c * size, r * size, (c + 1) * size, (r + 1) * size),
        )
        for r in range(rows)
        for c in range(cols)
    ]


def checkerboard(cols: int, rows: int, size: float = 100.0) -> list[BaseUnit]:
    """The black squares of a cols x rows checkerboard: every unit touches others at corners
    only, so none has a neighbour, whatever the tolerance below the square's size / 4."""
    return [
        u
        for u in square_lattice(cols, rows, size)
        if (_row_col(u.code)[0] + _row_col(u.code)[1]) % 2 == 0
    ]


def _row_col(code: str) -> tuple[int, int]:
    row, col = code[1:].split("C")
    return int(row), int(col)


def jitter(units: Sequence[BaseUnit], metres: float, seed: int = 0) -> list[BaseUnit]:
    """Every vertex of every polygon moved on its own by up to `metres` in x and y (uniform).

    Neighbours drew their shared border from the same vertices; afterwards each has its own copy,
    a few millimetres off, as when polygons come from different exports. With `metres` far
    below the edge lengths the polygons stay valid; no two units share an edge any more.
    """
    rng = np.random.default_rng(seed)

    def ring(coords: Sequence[tuple[float, float]]) -> np.ndarray:
        open_ring = np.asarray(coords)[:-1]
        moved = open_ring + rng.uniform(-metres, metres, size=open_ring.shape)
        return np.vstack([moved, moved[:1]])  # closed again: last vertex = first

    def polygon(p: shapely.Polygon) -> shapely.Polygon:
        return shapely.Polygon(ring(p.exterior.coords), [ring(h.coords) for h in p.interiors])

    result = []
    for u in units:
        g = u.geometry
        moved = (
            shapely.MultiPolygon([polygon(p) for p in g.geoms])
            if isinstance(g, shapely.MultiPolygon)
            else polygon(g)
        )
        result.append(dataclasses.replace(u, geometry=moved))
    return result


def scale(units: Sequence[BaseUnit], factor: float) -> list[BaseUnit]:
    """Every polygon scaled about its own centroid: 0.99 shrinks each by 1% (gaps between all
    neighbours, widest at the vertices: about 1% of a cell's radius), 1.01 grows each (slight
    overlaps everywhere)."""
    result = []
    for u in units:
        centre = shapely.centroid(u.geometry)
        cx, cy = centre.x, centre.y
        geometry = shapely.transform(
            u.geometry, lambda xy, cx=cx, cy=cy: (xy - (cx, cy)) * factor + (cx, cy)
        )
        result.append(dataclasses.replace(u, geometry=geometry))
    return result


def gaps(
    units: Sequence[BaseUnit], count: int, width: float, seed: int = 0
) -> tuple[list[BaseUnit], list[str]]:
    """`count` random units shrunk inwards by `width` metres (a negative mitred buffer): a gap of
    that width opens along all their borders. Returns the units and the codes shrunk."""
    return _buffered(units, count, -width, seed)


def overlaps(
    units: Sequence[BaseUnit], count: int, width: float, seed: int = 0
) -> tuple[list[BaseUnit], list[str]]:
    """`count` random units grown outwards by `width` metres (a mitred buffer): each overlaps
    all its neighbours by that width. Returns the units and the codes grown."""
    return _buffered(units, count, width, seed)


def _buffered(
    units: Sequence[BaseUnit], count: int, distance: float, seed: int
) -> tuple[list[BaseUnit], list[str]]:
    rng = np.random.default_rng(seed)
    picked = set(rng.choice(len(units), size=min(count, len(units)), replace=False).tolist())
    result = [
        dataclasses.replace(
            u, geometry=shapely.buffer(u.geometry, distance, join_style="mitre", mitre_limit=10.0)
        )
        if i in picked
        else u
        for i, u in enumerate(units)
    ]
    return result, sorted(units[i].code for i in picked)


def twisted(units: Sequence[BaseUnit], code: str, share: float = 0.01) -> list[BaseUnit]:
    """Unit `code`'s ring twisted at its first vertex: a small self-intersection (a tiny lobe of
    the opposite orientation, `share` of the way along the two edges), as a digitising slip
    leaves. `make_valid` repairs it with a change of area far below 1%: a safe repair."""

    def twist(polygon: shapely.Polygon) -> shapely.Polygon:
        ring = np.asarray(polygon.exterior.coords)[:-1]
        corner, before, after = ring[0], ring[-1], ring[1]
        on_before = corner + (before - corner) * share
        on_after = corner + (after - corner) * share
        # ... before → on_after → on_before → after ...: the two cuts cross near the corner.
        coords = [on_after, on_before, *ring[1:]]
        return shapely.Polygon(coords, [h.coords for h in polygon.interiors])

    return [_replace_geometry(u, twist) if u.code == code else u for u in units]


def bow_tie(units: Sequence[BaseUnit], code: str) -> list[BaseUnit]:
    """Unit `code`'s polygon replaced by a bow-tie over its bounding box (corners visited in
    the order 1, 3, 2, 4): two lobes of opposite orientation whose signed areas cancel, so no
    repair can tell what was meant. `check_units` refuses it."""

    def tie(polygon: shapely.Polygon) -> shapely.Polygon:
        minx, miny, maxx, maxy = polygon.bounds
        return shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])

    return [_replace_geometry(u, tie) if u.code == code else u for u in units]


def _replace_geometry(unit: BaseUnit, change: object) -> BaseUnit:
    polygon = unit.geometry
    if isinstance(polygon, shapely.MultiPolygon):
        polygon = max(polygon.geoms, key=lambda p: p.area)
    return dataclasses.replace(unit, geometry=change(polygon))  # type: ignore[operator]


def island(
    units: Sequence[BaseUnit],
    community: str | None = None,
    distance: float = 1000.0,
    size: float = 100.0,
    households: int = 60,
    code: str = "ISLAND",
) -> list[BaseUnit]:
    """A square unit `distance` metres to the right of everything (an exclave of `community`,
    the first unit's by default): a true island, far from every other unit."""
    minx, miny, maxx, maxy = shapely.total_bounds([u.geometry for u in units])
    x0, y0 = maxx + distance, (miny + maxy) / 2
    extra = BaseUnit(
        code,
        community or units[0].community,
        "urban",
        households,
        households * 3,
        0.0,
        shapely.box(x0, y0, x0 + size, y0 + size),
    )
    return [*units, extra]


def oversized(units: Sequence[BaseUnit], code: str, households: int = 700) -> list[BaseUnit]:
    """Unit `code` given `households` (above the default urban block maximum of 500): a block
    of its own that no search can bring into range."""
    return [
        dataclasses.replace(u, households=households, population=households * 3)
        if u.code == code
        else u
        for u in units
    ]


def dead_end_pocket(
    units: Sequence[BaseUnit], size: int = 2, households: int = 40, big: int = 700
) -> tuple[list[BaseUnit], str, list[str]]:
    """A pocket of `size` new units whose only way in is through an oversized unit.

    The unit with the longest border on the bottom edge of the territory (its minimum y) gets
    `big` households; below the middle third of that border hang `size` stacked rectangles of
    `households` each, in its community: the first touches only the big unit, each next one
    only the one above. Returns the units, the big unit's code and the pocket's codes.
    """
    geoms = np.asarray([u.geometry for u in units], dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    bottom = shapely.LineString([(minx, miny), (maxx, miny)])
    along = shapely.length(shapely.intersection(shapely.boundary(geoms), bottom))
    host = int(np.argmax(along))
    edge = shapely.intersection(shapely.boundary(geoms[host]), bottom)
    x0, _y, x1, _y1 = edge.bounds
    third = (x1 - x0) / 3
    depth = max(third, 1.0)
    pocket = [
        BaseUnit(
            f"POCKET{k}",
            units[host].community,
            units[host].kind,
            households,
            households * 3,
            0.0,
            shapely.box(x0 + third, miny - (k + 1) * depth, x1 - third, miny - k * depth),
        )
        for k in range(size)
    ]
    spoiled = oversized(units, units[host].code, big)
    return [*spoiled, *pocket], units[host].code, [p.code for p in pocket]
