"""Small random plane partitions for the division tests: jittered grids split into communities."""

from __future__ import annotations

from collections import deque

import numpy as np
import shapely

from jingwang.lib.division import BaseUnit


def jittered_grid(cols: int, rows: int, rng: np.random.Generator, size: float = 100.0) -> list:
    """cols x rows quadrilaterals over a lattice whose inner vertices are jittered.

    Neighbouring cells share their edge exactly, so rook adjacency is that of the grid.
    """
    xs, ys = np.meshgrid(np.arange(cols + 1) * size, np.arange(rows + 1) * size)
    jitter = rng.uniform(-0.3 * size, 0.3 * size, size=(rows + 1, cols + 1, 2))
    jitter[[0, -1], :, 1] = 0.0  # keep the outer frame straight
    jitter[:, [0, -1], 0] = 0.0
    px, py = xs + jitter[..., 0], ys + jitter[..., 1]
    cells = []
    for r in range(rows):
        for c in range(cols):
            ring = [
                (px[r, c], py[r, c]),
                (px[r, c + 1], py[r, c + 1]),
                (px[r + 1, c + 1], py[r + 1, c + 1]),
                (px[r + 1, c], py[r + 1, c]),
            ]
            cells.append(shapely.Polygon(ring))
    return cells


def grid_communities(cols: int, rows: int, count: int, rng: np.random.Generator) -> list[int]:
    """Community of each cell, grown by breadth-first search from random seeds: contiguous."""
    n = cols * rows
    owner = [-1] * n
    seeds = rng.choice(n, size=min(count, n), replace=False)
    queue: deque[int] = deque()
    for c, s in enumerate(seeds.tolist()):
        owner[s] = c
        queue.append(s)
    while queue:
        cell = queue.popleft()
        r, c = divmod(cell, cols)
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < rows and 0 <= cc < cols and owner[rr * cols + cc] == -1:
                owner[rr * cols + cc] = owner[cell]
                queue.append(rr * cols + cc)
    return owner


def random_units(
    cols: int,
    rows: int,
    communities: int,
    seed: int,
    households: tuple[int, int] = (5, 120),
    rural_share: float = 0.3,
    exclaves: int = 0,
) -> list[BaseUnit]:
    """A random map; `exclaves` cells are handed to a random community, making islands."""
    rng = np.random.default_rng(seed)
    cells = jittered_grid(cols, rows, rng)
    owner = grid_communities(cols, rows, communities, rng)
    for cell in rng.choice(len(cells), size=min(exclaves, len(cells)), replace=False).tolist():
        owner[cell] = int(rng.integers(communities))
    rural = rng.random(communities) < rural_share
    hh = rng.integers(households[0], households[1] + 1, size=len(cells))
    return [
        BaseUnit(
            code=f"U{i:03d}",
            community=f"C{owner[i]}",
            kind="rural" if rural[owner[i]] else "urban",
            households=int(hh[i]),
            population=int(hh[i] * 3),
            complexity=float(rng.random()),
            geometry=cells[i],
        )
        for i in range(len(cells))
    ]


def square(x: float, y: float, size: float = 1.0) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


def unit(
    code: str, x: float, y: float, households: int = 100, community: str = "C1", kind: str = "urban"
) -> BaseUnit:
    return BaseUnit(code, community, kind, households, households * 3, 0.0, square(x, y))


def voronoi_units(n: int, communities: int, seed: int) -> list[BaseUnit]:
    """Voronoi cells of n random points in a square; communities grown over shared edges."""
    rng = np.random.default_rng(seed)
    box = shapely.box(0, 0, 1000, 1000)
    points = shapely.multipoints(rng.uniform(0, 1000, size=(n, 2)))
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(points, extend_to=box)), box
    )
    cells = [c for c in cells if c.geom_type == "Polygon" and c.area > 0]
    neighbours: list[list[int]] = [[] for _ in cells]
    for i, a in enumerate(cells):
        for j in range(i + 1, len(cells)):
            if a.boundary.intersection(cells[j].boundary).length > 1e-6:
                neighbours[i].append(j)
                neighbours[j].append(i)
    owner = [-1] * len(cells)
    queue: deque[int] = deque()
    for c, s in enumerate(rng.choice(len(cells), size=min(communities, len(cells)), replace=False)):
        owner[int(s)] = c
        queue.append(int(s))
    while queue:
        cell = queue.popleft()
        for other in neighbours[cell]:
            if owner[other] == -1:
                owner[other] = owner[cell]
                queue.append(other)
    hh = rng.integers(5, 121, size=len(cells))
    return [
        BaseUnit(
            f"V{i:03d}",
            f"C{owner[i]}",
            "urban",
            int(hh[i]),
            int(hh[i] * 3),
            float(rng.random()),
            cells[i],
        )
        for i in range(len(cells))
    ]
