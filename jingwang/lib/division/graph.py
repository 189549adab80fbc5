"""Rook adjacency of polygons and small graph helpers (components, connectivity)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

# Shared boundaries shorter than this fraction of the median unit perimeter are treated as
# point contacts: floating-point slivers must not make two units "rook" neighbours.
_EDGE_TOLERANCE = 1e-7


@dataclass
class Graph:
    """An undirected weighted graph: `adj[u]` maps neighbour → shared boundary length."""

    adj: list[dict[int, float]]
    xy: np.ndarray  # (n, 2) area-weighted centroids
    area: np.ndarray
    perimeter: np.ndarray

    @property
    def n(self) -> int:
        return len(self.adj)


def rook_edges(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons sharing a boundary of positive length, and that length.

    Rook, not queen: two units touching at a point only are not neighbours, because a grid worker
    cannot walk from one to the other without leaving the grid.
    """
    arr = np.asarray(geoms, dtype=object)
    if len(arr) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(arr)
    shared = shapely.length(shapely.intersection(boundaries[left], boundaries[right]))
    scale = float(np.median(shapely.length(boundaries))) if len(arr) else 1.0
    rook = shared > _EDGE_TOLERANCE * max(scale, 1e-12)
    return left[rook].astype(np.int64), right[rook].astype(np.int64), shared[rook]


def unit_graph(geoms: Sequence[shapely.Geometry]) -> Graph:
    """Rook adjacency graph of base units, with their centroids, areas and perimeters."""
    arr = np.asarray(geoms, dtype=object)
    left, right, length = rook_edges(arr)
    adj: list[dict[int, float]] = [{} for _ in range(len(arr))]
    for a, b, w in zip(left.tolist(), right.tolist(), length.tolist(), strict=True):
        adj[a][b] = w
        adj[b][a] = w
    centroids = shapely.centroid(arr)
    xy = (
        np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
        if len(arr)
        else np.zeros((0, 2))
    )
    return Graph(adj=adj, xy=xy, area=shapely.area(arr), perimeter=shapely.length(arr))


def quotient(graph: Graph, groups: Sequence[Sequence[int]]) -> Graph:
    """The graph of groups of nodes: weights summed, edges merged, centroids area-weighted."""
    owner = np.full(graph.n, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        owner[list(members)] = g
    adj: list[dict[int, float]] = [{} for _ in groups]
    internal = np.zeros(len(groups))
    for u, neighbours in enumerate(graph.adj):
        gu = owner[u]
        for v, w in neighbours.items():
            if v <= u:
                continue
            gv = owner[v]
            if gu == gv:
                internal[gu] += w
            else:
                adj[gu][gv] = adj[gu].get(gv, 0.0) + w
                adj[gv][gu] = adj[gv].get(gu, 0.0) + w
    area = np.array([graph.area[list(m)].sum() for m in groups])
    perimeter = np.array([graph.perimeter[list(m)].sum() for m in groups]) - 2 * internal
    xy = np.array([_weighted_centre(graph, m) for m in groups]).reshape(len(groups), 2)
    return Graph(adj=adj, xy=xy, area=area, perimeter=perimeter)


def _weighted_centre(graph: Graph, members: Sequence[int]) -> np.ndarray:
    idx = list(members)
    weights = graph.area[idx]
    if weights.sum() <= 0:
        return graph.xy[idx].mean(axis=0)
    return (graph.xy[idx] * weights[:, None]).sum(axis=0) / weights.sum()


def components(adj: Sequence[dict[int, float]], nodes: Iterable[int]) -> list[list[int]]:
    """Connected components of the subgraph induced by `nodes`, each sorted, in node order."""
    inside = set(nodes)
    seen: set[int] = set()
    result: list[list[int]] = []
    for start in sorted(inside):
        if start in seen:
            continue
        seen.add(start)
        stack, piece = [start], [start]
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v in inside and v not in seen:
                    seen.add(v)
                    stack.append(v)
                    piece.append(v)
        result.append(sorted(piece))
    return result


def internal_length(adj: Sequence[dict[int, float]], members: Iterable[int]) -> float:
    """Total length of boundary shared between members (each shared edge counted once)."""
    inside = set(members)
    return sum(w for u in inside for v, w in adj[u].items() if v in inside and v > u)
