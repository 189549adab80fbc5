"""Point → grid lookup: which grid polygon covers a WGS-84 lon/lat point. Django-free.

A point belongs to every polygon that *covers* it (interior or boundary); when several do (a
shared edge or vertex, or overlapping polygons in bad data) the smallest key wins, so the answer
never depends on input order.

The index is a quadtree of cells over the layer's bounding box. Level 0 is a uniform raster with
a few cells per polygon; each cell is classified once, exactly:

* resolved — the polygon with the smallest key among those meeting the closed cell covers the
  whole closed cell, so every point in it answers that key (a numpy lookup);
* empty — no polygon meets the closed cell;
* ambiguous — anything else, or a cell a boundary may cross. An ambiguous cell is split into
  2 x 2 children while it is large next to the polygons meeting it (so the raster is finer where
  grids are small: towns, where most incidents are) and the cell budget allows, the largest
  relative to its polygons first; an ambiguous cell that is not split is a leaf: it keeps the
  list of polygons that may meet it, and its points are checked exactly against those few
  polygons only (shapely.intersects_xy).

Classification makes no GEOS call (bench/RESULTS.md, "Point lookup", has the build times): it
works on the polygons' boundaries as segments, in numpy. A segment is *near* a cell when its
bounding box meets the closed cell, unless the cell's four corners are all clearly on one side
of its line (a margin far above rounding keeps "near" a superset of "meets"). A polygon with no segment near a
cell either covers the closed cell or misses it, and the cell's centre tells which: the parity
of the polygon's boundary crossings left of the centre on the centre's row, whose rounding
cannot matter since every crossing is more than half a cell away (cells stop splitting long
before they get that small next to the float spacing). So a cell is resolved when its smallest
covering polygon is smaller than every polygon with a segment near it, empty when no polygon
covers it or comes near, ambiguous otherwise, with those near polygons (up to the covering one)
as its list. Level 0's pairs come from the polygons' and segments' bounding boxes; a child's
from its parent's lists and the segments near its parent.

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
_SUB_COL = np.arange(_SPLIT**2) % _SPLIT  # sub-cell c of a split cell: its column, its row
_SUB_ROW = np.arange(_SPLIT**2) // _SPLIT
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
    polygonal = np.isin(shapely.get_type_id(geoms), list(_POLYGONAL))
    empty = shapely.is_empty(geoms)
    valid = np.zeros(len(geoms), dtype=bool)
    valid[polygonal & ~empty] = shapely.is_valid(geoms[polygonal & ~empty])
    for bad in np.nonzero(~valid)[0].tolist():  # the first bad one, reported as before
        geom, key = geoms[bad], key_list[bad]
        if not polygonal[bad]:
            raise ValueError(
                f"grid {key}: expected a Polygon or MultiPolygon, got {geom.geom_type}"
            )
        if empty[bad]:
            raise ValueError(f"grid {key}: empty geometry")
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
    cand_ptr: np.ndarray  # CSR over ambiguous ids: polygons that may meet each ambiguous cell
    cand: np.ndarray


@dataclass
class _Segments:
    """Every polygon's boundary as straight segments (all rings, all parts), in polygon order."""

    n_polys: int
    poly: np.ndarray  # position of the polygon each segment bounds
    x0: np.ndarray
    y0: np.ndarray
    dx: np.ndarray  # x1 - x0
    dy: np.ndarray
    lox: np.ndarray  # the segment's bounding box
    hix: np.ndarray
    loy: np.ndarray
    hiy: np.ndarray

    @classmethod
    def of(cls, geoms: np.ndarray) -> _Segments:
        parts, part_poly = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        xy, ring = shapely.get_coordinates(rings, return_index=True)
        start = np.nonzero(ring[:-1] == ring[1:])[0]
        x0, y0, x1, y1 = xy[start, 0], xy[start, 1], xy[start + 1, 0], xy[start + 1, 1]
        return cls(
            n_polys=len(geoms),
            poly=part_poly[ring_part[ring[start]]].astype(np.int64),
            x0=x0,
            y0=y0,
            dx=x1 - x0,
            dy=y1 - y0,
            lox=np.minimum(x0, x1),
            hix=np.maximum(x0, x1),
            loy=np.minimum(y0, y1),
            hiy=np.maximum(y0, y1),
        )


