"""Adjacency of polygons and small graph helpers: shared edges, components, contiguous parts.

Plain functions over plain data (node ids are ints, an adjacency maps a node to its neighbours),
for anything that groups shapes that touch: the demo's grids, and whatever groups base units,
places or patrol areas next.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Protocol

import numpy as np
import shapely

# Shared boundaries shorter than this fraction of the median perimeter are point contacts:
# floating-point slivers must not make two shapes neighbours.
EDGE_TOLERANCE = 1e-7

Adjacency = Mapping[int, AbstractSet[int]]


class _Neighbours(Protocol):
    def __getitem__(self, node: int, /) -> Iterable[int]: ...


def rook_edges(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons sharing a boundary of positive length, and that length.

    Rook, not queen: two shapes touching at a point only are not neighbours, because a grid
    worker cannot walk from one to the other without leaving the grid.
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
    scale = float(np.median(shapely.length(boundaries)))
    rook = shared > EDGE_TOLERANCE * max(scale, 1e-12)
    return left[rook].astype(np.int64), right[rook].astype(np.int64), shared[rook]


def shared_edges(geoms: Sequence[shapely.Geometry] | np.ndarray) -> dict[int, set[int]]:
    """Rook adjacency as a mapping: each polygon's index → the indexes it shares an edge with."""
    left, right, _length = rook_edges(geoms)
    adj: dict[int, set[int]] = {i: set() for i in range(len(geoms))}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        adj[i].add(j)
        adj[j].add(i)
    return adj


def components(adj: _Neighbours, nodes: Iterable[int]) -> list[list[int]]:
    """Connected components of the subgraph induced by ``nodes``: each sorted, ordered by their
    smallest node. ``adj[u]`` may be any iterable of neighbours (a set, a dict's keys)."""
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


def contiguous_parts(
    nodes: Sequence[int],
    weight: Mapping[int, float],
    adj: Adjacency,
    xy: Mapping[int, tuple[float, float]],
    k: int,
) -> list[list[int]]:
    """Cut a connected set of nodes into at most ``k`` contiguous parts of about equal weight.

    A simple greedy grouping, deterministic and fast (the division engine does the real work):
    parts are peeled off one by one. Each starts at the node farthest from the weighted centre
    of what is left and grows over edges, preferring the candidate with most edges into the part
    and then the nearest one, while what is left stays in one piece (a pocket it would cut off
    goes with the part), until the part is as close as it gets to its share of the weight. Each
    part is sorted; a part that would be empty is left out.
    """
    remaining = set(nodes)
    parts: list[list[int]] = []
    for left in range(k, 1, -1):
        if not remaining:
            break
        total = sum(weight[u] for u in remaining)
        target = total / left
        cx = sum(xy[u][0] * weight[u] for u in remaining) / total
        cy = sum(xy[u][1] * weight[u] for u in remaining) / total
        start = max(remaining, key=lambda u: ((xy[u][0] - cx) ** 2 + (xy[u][1] - cy) ** 2, -u))
        part = {start}
        mass = weight[start]
        rest = remaining - part
        while mass < target and rest:
            candidates = {v for u in part for v in adj[u]} & rest
            ranked = sorted(
                candidates,
                key=lambda v: (-len(adj[v] & part), math.dist(xy[v], xy[start]), v),
            )
            chosen: set[int] | None = None
            for v in ranked:
                take = {v}
                after = rest - take
                if len(adj[v] & after) > 1:
                    pieces = components(adj, after)
                    if len(pieces) > 1:
                        pieces.sort(key=lambda p: (sum(weight[u] for u in p), -p[0]))
                        for piece in pieces[:-1]:
                            take.update(piece)
                gain = sum(weight[u] for u in take)
                if abs(mass + gain - target) < abs(mass - target) and len(take) < len(rest):
                    chosen = take
                    break
            if chosen is None:
                break
            part |= chosen
            mass += sum(weight[u] for u in chosen)
            rest -= chosen
        parts.append(sorted(part))
        remaining = rest
    parts.append(sorted(remaining))
    return [part for part in parts if part]
