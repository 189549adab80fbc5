"""The point → grid index against brute-force shapely, and its edge cases."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.locate import GridIndex, _cells, _edges, _split_edges

# Dyadic coordinates near a real county: 105 + k / 1024 is exact in binary floating point, and so
# are midpoints and quarter points of edges between such vertices, so points built from them lie
# *exactly* on shared edges and vertices (not merely close to them).
LON, LAT = 105.0, 31.0
STEP = 1 / 1024

examples = settings(max_examples=50, deadline=None)


def brute_force(geoms: list, keys: list[int], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smallest key among polygons that cover the point, -1 if none: the specification."""
    points = shapely.points(x, y)
    expected = np.full(len(x), -1, dtype=np.int64)
    # Write keys in descending order, so the smallest covering key is written last.
    for geom, key in sorted(zip(geoms, keys, strict=True), key=lambda pair: -pair[1]):
        expected[shapely.covers(geom, points)] = key
    return expected


def check(geoms: list, keys: list[int], x: np.ndarray, y: np.ndarray) -> GridIndex:
    """locate_many equals brute force on every point, and locate agrees with locate_many."""
    index = GridIndex(geoms, keys)
    assert len(index) == len(geoms)
    edge_x, edge_y = _on_cell_edges(index, x, y)
    x, y = np.concatenate([x, edge_x]), np.concatenate([y, edge_y])
    got = index.locate_many(x, y)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, brute_force(geoms, keys, x, y))
    for xi, yi, gi in zip(x.tolist(), y.tolist(), got.tolist(), strict=True):
        assert index.locate(xi, yi) == (None if gi == -1 else gi)
    return index


def _on_cell_edges(index: GridIndex, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The given points moved onto cell edges of the index (white box): onto a column edge, a
    row edge, and a cell corner, each of a random level."""
    if not index._levels:
        return x[:0], y[:0]
    rng = np.random.default_rng(len(x))
    levels = rng.integers(len(index._levels), size=2)
    ex = rng.choice(index._levels[levels[0]].xs, len(x))
    ey = rng.choice(index._levels[levels[1]].ys, len(y))
    return np.concatenate([ex, x, ex]), np.concatenate([y, ey, ey])


def random_keys(rng: np.random.Generator, n: int) -> list[int]:
    """Distinct non-negative keys in random order, so key order differs from input order."""
    return rng.choice(10 * n + 10, size=n, replace=False).tolist()


def vertices_and_edge_points(geoms: list) -> tuple[np.ndarray, np.ndarray]:
    """All polygon vertices and the midpoints of all polygon edges."""
    coords = shapely.get_coordinates(shapely.boundary(geoms))
    mids = (coords[:-1] + coords[1:]) / 2  # across rings too: harmless extra points
    both = np.vstack([coords, mids])
    return both[:, 0], both[:, 1]


def voronoi_partition(rng: np.random.Generator, n: int, lonlat: bool) -> list:
    box = (LON, LAT, LON + 0.2, LAT + 0.15) if lonlat else (0.0, 0.0, 1.0, 1.0)
    seeds = np.column_stack([rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)])
    frame = shapely.box(*box)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame)
    parts = shapely.intersection(shapely.get_parts(cells), frame)
    return [p for p in parts if p.geom_type == "Polygon" and not p.is_empty and p.is_valid]


def jittered_grid(rng: np.random.Generator, cols: int, rows: int, straight: bool) -> list:
    """cols x rows quads over dyadic lattice vertices; straight=True keeps grid lines axis-aligned
    (jittering whole lines), so many points and cell edges coincide with polygon edges."""
    size = 32  # lattice units of STEP per grid cell
    if straight:
        xs = np.cumsum(rng.integers(size // 2, 2 * size, cols + 1))
        ys = np.cumsum(rng.integers(size // 2, 2 * size, rows + 1))
        px, py = np.meshgrid(xs, ys)
    else:
        px, py = np.meshgrid(np.arange(cols + 1) * size, np.arange(rows + 1) * size)
        px = px + rng.integers(-size // 3, size // 3 + 1, px.shape)
        py = py + rng.integers(-size // 3, size // 3 + 1, py.shape)
    lon, lat = LON + px * STEP, LAT + py * STEP
    cells = []
    for r in range(rows):
        for c in range(cols):
            corners = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)]
            cells.append(shapely.Polygon([(lon[i, j], lat[i, j]) for i, j in corners]))
    return cells


def dyadic_points(rng: np.random.Generator, geoms: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random lattice points at quarter-STEP resolution in and around the layer: many fall
    exactly on edges (straight grids) and some on vertices."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    kx = rng.integers(round((minx - LON) / STEP * 4) - 8, round((maxx - LON) / STEP * 4) + 9, n)
    ky = rng.integers(round((miny - LAT) / STEP * 4) - 8, round((maxy - LAT) / STEP * 4) + 9, n)
    return LON + kx * STEP / 4, LAT + ky * STEP / 4


def uniform_points(rng: np.random.Generator, geoms: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points over the layer's bounds grown by 10% (some outside every grid)."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    dx, dy = 0.1 * (maxx - minx), 0.1 * (maxy - miny)
    return rng.uniform(minx - dx, maxx + dx, n), rng.uniform(miny - dy, maxy + dy, n)


def overlapping_boxes(rng: np.random.Generator, geoms: list, n: int) -> list:
    """Bad data: a few boxes on dyadic coordinates laid over the partition."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    boxes = []
    for _ in range(n):
        x0, x1 = np.sort(rng.uniform(minx, maxx, 2))
        y0, y1 = np.sort(rng.uniform(miny, maxy, 2))
        snap = [LON + round((v - LON) / STEP) * STEP for v in (x0, x1)]
        snap_y = [LAT + round((v - LAT) / STEP) * STEP for v in (y0, y1)]
        if snap[0] < snap[1] and snap_y[0] < snap_y[1]:
            boxes.append(shapely.box(snap[0], snap_y[0], snap[1], snap_y[1]))
    return boxes


@examples
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), lonlat=st.booleans())
def test_voronoi_partition_matches_brute_force(seed: int, n: int, lonlat: bool) -> None:
    rng = np.random.default_rng(seed)
    geoms = voronoi_partition(rng, n, lonlat)
    keys = random_keys(rng, len(geoms))
    ux, uy = uniform_points(rng, geoms, 300)
    vx, vy = vertices_and_edge_points(geoms)
    check(geoms, keys, np.concatenate([ux, vx]), np.concatenate([uy, vy]))