def _crosses(
    segs: _Segments,
    seg: np.ndarray,
    x_lo: np.ndarray,
    x_hi: np.ndarray,
    y_lo: np.ndarray,
    y_hi: np.ndarray,
    scale: float,
) -> np.ndarray:
    """Whether each segment's line may pass through its box (its bounding box meets the box).

    False only when the box's four corners are all clearly on one side of the line: the side
    tests are rounded, so a margin far above their rounding error keeps the answer
    conservative (a segment that meets the box always answers True).
    """
    dx, dy, x0, y0 = segs.dx[seg], segs.dy[seg], segs.x0[seg], segs.y0[seg]
    margin = (np.abs(dx) + np.abs(dy)) * (scale * 2.0**-40)
    above = np.ones(len(seg), dtype=bool)
    below = np.ones(len(seg), dtype=bool)
    for x, y in ((x_lo, y_lo), (x_lo, y_hi), (x_hi, y_lo), (x_hi, y_hi)):
        side = dx * (y - y0) - dy * (x - x0)
        above &= side > margin
        below &= side < -margin
    return ~(above | below)


def _span(edges: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last cell whose closed extent [edges[i], edges[i + 1]] meets [lo, hi].

    Exact: comparisons with the very edges the cells are made of (values within the edges).
    """
    last = len(edges) - 2
    first = np.clip(np.searchsorted(edges, lo, "left") - 1, 0, last)
    end = np.clip(np.searchsorted(edges, hi, "right") - 1, 0, last)
    return first, np.maximum(end, first)


def _expand_spans(
    col0: np.ndarray, col1: np.ndarray, row0: np.ndarray, row1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, col, row) for every cell of each owner's block of columns x rows."""
    ncol = col1 - col0 + 1
    count = ncol * (row1 - row0 + 1)
    owner = np.repeat(np.arange(len(col0)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    step = ncol[owner]
    return owner, col0[owner] + k % step, row0[owner] + k // step


def _inside(
    segs: _Segments,
    xs: np.ndarray,
    ys: np.ndarray,
    col: np.ndarray,
    row: np.ndarray,
    poly: np.ndarray,
) -> np.ndarray:
    """Whether each polygon holds the centre of the cell (col, row), by crossing parity.

    Only asked for pairs whose cell no segment of the polygon comes near (its bounding box does
    not meet the closed cell), so every crossing of the polygon's boundary with the cell's
    centre line lies more than half a cell away from the centre: the rounding of the crossing's
    abscissa (a few ulps) cannot change which side it falls on (see _reliable). Crossings follow
    the half-open rule lo <= y < hi, so a vertex on the line counts once.
    """
    if not len(poly):
        return np.zeros(0, dtype=bool)
    n_rows = len(ys) - 1
    centre_y = (ys[:-1] + ys[1:]) * 0.5
    centre_x = (xs[col] + xs[col + 1]) * 0.5
    group = poly * n_rows + row
    groups = np.sort(group)
    groups = groups[np.append(True, groups[1:] != groups[:-1])]
    # The (segment, group) crossings, for the groups asked about only: the segments crossing
    # some row's centre line (lo <= y < hi), then the asked rows among those they cross.
    wanted = np.zeros(segs.n_polys, dtype=bool)
    wanted[poly] = True
    mine = np.nonzero(wanted[segs.poly])[0]
    first_row = np.searchsorted(centre_y, segs.loy[mine], "left")
    end_row = np.searchsorted(centre_y, segs.hiy[mine], "left")
    crossing = np.nonzero(end_row > first_row)[0]
    base = segs.poly[mine[crossing]] * n_rows
    lo = np.searchsorted(groups, base + first_row[crossing], "left")
    hi = np.searchsorted(groups, base + end_row[crossing], "left")
    owner, at = _ranges(lo, hi)
    seg = mine[crossing[owner]]
    y = centre_y[groups[at] % n_rows]
    cross = segs.x0[seg] + (y - segs.y0[seg]) * segs.dx[seg] / segs.dy[seg]
    order = np.argsort(at, kind="stable")
    at, cross = at[order], cross[order]
    ptr = np.searchsorted(at, np.arange(len(groups) + 1), "left")
    asked, position = _expand_csr(ptr, np.searchsorted(groups, group))
    left = asked[cross[position] < centre_x[asked]]
    return (np.bincount(left, minlength=len(poly)) & 1).astype(bool)


def _classify(
    segs: _Segments,
    xs: np.ndarray,
    ys: np.ndarray,
    col: np.ndarray,
    row: np.ndarray,
    pair_cell: np.ndarray,
    pair_poly: np.ndarray,
    touch_cell: np.ndarray,
    touch_seg: np.ndarray,
    n_polys: int,
    reliable: bool,
) -> _Classified:
    """Classify the cells (col, row) of one level, without GEOS.

    (pair_cell, pair_poly), sorted by cell then polygon, are a superset of the polygons meeting
    each cell; (touch_cell, touch_seg) every segment whose bounding box meets a cell. A polygon
    none of whose segments comes near a cell either covers the closed cell or misses it, which
    the cell's centre tells (_inside); a polygon some segment of which comes near it may do
    anything. Unless `reliable`, every pair counts as near: every cell met is ambiguous.
    """
    n_cells = len(col)
    key = pair_cell.astype(np.int64) * n_polys + pair_poly
    near = np.zeros(len(key), dtype=bool)
    if reliable:
        touch = np.sort(touch_cell.astype(np.int64) * n_polys + segs.poly[touch_seg])
        at = np.searchsorted(key, touch)
        found = at < len(key)
        at, touch = at[found], touch[found]
        near[at[key[at] == touch]] = True
    else:
        near[:] = True
    inside = np.zeros(len(key), dtype=bool)
    far = np.nonzero(~near)[0]
    cells = pair_cell[far]
    inside[far] = _inside(segs, xs, ys, col[cells], row[cells], pair_poly[far])
    # Pairs are sorted by polygon within a cell: a cell's first pair of a kind has its smallest.
    none = np.iinfo(np.int64).max
    cover = _first(pair_cell, pair_poly, inside, n_cells, none)
    nearest = _first(pair_cell, pair_poly, near, n_cells, none)
    resolved = cover < nearest  # covered, and nothing smaller may meet it
    ambiguous = np.nonzero(nearest < cover)[0]
    codes = np.full(n_cells, _EMPTY, dtype=np.int32)
    codes[resolved] = cover[resolved]
    codes[ambiguous] = -2 - np.arange(len(ambiguous), dtype=np.int32)
    # An ambiguous cell's candidates: the near polygons smaller than its covering one, if any,
    # then that one (it covers the cell: larger keys never win there).
    best = cover[pair_cell]
    keep = (nearest < cover)[pair_cell] & ((near & (pair_poly < best)) | (pair_poly == best))
    cand = pair_poly[keep].astype(np.int32)
    cand_ptr = np.zeros(len(ambiguous) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_cell[keep], minlength=n_cells)[ambiguous], out=cand_ptr[1:])
    return _Classified(codes, ambiguous, cand_ptr, cand)


def _first(
    pair_cell: np.ndarray, pair_poly: np.ndarray, chosen: np.ndarray, n_cells: int, none: int
) -> np.ndarray:
    """Per cell, the smallest polygon among its chosen pairs (none if no pair is chosen)."""
    out = np.full(n_cells, none, dtype=np.int64)
    at = np.nonzero(chosen)[0]
    cell = pair_cell[at]
    start = np.ones(len(at), dtype=bool)
    start[1:] = cell[1:] != cell[:-1]
    out[cell[start]] = pair_poly[at[start]]
    return out


def _select(found: _Classified, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr, cand) of the candidate lists of the given ambiguous ids, in that order."""
    _, position = _expand_csr(found.cand_ptr, ids)
    ptr = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(found.cand_ptr[ids + 1] - found.cand_ptr[ids], out=ptr[1:])
    return ptr, found.cand[position]


def _expand_csr(ptr: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the positions ptr[ids[i]] .. ptr[ids[i] + 1] - 1: (owner i, position) pairs."""
    return _ranges(ptr[ids], ptr[ids + 1])


def _ranges(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the positions start[i] .. stop[i] - 1: (owner i, position) pairs."""
    count = stop - start
    owner = np.repeat(np.arange(len(start)), count)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    return owner, np.repeat(start, count) + offset


def _reliable(xs: np.ndarray, ys: np.ndarray, scale: float) -> bool:
    """Whether cells are wide enough for crossing parity at their centres (_inside).

    A crossing's abscissa is off by a few ulps of the coordinates at most; half a cell must be
    far more than that.
    """
    tolerance = scale * 2.0**-30
    return bool(np.diff(xs).min() > 2 * tolerance and np.diff(ys).min() > 2 * tolerance)


def _carry(
    segs: _Segments,
    xs: np.ndarray,
    ys: np.ndarray,
    seg: np.ndarray,
    block: np.ndarray,
    col: np.ndarray,
    row: np.ndarray,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(cell, segment) pairs of the next level from those of split cells (block, col, row).

    xs, ys are the next level's edges; a segment goes to each child whose closed box its
    bounding box meets and whose line may cross it (_crosses).
    """
    # The children's outer edges are the parent's, which the bounding box met: one comparison
    # with the middle edges per side tells which children it meets.
    mid_x, mid_y = xs[col * _SPLIT + 1], ys[row * _SPLIT + 1]
    west, east = segs.lox[seg] <= mid_x, segs.hix[seg] >= mid_x
    south, north = segs.loy[seg] <= mid_y, segs.hiy[seg] >= mid_y
    # Meeting one child only, the segment may cross it (it may cross the parent); meeting
    # several, test its line against each.
    several = (west & east) | (south & north)
    cells, segments = [], []
    for sub, (side_x, side_y) in enumerate(
        ((west, south), (east, south), (west, north), (east, north))
    ):
        meets = side_x & side_y
        test = np.nonzero(meets & several)[0]
        child_col = col[test] * _SPLIT + sub % _SPLIT
        child_row = row[test] * _SPLIT + sub // _SPLIT
        meets[test] = _crosses(
            segs,
            seg[test],
            xs[child_col],
            xs[child_col + 1],
            ys[child_row],
            ys[child_row + 1],
            scale,
        )
        cells.append(block[meets].astype(np.int64) * _SPLIT**2 + sub)
        segments.append(seg[meets])
    return np.concatenate(cells), np.concatenate(segments)


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
        scale = max(1.0, abs(minx), abs(maxx), abs(miny), abs(maxy))
        segs = _Segments.of(self._geoms)
        col_grid, row_grid = np.meshgrid(np.arange(cols), np.arange(rows))
        col, row = col_grid.ravel(), row_grid.ravel()
        # Level 0's pairs: each polygon with the cells its bounding box meets, and each segment
        # with the cells its bounding box meets.
        bounds = shapely.bounds(self._geoms)
        poly, pair_col, pair_row = _expand_spans(
            *_span(xs, bounds[:, 0], bounds[:, 2]), *_span(ys, bounds[:, 1], bounds[:, 3])
        )
        pair_cell = pair_row * cols + pair_col
        order = np.lexsort((poly, pair_cell))
        touch_seg, touch_col, touch_row = _expand_spans(
            *_span(xs, segs.lox, segs.hix), *_span(ys, segs.loy, segs.hiy)
        )
        near = _crosses(
            segs,
            touch_seg,
            xs[touch_col],
            xs[touch_col + 1],
            ys[touch_row],
            ys[touch_row + 1],
            scale,
        )
        touch_seg, touch_cell = touch_seg[near], (touch_row * cols + touch_col)[near]
        found = _classify(
            segs,
            xs,
            ys,
            col,
            row,
            pair_cell[order],
            poly[order],
            touch_cell,
            touch_seg,
            n,
            _reliable(xs, ys, scale),
        )
        self._add_level(xs, ys, found.codes)
        areas = shapely.area(self._geoms)
        budget = max(_CELL_BUDGET * n, _MIN_BUDGET) - len(found.codes)
        leaf_ptr: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        leaf_cand: list[np.ndarray] = []
        while True:
            split = np.zeros(len(found.ambiguous), dtype=bool)
            next_xs, next_ys = _split_edges(xs), _split_edges(ys)
            # Stop splitting at the depth limit, or where cells get near the float spacing.
            if len(self._levels) <= _MAX_REFINEMENTS and _reliable(next_xs, next_ys, scale):
                amb_col, amb_row = col[found.ambiguous], row[found.ambiguous]
                split = _worth_splitting(found, areas, xs, ys, amb_col, amb_row, budget)
            self._make_leaves(found, ~split, leaf_ptr, leaf_cand)
            if not split.any():
                break
            chosen = np.nonzero(split)[0]
            found.codes[found.ambiguous[chosen]] = -2 - np.arange(len(chosen), dtype=np.int32)
            # Carry the segments near a split cell down to the children they come near.
            code = found.codes[touch_cell]
            carried = (code <= -2) & (code > _LEAF)
            cells = touch_cell[carried]
            xs, ys = next_xs, next_ys
            touch_cell, touch_seg = _carry(
                segs,
                xs,
                ys,
                touch_seg[carried],
                -2 - code[carried],
                col[cells],
                row[cells],
                scale,
            )
            parent = found
            col = (col[parent.ambiguous[chosen], None] * _SPLIT + _SUB_COL[None, :]).ravel()
            row = (row[parent.ambiguous[chosen], None] * _SPLIT + _SUB_ROW[None, :]).ravel()
            # A child can only meet polygons that may meet its parent. Child c of block b is
            # cell b * SPLIT² + c, so pairs come out sorted by cell, then polygon.
            ptr, cand = _select(parent, chosen)
            pair_cell, position = _expand_csr(ptr, np.repeat(np.arange(len(chosen)), _SPLIT**2))
            found = _classify(
                segs,
                xs,
                ys,
                col,
                row,
                pair_cell,
                cand[position].astype(np.int64),
                touch_cell,
                touch_seg,
                n,
                True,
            )
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
