"""Seeded synthetic inputs for the grid division benchmark: Voronoi "counties".

A county is a square of Voronoi cells (base units) with 20-120 households each, split into a few
communities made of contiguous cells (the cells nearest each of a few random community centres,
which is a Voronoi partition of the cells themselves, hence contiguous in practice; any stray
piece is handled by the engine as a community island).
"""

from __future__ import annotations

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
    n: int, seed: int = 0, communities: int | None = None, rural_share: float = 0.0
) -> list[BaseUnit]:
    """A seeded county of n base units (about n / 700 communities, at least 2, unless given)."""
    rng = np.random.default_rng(seed)
    cells = voronoi_cells(n, rng)
    centroids = shapely.centroid(np.asarray(cells, dtype=object))
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    m = communities or max(2, round(n / 700))
    centres = rng.uniform(0.0, COUNTY_SIDE_M, size=(m, 2))
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
