"""Point → grid lookup: which grid polygon covers a WGS-84 lon/lat point. Django-free.

A point belongs to every polygon that *covers* it (interior or boundary); when several do (a
shared edge or vertex, or overlapping polygons in bad data) the smallest key wins, so the answer
never depends on input order.

The index is a quadtree of cells over the layer's bounding box. Level 0 is a uniform raster with
a few cells per polygon; each cell is classified once, exactly, with shapely:

* resolved — the polygon with the smallest key among those meeting the closed cell covers the
  whole closed cell, so every point in it answers that key (a numpy lookup);
* empty — no polygon meets the closed cell;
* ambiguous — anything else. An ambiguous cell is split into 2 x 2 children while it is large
  next to the polygons meeting it (so the raster is finer where grids are small: towns, where
  most incidents are) and the cell budget allows, the largest relative to its polygons first;
  an ambiguous cell that is not split is a leaf: it keeps the list of polygons meeting it, and
  its points are checked exactly against those few polygons only (shapely.intersects_xy).

Classification uses vectorised shapely predicates on prepared polygons: an STRtree query of the
level-0 cell boxes, then each child box against its parent's polygons only.

Classification is conservative by construction: it is a statement about the closed cell box,
and the cell a point is assigned to is found by comparing against the very same edge
coordinates the boxes were made of, so a point on a cell edge lands in a cell whose closed box
holds it. Children's edges are interpolated from their parent's edges (the first child edge *is*
the parent's edge), so the levels nest exactly.

One index may be shared by threads: GEOS prepared geometries are not thread-safe (their lazy
internal indexes can crash when two threads first use them at once), so the exact checks take a
lock; the raster lookups need none.
"""

from __future__ import annotations

import bisect
import math
import operator
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike

_SPLIT = 2  # children per axis when a cell is refined (a power of two keeps the edges exact)
_CELLS_PER_GRID = 16  # level-0 raster cells per polygon
# Split an ambiguous cell while its area exceeds 1/_FINENESS of the smallest polygon meeting it.
_FINENESS = 256
_CELL_BUDGET = 128  # all levels together, cells per polygon: bounds memory and build time
_MIN_BUDGET = 1 << 14  # small layers may refine deeper: 64 KB of cells at most
_MAX_REFINEMENTS = 6  # levels below level 0 (each doubles the edge lists), whatever the budget

# Cell codes: >= 0 a polygon position (resolved); _EMPTY; _LEAF - i for ambiguous leaf i; any
# other negative code c is an ambiguous cell split into block -2 - c of the next level.
_EMPTY = -1
_LEAF = -(1 << 30)
_POLYGONAL = {shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON}


@dataclass
class _Level:
    """One quadtree level: its global cell edges and the codes of the cells that exist."""

    xs: np.ndarray  # column edges, strictly increasing; xs[0] / xs[-1] = layer bounds
    ys: np.ndarray
    codes: np.ndarray  # int32; level 0: row * ncols + col; deeper: block * SPLIT² + sub-cell
    xs_list: list[float]  # the same edges as lists, for the one-point path (bisect)
    ys_list: list[float]


