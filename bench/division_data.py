"""Seeded synthetic inputs for the grid division benchmark: Voronoi "counties".

A county is a square of Voronoi cells (base units) with 20-120 households each, split into a few
communities made of contiguous cells (the cells nearest each of a few random community centres,
which is a Voronoi partition of the cells themselves, hence contiguous in practice; any stray
piece is handled by the engine as a community island).

For issue 9: `prefecture_side` gives a 50,000-unit prefecture the unit size of the 10,000-unit
county, and `change` applies a re-division scenario (households grow in one area, new units
split off, two communities merged) to a county. The messy variants of the data-check case come
from the engine's own generators (jingwang/lib/division/tests/messy.py: `jitter`, `scale`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import shapely

from jingwang.lib.division import BaseUnit

# Side of the square county in metres; the cell size follows from the number of units.
COUNTY_SIDE_M = 20_000.0


def voronoi_cells(n: int, rng: np.random.Generator, side: float = COUNTY_SIDE_M) -> list:
    """n Voronoi cells of uniformly random points, clipped to a square of the given side."""
    box = shapely.box(0.0, 0.0, side, side)
    points = shapely.multipoints(rng.uniform(0.0, side, size=(n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=box))
    cells = shapely.intersection(cells, box)
    # voronoi_polygons does not keep the input order; order cells by centroid for stable codes.
    centroids = shapely.centroid(cells)
    order = np.lexsort((shapely.get_x(centroids), shapely.get_y(centroids)))
    return list(cells[order])


def county(
    n: int,
    seed: int = 0,
    communities: int | None = None,
    rural_share: float = 0.0,
    side: float = COUNTY_SIDE_M,
) -> list[BaseUnit]:
    """A seeded county of n base units (about n / 700 communities, at least 2, unless given).

    `side` is the square's side in metres; the default gives the counties of the existing rows
    (unchanged). A prefecture of 50,000 units keeps the 10,000-unit county's unit size with
    `side=prefecture_side(50_000)`.
    """
    rng = np.random.default_rng(seed)
    cells = voronoi_cells(n, rng, side)
    centroids = shapely.centroid(np.asarray(cells, dtype=object))
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    m = communities or max(2, round(n / 700))
    centres = rng.uniform(0.0, side, size=(m, 2))
    community = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    rural = rng.random(m) < rural_share
    households = rng.integers(20, 121, size=len(cells))
    population = np.round(households * rng.uniform(2.2, 3.4, size=len(cells))).astype(int)
    complexity = rng.beta(2.0, 5.0, size=len(cells))
    return [
        BaseUnit(
            code=f"U{i:05d}",
            community=f"C{community[i]:02d}",
            kind="rural" if rural[community[i]] else "urban",
            households=int(households[i]),
            population=int(population[i]),
            complexity=float(complexity[i]),
            geometry=cells[i],
        )
        for i in range(len(cells))
    ]


def prefecture_side(n: int, reference_units: int = 10_000) -> float:
    """The side that gives n units the mean area of a default county of `reference_units`."""
    return COUNTY_SIDE_M * math.sqrt(n / reference_units)


def mean_unit_side(units: Sequence[BaseUnit]) -> float:
    """The side of a square of the units' mean area, in metres (a readable unit size)."""
    return math.sqrt(float(np.mean(shapely.area([u.geometry for u in units]))))


@dataclasses.dataclass(frozen=True)
class Change:
    """What `change` did, for the benchmark's table."""

    grown: tuple[str, ...]  # units whose households grew
    growth: float
    new: tuple[str, ...]  # codes of the new units
    merged: tuple[str, str]  # (absorbed community, community it joined)


def change(
    units: Sequence[BaseUnit],
    seed: int = 0,
    growth: float = 0.4,
    area_share: float = 0.05,
    new_units: int = 30,
) -> tuple[list[BaseUnit], Change]:
    """A county a year later: households grow by `growth` in one area (the `area_share` of units
    nearest a random point), `new_units` units are each split in two along a diagonal (one half
    keeps the code and households; the other is a new unit with 40-120 new households, as new
    housing), and the two communities whose centres are closest merge into one.
    """
    rng = np.random.default_rng(seed)
    units = list(units)
    geoms = np.asarray([u.geometry for u in units], dtype=object)
    centroids = shapely.centroid(geoms)
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    point = rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo))
    near = np.argsort(((xy - point) ** 2).sum(axis=1))[: max(1, round(area_share * len(units)))]
    grown = set(near.tolist())
    # Communities: merge the pair of adjacent-by-centre communities closest to each other.
    names = sorted({u.community for u in units})
    centre = {
        c: xy[[i for i, u in enumerate(units) if u.community == c]].mean(axis=0) for c in names
    }
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    absorbed, into = min(pairs, key=lambda p: float(((centre[p[0]] - centre[p[1]]) ** 2).sum()))
    candidates = [
        i
        for i, u in enumerate(units)
        if i not in grown and len(u.geometry.exterior.coords) >= 5  # 4+ vertices: two halves
    ]
    split = set(rng.choice(candidates, size=new_units, replace=False).tolist())
    out: list[BaseUnit] = []
    new_codes = []
    for i, u in enumerate(units):
        community = into if u.community == absorbed else u.community
        households = round(u.households * (1 + growth)) if i in grown else u.households
        population = round(u.population * (1 + growth)) if i in grown else u.population
        unit = dataclasses.replace(
            u, community=community, households=households, population=population
        )
        if i not in split:
            out.append(unit)
            continue
        first, second = _halves(u.geometry)
        out.append(dataclasses.replace(unit, geometry=first))
        code = f"{u.code}N"
        new_codes.append(code)
        added = int(rng.integers(40, 121))
        out.append(
            dataclasses.replace(
                unit,
                code=code,
                households=added,
                population=round(added * 2.8),
                geometry=second,
            )
        )
    grown_codes = tuple(sorted(units[i].code for i in grown))
    return out, Change(grown_codes, growth, tuple(new_codes), (absorbed, into))


def _halves(polygon: shapely.Polygon) -> tuple[shapely.Polygon, shapely.Polygon]:
    """A convex cell cut along the diagonal between its first vertex and the opposite one.

    Both halves keep the cell's own vertices, so their borders with the neighbours stay exact.
    """
    ring = list(polygon.exterior.coords)[:-1]
    k = len(ring) // 2
    return shapely.Polygon(ring[: k + 1]), shapely.Polygon([*ring[k:], ring[0]])
