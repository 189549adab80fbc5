"""Synthetic grid layers for benchmarks: a seeded Voronoi partition of a county-sized box.

A real county has a few dense towns (small urban grids) and wide countryside (large rural
grids), so by default part of the seeds are drawn around a handful of town centres and the rest
uniformly; `urban_share=0` gives a uniform partition.
"""

from __future__ import annotations

import numpy as np
import shapely

# About 48 km x 44 km (~2,100 km²) around lon 105.0, lat 31.1 (a county in Sichuan).
COUNTY_BOX = (104.75, 30.90, 105.25, 31.30)


def random_points(
    n: int, seed: int, box: tuple[float, float, float, float] = COUNTY_BOX
) -> tuple[np.ndarray, np.ndarray]:
    """n points uniformly in `box` (float64 lon, lat)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)


def _seeds(
    n: int, rng: np.random.Generator, box: tuple[float, float, float, float], urban_share: float
) -> np.ndarray:
    n_urban = int(n * urban_share)
    uniform = np.column_stack(
        [rng.uniform(box[0], box[2], n - n_urban), rng.uniform(box[1], box[3], n - n_urban)]
    )
    towns = np.column_stack(
        [rng.uniform(box[0], box[2], 6), rng.uniform(box[1], box[3], 6)]
    )  # six towns of different sizes: a county seat and market towns
    spread = (box[2] - box[0]) * rng.uniform(0.01, 0.05, len(towns))
    which = rng.integers(0, len(towns), n_urban)
    urban = towns[which] + rng.normal(size=(n_urban, 2)) * spread[which, None]
    seeds = np.vstack([uniform, urban])
    seeds[:, 0] = np.clip(seeds[:, 0], box[0], box[2])
    seeds[:, 1] = np.clip(seeds[:, 1], box[1], box[3])
    return np.unique(seeds, axis=0)  # duplicate seeds would make empty cells


def voronoi_grids(
    n: int,
    seed: int = 1,
    box: tuple[float, float, float, float] = COUNTY_BOX,
    urban_share: float = 0.5,
) -> list[shapely.Geometry]:
    """About n polygons partitioning `box` (fewer only if seeds coincide)."""
    rng = np.random.default_rng(seed)
    seeds = _seeds(n, rng, box, urban_share)
    frame = shapely.box(*box)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame)
    clipped = shapely.intersection(shapely.get_parts(cells), frame)
    polygons = [g for g in clipped if g.geom_type == "Polygon" and not g.is_empty]
    return polygons
