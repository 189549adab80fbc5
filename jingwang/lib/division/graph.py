"""Rook adjacency of polygons and small graph helpers (components, connectivity)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

# One implementation of rook adjacency and components for the engine and the rest of lib.
from jingwang.lib.graph import components as components
from jingwang.lib.graph import rook_edges


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


def unit_graph(geoms: Sequence[shapely.Geometry], tolerance: float = 0.0) -> Graph:
    """Rook adjacency graph of base units, with their centroids, areas and perimeters.

    ``tolerance`` (metres) is the policy's ``snap_tolerance_m``: borders that run within it of
    each other along more than a corner count as shared (`jingwang.lib.graph.rook_edges`).
    """
    arr = np.asarray(geoms, dtype=object)
    return edge_graph(arr, *rook_edges(arr, tolerance))


def edge_graph(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    length: np.ndarray,
) -> Graph:
    """The graph of units with the given edges (pairs and shared lengths, as `rook_edges`)."""
    arr = np.asarray(geoms, dtype=object)
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


def internal_length(adj: Sequence[dict[int, float]], members: Iterable[int]) -> float:
    """Total length of boundary shared between members (each shared edge counted once)."""
    inside = set(members)
    return sum(w for u in inside for v, w in adj[u].items() if v in inside and v > u)
