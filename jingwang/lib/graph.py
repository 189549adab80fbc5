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

# Under a snapping tolerance t > 0, two shapes are neighbours when they share an edge exactly or
# when each one's boundary runs within t of the other's over more than CORNER_FACTOR x t. Two
# shapes meeting at a corner run within t of each other for t / sin(angle) along each of the two
# edges at that corner, where the angle is that of the shape between them: 2t for square corners,
# under 4t while the shapes between keep angles above 30 degrees. A true shared edge of length L
# runs within t for about L + 2t, so under tolerance t an edge counts when it is longer than about
# 2t (shorter edges only when shared exactly, as at tolerance 0).
CORNER_FACTOR = 4.0

# At a tolerance, "shared exactly" means within this fraction of the median perimeter (a hundredth
# of EDGE_TOLERANCE, so that two borders crossing at an angle do not count).
EXACT_TOLERANCE = EDGE_TOLERANCE / 100

Adjacency = Mapping[int, AbstractSet[int]]


class _Neighbours(Protocol):
    def __getitem__(self, node: int, /) -> Iterable[int]: ...


def rook_edges(
    geoms: Sequence[shapely.Geometry] | np.ndarray, tolerance: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons sharing a boundary of positive length, and that length.

    Rook, not queen: two shapes touching at a point only are not neighbours, because a grid
    worker cannot walk from one to the other without leaving the grid.

    With ``tolerance`` t > 0 (in the geometry's units: metres), borders that do not match exactly
    count too: two shapes are neighbours when they share an edge exactly, or when each one's
    boundary runs within t of the other's over more than ``CORNER_FACTOR`` x t, which a contact
    at a corner does not (see `tolerant_edges` for the shared length).
    """
    arr = np.asarray(geoms, dtype=object)
    if len(arr) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    if tolerance > 0:
        scale = _median_perimeter(arr)
        left, right, near = near_lengths(arr, [EXACT_TOLERANCE * scale, tolerance])
        rook, length = tolerant_edges(near[0], near[1], tolerance, EDGE_TOLERANCE * scale)
        return left[rook], right[rook], length[rook]
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(arr)
    shared = shapely.length(shapely.intersection(boundaries[left], boundaries[right]))
    scale = float(np.median(shapely.length(boundaries)))
    rook = shared > EDGE_TOLERANCE * max(scale, 1e-12)
    return left[rook].astype(np.int64), right[rook].astype(np.int64), shared[rook]


def tolerant_edges(
    exact: np.ndarray, near: np.ndarray, tolerance: float, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """The rule of `rook_edges` under a tolerance, for pairs measured by `near_lengths`.

    ``exact`` and ``near`` are (2, pairs) arrays: each side's boundary length within a hair (the
    exactly shared part) and within ``tolerance`` of the other's; ``epsilon`` is the shortest
    exact edge. Returns which pairs are neighbours and their shared length. That is the length
    shared exactly when the borders run close together for little more than it (their overrun
    past the edge's ends, under ``CORNER_FACTOR`` x t), so that a tolerance changes nothing on
    clean data; otherwise the mean of the two lengths within t less the 2t that borders within t
    overrun an edge's two ends by (exact for square corners, a little long for sharper ones),
    and never less than the length shared exactly.
    """
    shared = exact.min(axis=0)
    within = near.mean(axis=0)
    close = near.min(axis=0) > max(CORNER_FACTOR * tolerance, epsilon)
    clean = (shared > epsilon) & (within - shared <= CORNER_FACTOR * tolerance)
    estimate = np.maximum(shared, within - 2.0 * tolerance)
    length = np.where(close & ~clean, estimate, shared)
    return (shared > epsilon) | close, length


def near_lengths(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
    radii: Sequence[float],
    skip: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons whose boundaries come within ``max(radii)`` of each other, and
    per radius how long each one's boundary runs within that radius of the other's.

    Returns ``left``, ``right`` and ``near`` of shape (len(radii), 2, pairs): ``near[k, 0]`` is
    the length of left's boundary within ``radii[k]`` of right's boundary, ``near[k, 1]`` the
    converse. Vectorised over boundary segments: candidate segment pairs from an STRtree of their
    boxes, then, for each segment, the union of the intervals of it within the radius of each
    nearby segment of the other polygon (a segment's points within r of another segment form one
    interval, the stadium around a segment being convex). Pairs whose key ``i * len(geoms) + j``
    is in ``skip`` are left out.
    """
    arr = np.asarray(geoms, dtype=object)
    n = len(arr)
    a, b, owner = _segments(arr)
    empty = np.zeros(0, dtype=np.int64)
    if n < 2 or len(a) == 0:
        return empty, empty, np.zeros((len(radii), 2, 0))
    seglen = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    lox, hix = np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0])
    loy, hiy = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    # Boxes grown by half the reach meet when the segments' boxes come within the reach.
    half = float(max(radii)) / 2
    boxes = shapely.box(lox - half, loy - half, hix + half, hiy + half)
    i, j = shapely.STRtree(boxes).query(boxes)
    keep = owner[i] < owner[j]
    i, j = i[keep], j[keep]
    if skip is not None and len(skip):
        keep = ~np.isin(owner[i] * n + owner[j], skip)
        i, j = i[keep], j[keep]
    pairs, pid = np.unique(owner[i] * n + owner[j], return_inverse=True)
    # How far apart the two segments' boxes are (the larger of the x and y gaps).
    gap = np.maximum(
        np.maximum(lox[i] - hix[j], lox[j] - hix[i]), np.maximum(loy[i] - hiy[j], loy[j] - hiy[i])
    )
    ends = {"i": (a[i], b[i]), "j": (a[j], b[j])}
    near = np.zeros((len(radii), 2, len(pairs)))
    for k, radius in enumerate(radii):
        close = gap <= radius
        for side, (this, other) in enumerate((("i", "j"), ("j", "i"))):
            (pa, pb), (qa, qb) = ends[this], ends[other]
            lo, hi = _within(pa[close], pb[close], qa[close], qb[close], radius)
            segment = (i if this == "i" else j)[close]
            near[k, side] = _union_length(pid[close], segment, lo, hi, seglen[segment], len(pairs))
    return pairs // n, pairs % n, near