@examples
@given(
    seed=st.integers(0, 2**32 - 1),
    cols=st.integers(1, 8),
    rows=st.integers(1, 8),
    straight=st.booleans(),
    overlaps=st.integers(0, 3),
)
def test_jittered_grid_matches_brute_force_on_edges_and_vertices(
    seed: int, cols: int, rows: int, straight: bool, overlaps: int
) -> None:
    rng = np.random.default_rng(seed)
    geoms = jittered_grid(rng, cols, rows, straight)
    geoms += overlapping_boxes(rng, geoms, overlaps)
    keys = random_keys(rng, len(geoms))
    vx, vy = vertices_and_edge_points(geoms)
    coords = shapely.get_coordinates(shapely.boundary(geoms))
    quarter = 0.75 * coords[:-1] + 0.25 * coords[1:]  # exact: dyadic vertices
    dx, dy = dyadic_points(rng, geoms, 300)
    ux, uy = uniform_points(rng, geoms, 100)
    x = np.concatenate([vx, quarter[:, 0], dx, ux])
    y = np.concatenate([vy, quarter[:, 1], dy, uy])
    check(geoms, keys, x, y)


@examples
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30))
def test_multipolygons_and_holes_match_brute_force(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    cells = voronoi_partition(rng, 2 * n, lonlat=True)
    # Merge cells pairwise into (possibly disjoint) MultiPolygons, and punch a hole in some.
    geoms = []
    for i in range(0, len(cells) - 1, 2):
        merged = shapely.union(cells[i], cells[i + 1])
        if rng.random() < 0.3:
            centre = merged.representative_point()
            merged = shapely.difference(merged, centre.buffer(0.002))
        if not merged.is_empty and merged.is_valid:
            geoms.append(merged)
    keys = random_keys(rng, len(geoms))
    ux, uy = uniform_points(rng, geoms, 300) if geoms else (np.zeros(0), np.zeros(0))
    vx, vy = vertices_and_edge_points(geoms) if geoms else (np.zeros(0), np.zeros(0))
    check(geoms, keys, np.concatenate([ux, vx]), np.concatenate([uy, vy]))


def square(x: float, y: float, size: float = 1.0) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_a_shared_edge_goes_to_the_smaller_key_whatever_the_input_order(order: list[int]) -> None:
    geoms, keys = [square(0, 0), square(1, 0)], [7, 3]
    index = GridIndex([geoms[i] for i in order], [keys[i] for i in order])
    assert index.locate(1.0, 0.5) == 3
    assert index.locate(0.5, 0.5) == 7
    assert index.locate(1.5, 0.5) == 3
    got = index.locate_many(np.array([1.0, 1.0, 1.0]), np.array([0.0, 0.25, 1.0]))
    assert got.tolist() == [3, 3, 3]


def test_a_shared_vertex_goes_to_the_smallest_of_four_keys() -> None:
    geoms = [square(0, 0), square(1, 0), square(0, 1), square(1, 1)]
    index = GridIndex(geoms, [9, 4, 6, 5])
    assert index.locate(1.0, 1.0) == 4
    assert index.locate(0.5, 1.0) == 6  # edge between keys 9 and 6
    assert index.locate(1.5, 1.0) == 4  # edge between keys 4 and 5


def test_overlapping_grids_resolve_to_the_smallest_key() -> None:
    index = GridIndex([square(0, 0, 4), square(1, 1)], [5, 2])
    assert index.locate(1.5, 1.5) == 2
    assert index.locate(3.0, 3.0) == 5
    assert index.locate(1.0, 1.0) == 2


def test_points_outside_every_grid_find_none() -> None:
    ring = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]]
    )
    index = GridIndex([ring, square(5, 0)], [1, 2])
    outside = [(2.0, 2.0), (-1.0, 0.5), (4.5, 0.5), (10.0, 10.0), (math.nan, 1.0)]
    outside += [(math.inf, 0.0), (0.5, -math.inf)]
    for x, y in outside:
        assert index.locate(x, y) is None
    xs, ys = (np.array(v) for v in zip(*outside, strict=True))
    assert index.locate_many(xs, ys).tolist() == [-1] * len(outside)
    assert index.locate(1.0, 2.0) == 1  # the hole's edge belongs to the polygon
    assert index.locate(0.5, 0.5) == 1