def _check_inputs(
    geometries: Sequence[shapely.Geometry], keys: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    if len(geometries) != len(keys):
        raise ValueError(f"{len(geometries)} geometries but {len(keys)} keys")
    key_list = []
    for key in keys:
        value = operator.index(key)
        if value < 0:
            raise ValueError(f"grid {value}: keys must be non-negative")
        key_list.append(value)
    geoms = np.empty(len(key_list), dtype=object)
    for i, (geom, key) in enumerate(zip(geometries, key_list, strict=True)):
        if not isinstance(geom, shapely.Geometry):
            raise ValueError(f"grid {key}: not a geometry ({type(geom).__name__})")
        geoms[i] = geom
    for geom, key in zip(geoms, key_list, strict=True):
        if shapely.get_type_id(geom) not in _POLYGONAL:
            raise ValueError(
                f"grid {key}: expected a Polygon or MultiPolygon, got {geom.geom_type}"
            )
        if geom.is_empty:
            raise ValueError(f"grid {key}: empty geometry")
        if not shapely.is_valid(geom):
            raise ValueError(f"grid {key}: invalid geometry ({shapely.is_valid_reason(geom)})")
    return geoms, np.asarray(key_list, dtype=np.int64)


def _raster_shape(n_cells: int, width: float, height: float) -> tuple[int, int]:
    """Columns and rows for about n_cells square-ish cells over a width x height box."""
    cols = max(1, round(math.sqrt(n_cells * width / height)))
    rows = max(1, round(n_cells / cols))
    return cols, rows


def _edges(lo: float, hi: float, n: int) -> np.ndarray:
    edges = lo + (hi - lo) * (np.arange(n + 1, dtype=np.float64) / n)
    edges[0], edges[-1] = lo, hi  # exact layer bounds: nothing outside them is covered
    return edges


def _split_edges(edges: np.ndarray) -> np.ndarray:
    """Edges of the next level: each parent edge kept exactly, SPLIT - 1 new ones between."""
    width = np.diff(edges)
    steps = np.arange(_SPLIT, dtype=np.float64) / _SPLIT
    fine = (edges[:-1, None] + width[:, None] * steps[None, :]).ravel()
    return np.append(fine, edges[-1])


def _cells(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index i with edges[i] <= v < edges[i + 1] (the last cell also takes v == edges[-1]).

    Values must lie within [edges[0], edges[-1]]. The arithmetic guess is off by one at most,
    and only within a few ulps of an edge; it is corrected against the exact edges, so the
    point always lies in the closed box that was classified (binary search would be exact too,
    but is several times slower on a million points).
    """
    last = len(edges) - 2
    scale = (last + 1) / (edges[-1] - edges[0])
    index = ((values - edges[0]) * scale).astype(np.int64)
    np.clip(index, 0, last, out=index)
    while True:
        low = values < edges[index]
        high = (values >= edges[index + 1]) & (index < last)
        if not (low.any() or high.any()):
            return index
        index -= low
        index += high


@dataclass
class _Classified:
    """The cells of one level, classified; ambiguous cells are numbered 0, 1, … in cell order."""

    codes: np.ndarray  # int32 per cell
    ambiguous: np.ndarray  # positions of the ambiguous cells, in id order
    cand_ptr: np.ndarray  # CSR over ambiguous ids: polygons meeting each ambiguous cell
    cand: np.ndarray


def _classify(
    geoms: np.ndarray,
    boxes: np.ndarray,
    pair_cell: np.ndarray,
    pair_poly: np.ndarray,
    candidates_only: bool,
) -> _Classified:
    """Classify cells from (cell, polygon) pairs sorted by cell, then polygon.

    The pairs are exactly the polygons meeting each cell, or, with candidates_only, a superset
    of them that is filtered here.
    """
    if candidates_only and len(pair_cell):
        hit = shapely.intersects(geoms[pair_poly], boxes[pair_cell])
        pair_cell, pair_poly = pair_cell[hit], pair_poly[hit]
    n_cells = len(boxes)
    count = np.bincount(pair_cell, minlength=n_cells)
    first = np.cumsum(count) - count  # each cell's first pair is its smallest-key polygon
    met = np.nonzero(count)[0]
    smallest = pair_poly[first[met]]
    whole = shapely.covers(geoms[smallest], boxes[met])
    codes = np.full(n_cells, _EMPTY, dtype=np.int32)
    codes[met[whole]] = smallest[whole]
    ambiguous = met[~whole]
    codes[ambiguous] = -2 - np.arange(len(ambiguous), dtype=np.int32)
    keep = np.zeros(n_cells, dtype=bool)
    keep[ambiguous] = True
    cand = pair_poly[keep[pair_cell]].astype(np.int32)  # still grouped by cell, cells ascending
    cand_ptr = np.zeros(len(ambiguous) + 1, dtype=np.int64)
    np.cumsum(count[ambiguous], out=cand_ptr[1:])
    return _Classified(codes, ambiguous, cand_ptr, cand)


def _select(found: _Classified, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr, cand) of the candidate lists of the given ambiguous ids, in that order."""
    _, position = _expand_csr(found.cand_ptr, ids)
    ptr = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(found.cand_ptr[ids + 1] - found.cand_ptr[ids], out=ptr[1:])
    return ptr, found.cand[position]


def _expand_csr(ptr: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the positions ptr[ids[i]] .. ptr[ids[i] + 1] - 1: (owner i, position) pairs."""
    start = ptr[ids]
    count = ptr[ids + 1] - start
    owner = np.repeat(np.arange(len(ids)), count)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    return owner, np.repeat(start, count) + offset


def _worth_splitting(
    found: _Classified,
    areas: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    col: np.ndarray,
    row: np.ndarray,
    budget: int,
) -> np.ndarray:
    """Which ambiguous cells to split: those large next to their smallest polygon, largest
    first, as many as the budget allows.

    Grids are drawn to carry similar workloads, so points are about as dense as grids are small:
    a cell's expected share of exact checks grows with its area over its polygons' area.
    """
    smallest = np.minimum.reduceat(areas[found.cand], found.cand_ptr[:-1])
    ratio = (xs[col + 1] - xs[col]) * (ys[row + 1] - ys[row]) / smallest
    wanted = np.nonzero(ratio * _FINENESS > 1)[0]
    wanted = wanted[np.argsort(-ratio[wanted], kind="stable")][: max(budget, 0) // _SPLIT**2]
    split = np.zeros(len(col), dtype=bool)
    split[wanted] = True
    return split


class GridIndex:
    """Which grid covers a point; ties (shared boundaries, overlaps) go to the smallest key."""

    def __init__(self, geometries: Sequence[shapely.Geometry], keys: Sequence[int]) -> None:
        geoms, key_array = _check_inputs(geometries, keys)
        # Polygons are kept in key order, so "smallest position" means "smallest key". They are
        # copied (WKB round-trips doubles exactly) so that preparing them, and the lock below,
        # concern this index alone, not geometries the caller may use elsewhere.
        order = np.argsort(key_array, kind="stable")
        self._geoms = shapely.from_wkb(shapely.to_wkb(geoms[order]))
        self._keys = key_array[order]
        self._levels: list[_Level] = []
        self._lock = threading.Lock()  # guards the prepared geometries (see the module notes)
        if len(self._geoms):
            shapely.prepare(self._geoms)
            self._build()

    def __len__(self) -> int:
        return len(self._geoms)

    # -- build -----------------------------------------------------------------------------

    def _build(self) -> None:
        n = len(self._geoms)
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(self._geoms))
        cols, rows = _raster_shape(_CELLS_PER_GRID * n, maxx - minx, maxy - miny)
        xs, ys = _edges(minx, maxx, cols), _edges(miny, maxy, rows)
        if not (np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)):
            cols, rows = 1, 1  # a layer a few ulps wide: one cell, the exact checks do the rest
            xs, ys = np.array([minx, maxx]), np.array([miny, maxy])
        col_grid, row_grid = np.meshgrid(np.arange(cols), np.arange(rows))
        col, row = col_grid.ravel(), row_grid.ravel()
        boxes = shapely.box(xs[col], ys[row], xs[col + 1], ys[row + 1])
        pair_cell, pair_poly = shapely.STRtree(self._geoms).query(boxes, predicate="intersects")
        order = np.lexsort((pair_poly, pair_cell))
        found = _classify(self._geoms, boxes, pair_cell[order], pair_poly[order], False)
        self._add_level(xs, ys, found.codes)
        areas = shapely.area(self._geoms)
        budget = max(_CELL_BUDGET * n, _MIN_BUDGET) - len(found.codes)
        col, row = col[found.ambiguous], row[found.ambiguous]
        leaf_ptr: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        leaf_cand: list[np.ndarray] = []
        while True:
            split = np.zeros(len(col), dtype=bool)
            next_xs, next_ys = _split_edges(xs), _split_edges(ys)
            # Stop splitting at the depth limit, or where cells get as small as the float spacing.
            if len(self._levels) <= _MAX_REFINEMENTS and (
                np.all(np.diff(next_xs) > 0) and np.all(np.diff(next_ys) > 0)
            ):
                split = _worth_splitting(found, areas, xs, ys, col, row, budget)
            self._make_leaves(found, ~split, leaf_ptr, leaf_cand)
            if not split.any():
                break
            chosen = np.nonzero(split)[0]
            found.codes[found.ambiguous[chosen]] = -2 - np.arange(len(chosen), dtype=np.int32)
            xs, ys = next_xs, next_ys
            found, col, row = self._refine(found, chosen, col[chosen], row[chosen], xs, ys)
            self._add_level(xs, ys, found.codes)
            budget -= len(found.codes)
        self._cand_ptr = np.concatenate(leaf_ptr)
        self._cand = np.concatenate(leaf_cand) if leaf_cand else np.zeros(0, dtype=np.int32)

    @staticmethod
    def _make_leaves(
        found: _Classified,
        chosen: np.ndarray,
        leaf_ptr: list[np.ndarray],
        leaf_cand: list[np.ndarray],
    ) -> None:
        """Turn the chosen ambiguous cells of the last level into leaves with candidate lists."""
        ids = np.nonzero(chosen)[0]
        if not len(ids):
            return
        first = int(leaf_ptr[-1][-1])
        n_leaves = sum(len(p) for p in leaf_ptr) - 1
        found.codes[found.ambiguous[ids]] = _LEAF - (n_leaves + np.arange(len(ids), dtype=np.int32))
        ptr, cand = _select(found, ids)
        leaf_ptr.append(first + ptr[1:])
        leaf_cand.append(cand)

    def _refine(
        self,
        parent: _Classified,
        chosen: np.ndarray,
        col: np.ndarray,
        row: np.ndarray,
        xs: np.ndarray,
        ys: np.ndarray,
    ) -> tuple[_Classified, np.ndarray, np.ndarray]:
        """Split the chosen ambiguous cells of the last level into SPLIT x SPLIT children."""
        sub = np.arange(_SPLIT**2)
        child_col = (col[:, None] * _SPLIT + sub[None, :] % _SPLIT).ravel()
        child_row = (row[:, None] * _SPLIT + sub[None, :] // _SPLIT).ravel()
        boxes = shapely.box(xs[child_col], ys[child_row], xs[child_col + 1], ys[child_row + 1])
        # A child can only meet polygons that met its parent. Child c of block b is cell
        # b * SPLIT² + c, so pairs come out sorted by cell, then polygon (parents' lists are).
        ptr, cand = _select(parent, chosen)
        parent_of_child = np.repeat(np.arange(len(chosen)), _SPLIT**2)
        pair_cell, position = _expand_csr(ptr, parent_of_child)
        found = _classify(self._geoms, boxes, pair_cell, cand[position], True)
        return found, child_col[found.ambiguous], child_row[found.ambiguous]

    def _add_level(self, xs: np.ndarray, ys: np.ndarray, codes: np.ndarray) -> None:
        self._levels.append(_Level(xs, ys, codes, xs.tolist(), ys.tolist()))

    # -- lookup ----------------------------------------------------------------------------

    def locate(self, lon: float, lat: float) -> int | None:
        """Key of the grid covering (lon, lat), smallest key on shared boundaries; None if none."""
        if not self._levels:
            return None
        x, y = float(lon), float(lat)
        top = self._levels[0]
        if not (top.xs_list[0] <= x <= top.xs_list[-1] and top.ys_list[0] <= y <= top.ys_list[-1]):
            return None  # also NaN
        code = 0
        for depth, level in enumerate(self._levels):
            col = min(bisect.bisect_right(level.xs_list, x) - 1, len(level.xs_list) - 2)
            row = min(bisect.bisect_right(level.ys_list, y) - 1, len(level.ys_list) - 2)
            if depth == 0:
                cell = row * (len(level.xs_list) - 1) + col
            else:
                cell = (-2 - code) * _SPLIT**2 + (row % _SPLIT) * _SPLIT + col % _SPLIT
            code = int(level.codes[cell])
            if code > -2:
                return None if code == _EMPTY else int(self._keys[code])
            if code <= _LEAF:
                break
        leaf = _LEAF - code
        candidates = self._cand[self._cand_ptr[leaf] : self._cand_ptr[leaf + 1]].tolist()
        with self._lock:
            for position in candidates:  # in key order: the first hit is the answer
                if shapely.intersects_xy(self._geoms[position], x, y):
                    return int(self._keys[position])
        return None

    def locate_many(self, lons: ArrayLike, lats: ArrayLike) -> np.ndarray:
        """int64 keys, one per point; -1 where no grid covers the point."""
        x = np.asarray(lons, dtype=np.float64).ravel()
        y = np.asarray(lats, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError(f"{len(x)} longitudes but {len(y)} latitudes")
        out = np.full(len(x), -1, dtype=np.int64)
        if not self._levels or not len(x):
            return out
        top = self._levels[0]
        inside = (x >= top.xs[0]) & (x <= top.xs[-1]) & (y >= top.ys[0]) & (y <= top.ys[-1])
        points = np.nonzero(inside)[0]
        code = np.empty(0, dtype=np.int32)
        in_leaves, leaves = [], []
        for depth, level in enumerate(self._levels):
            col = _cells(level.xs, x[points])
            row = _cells(level.ys, y[points])
            if depth == 0:
                cell = row * (len(level.xs) - 1) + col
            else:
                sub = (row % _SPLIT) * _SPLIT + col % _SPLIT
                cell = (-2 - code.astype(np.int64)) * _SPLIT**2 + sub
            code = level.codes[cell]
            resolved = code >= 0
            out[points[resolved]] = self._keys[code[resolved]]
            leaf = code <= _LEAF
            in_leaves.append(points[leaf])
            leaves.append(_LEAF - code[leaf].astype(np.int64))
            deeper = (code <= -2) & ~leaf
            points, code = points[deeper], code[deeper]
            if not len(points):
                break
        points = np.concatenate(in_leaves)
        if len(points):
            out[points] = self._exact(x[points], y[points], np.concatenate(leaves))
        return out

    def _exact(self, x: np.ndarray, y: np.ndarray, leaf: np.ndarray) -> np.ndarray:
        """Exact answer for points in ambiguous leaf cells, against those cells' polygons.

        Each leaf lists its polygons in key order, so the first that covers a point is the
        answer: round r tests only the r-th polygon of the points not settled yet, which saves
        about a third of the tests over testing every (point, polygon) pair.
        """
        start = self._cand_ptr[leaf]
        count = self._cand_ptr[leaf + 1] - start
        out = np.full(len(leaf), -1, dtype=np.int64)
        todo = np.arange(len(leaf))
        rank = 0
        while len(todo):
            polygon = self._cand[start[todo] + rank]
            with self._lock:
                hit = shapely.intersects_xy(self._geoms[polygon], x[todo], y[todo])
            out[todo[hit]] = self._keys[polygon[hit]]
            rank += 1
            todo = todo[~hit & (count[todo] > rank)]
        return out