def _median_perimeter(arr: np.ndarray) -> float:
    return max(float(np.median(shapely.length(arr))), 1e-12)


def _segments(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every boundary segment of every polygon (holes and parts included), of positive length:
    start points, end points and the index of the polygon it belongs to."""
    parts, part_owner = shapely.get_parts(arr, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]
    a, b = coords[:-1][same], coords[1:][same]
    owner = part_owner[ring_part[ring_of[:-1][same]]].astype(np.int64)
    keep = np.any(a != b, axis=1)
    return a[keep], b[keep], owner[keep]


def _within(
    p: np.ndarray, q: np.ndarray, c: np.ndarray, e: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Row by row: the interval of u in 0..1 whose point p + u (q - p) lies within ``radius`` of
    the segment c → e (empty when lo >= hi). The stadium around c → e is the union of a
    rectangle and two discs, each met by the line in one interval; their union is the interval
    sought."""
    px, py = p[:, 0], p[:, 1]
    dx, dy = q[:, 0] - px, q[:, 1] - py
    cx, cy = c[:, 0], c[:, 1]
    wx, wy = e[:, 0] - cx, e[:, 1] - cy
    length = np.hypot(wx, wy)
    wx, wy = wx / length, wy / length
    rx, ry = px - cx, py - cy
    lo, hi = np.zeros(len(px)), np.ones(len(px))
    # The rectangle: 0 <= along <= length, |across| <= radius (slab clipping).
    for start, slope, bottom, top in (
        (rx * wx + ry * wy, dx * wx + dy * wy, 0.0, length),
        (rx * wy - ry * wx, dx * wy - dy * wx, -radius, radius),
    ):
        flat = np.abs(slope) < 1e-12
        inside = (start >= bottom) & (start <= top)
        safe = np.where(flat, 1.0, slope)
        u0, u1 = (bottom - start) / safe, (top - start) / safe
        lo = np.maximum(lo, np.where(flat, np.where(inside, 0.0, np.inf), np.minimum(u0, u1)))
        hi = np.minimum(hi, np.where(flat, np.where(inside, 1.0, -np.inf), np.maximum(u0, u1)))
    empty = lo >= hi
    lo, hi = np.where(empty, np.inf, lo), np.where(empty, -np.inf, hi)
    # The two discs: |p + u d - centre|^2 <= radius^2.
    dd = dx * dx + dy * dy
    for ox, oy in ((cx, cy), (e[:, 0], e[:, 1])):
        sx, sy = px - ox, py - oy
        half_b = dx * sx + dy * sy
        disc = half_b * half_b - dd * (sx * sx + sy * sy - radius * radius)
        hit = disc >= 0
        root = np.sqrt(np.where(hit, disc, 0.0))
        lo = np.minimum(lo, np.where(hit, np.maximum((-half_b - root) / dd, 0.0), np.inf))
        hi = np.maximum(hi, np.where(hit, np.minimum((-half_b + root) / dd, 1.0), -np.inf))
    return lo, hi


def _union_length(
    pair: np.ndarray,
    segment: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    seglen: np.ndarray,
    pairs: int,
) -> np.ndarray:
    """Per pair: the sum over its segments of the segment's length x the measure of the union of
    that segment's intervals."""
    ok = lo < hi
    pair, segment, lo, hi, seglen = pair[ok], segment[ok], lo[ok], hi[ok], seglen[ok]
    group = pair * (int(segment.max(initial=0)) + 1) + segment
    order = np.lexsort((lo, group))
    pair, group, lo, hi, seglen = pair[order], group[order], lo[order], hi[order], seglen[order]
    # Intervals lie in 0..1: shifting each (pair, segment) group by twice its rank keeps the
    # groups apart, so one running maximum of the ends serves them all.
    new = np.ones(len(pair), dtype=bool)
    new[1:] = group[1:] != group[:-1]
    shift = np.cumsum(new) * 2.0
    start, end = lo + shift, hi + shift
    reach = np.maximum.accumulate(end)
    before = np.concatenate([[-np.inf], reach[:-1]])
    gained = np.maximum(end - np.maximum(start, before), 0.0)
    return np.bincount(pair, weights=gained * seglen, minlength=pairs)


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