def test_an_empty_index_finds_nothing() -> None:
    index = GridIndex([], [])
    assert len(index) == 0
    assert index.locate(105.0, 31.0) is None
    got = index.locate_many(np.array([105.0, 0.0]), np.array([31.0, 0.0]))
    assert got.dtype == np.int64 and got.tolist() == [-1, -1]


def test_a_single_polygon() -> None:
    triangle = shapely.Polygon([(105.0, 31.0), (105.125, 31.0), (105.0, 31.125)])
    index = GridIndex([triangle], [0])
    assert len(index) == 1
    assert index.locate(105.01, 31.01) == 0
    assert index.locate(105.0625, 31.0625) == 0  # exactly on the hypotenuse (dyadic)
    assert index.locate(105.0625, 31.0625 + 2**-40) is None  # just beyond it
    assert index.locate(105.1, 31.1) is None
    assert index.locate_many([], []).tolist() == []


def test_a_multipolygon_grid() -> None:
    grid = shapely.MultiPolygon([square(0, 0), square(3, 0)])
    index = GridIndex([grid, square(0, 2)], [8, 1])
    assert index.locate(0.5, 0.5) == 8
    assert index.locate(3.5, 0.5) == 8
    assert index.locate(2.0, 0.5) is None  # between the parts
    assert index.locate(0.5, 2.5) == 1


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "invalid"),  # bow-tie
        (shapely.Polygon(), "empty"),
        (shapely.Point(0, 0), "Polygon"),
        (shapely.LineString([(0, 0), (1, 1)]), "Polygon"),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0))", "not a geometry"),
    ],
)
def test_bad_geometry_is_refused_naming_its_key(geometry: object, reason: str) -> None:
    with pytest.raises(ValueError, match=rf"grid 42\b.*{reason}"):
        GridIndex([square(5, 5), geometry], [1, 42])


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        GridIndex([square(0, 0)], [-1])
    with pytest.raises(ValueError, match="keys"):
        GridIndex([square(0, 0)], [1, 2])


@examples
@given(
    lo=st.floats(-180, 179),
    width=st.floats(1e-6, 1.0),
    n=st.integers(1, 500),
    splits=st.integers(0, 3),
)
def test_cell_assignment_is_half_open_on_the_exact_edges(
    lo: float, width: float, n: int, splits: int
) -> None:
    # Levels must agree on which cell holds a point on an edge, or a lookup would descend into
    # the wrong parent's children: every value v goes to the i with edges[i] <= v < edges[i + 1].
    edges = _edges(lo, lo + width, n)
    for _ in range(splits):
        edges = _split_edges(edges)
    assert np.all(np.diff(edges) > 0)
    values = np.concatenate(
        [
            edges,
            np.nextafter(edges, np.inf),
            np.nextafter(edges, -np.inf),
            (edges[:-1] + edges[1:]) / 2,
        ]
    )
    values = values[(values >= edges[0]) & (values <= edges[-1])]
    index = _cells(edges, values)
    last = len(edges) - 2
    assert np.all(edges[index] <= values)
    assert np.all((values < edges[index + 1]) | ((index == last) & (values == edges[-1])))


def test_one_index_is_safe_to_share_between_threads() -> None:
    # GEOS prepared geometries build their internal indexes lazily and are not thread-safe;
    # the first concurrent uses of a fresh index are the dangerous moment.
    rng = np.random.default_rng(7)
    geoms = voronoi_partition(rng, 400, lonlat=True)
    keys = list(range(len(geoms)))
    x, y = uniform_points(rng, geoms, 20_000)
    want = GridIndex(geoms, keys).locate_many(x, y)
    index = GridIndex(geoms, keys)
    chunks = np.array_split(np.arange(len(x)), 8)

    def work(part: np.ndarray) -> list[int]:
        single = [index.locate(x[i], y[i]) for i in part[:300]]
        assert single == [None if k == -1 else k for k in want[part[:300]].tolist()]
        return index.locate_many(x[part], y[part]).tolist()

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = [k for part in pool.map(work, chunks) for k in part]
    assert got == want.tolist()
