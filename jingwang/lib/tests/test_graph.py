"""Shared graph helpers against independent checks: rook adjacency of squares, components by
union-find, contiguous parts that cover, do not overlap and stay in one piece."""

from __future__ import annotations

import random

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.graph import components, contiguous_parts, rook_edges, shared_edges

examples = settings(max_examples=60, deadline=None)


def squares(width: int, height: int) -> list[shapely.Geometry]:
    """Unit squares in rows, node i at column i % width, row i // width."""
    return [
        shapely.box(i % width, i // width, i % width + 1, i // width + 1)
        for i in range(width * height)
    ]


def grid_neighbours(width: int, height: int) -> dict[int, set[int]]:
    """Rook neighbours on a grid, by arithmetic alone."""
    adj: dict[int, set[int]] = {i: set() for i in range(width * height)}
    for i in adj:
        x, y = i % width, i // width
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if 0 <= x + dx < width and 0 <= y + dy < height:
                adj[i].add((y + dy) * width + x + dx)
    return adj


@given(st.integers(1, 7), st.integers(1, 7))
@examples
def test_shared_edges_of_squares_are_their_rook_neighbours(width: int, height: int) -> None:
    assert shared_edges(squares(width, height)) == grid_neighbours(width, height)


def test_a_corner_is_not_an_edge_and_the_edge_length_is_measured() -> None:
    a, b, c = shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.box(1, 0, 3, 0.5)
    assert shared_edges([a, b, c]) == {0: {2}, 1: set(), 2: {0}}
    left, right, length = rook_edges([a, b, c])
    assert (left.tolist(), right.tolist()) == ([0], [2])
    assert length.tolist() == pytest.approx([0.5])
    assert shared_edges([a]) == {0: set()}


def union_find_components(nodes: set[int], edges: list[tuple[int, int]]) -> list[list[int]]:
    parent = {n: n for n in nodes}

    def root(n: int) -> int:
        while parent[n] != n:
            n = parent[n]
        return n

    for u, v in edges:
        if u in nodes and v in nodes:
            parent[root(u)] = root(v)
    groups: dict[int, list[int]] = {}
    for n in sorted(nodes):
        groups.setdefault(root(n), []).append(n)
    return sorted(groups.values())


@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40),
            st.sets(st.integers(0, n - 1)),
        )
    )
)
@examples
def test_components_are_those_union_find_finds(case: tuple[int, list, set[int]]) -> None:
    n, edges, nodes = case
    adj: dict[int, set[int]] = {i: set() for i in range(n)}
    for u, v in edges:
        adj[u].add(v)
        adj[v].add(u)
    found = components(adj, nodes)
    assert found == union_find_components(nodes, edges)  # sorted pieces, by smallest node
    # A list of dicts (the division engine's adjacency) answers the same.
    assert components([dict.fromkeys(adj[i], 1.0) for i in range(n)], nodes) == found


@given(st.integers(2, 8), st.integers(2, 8), st.integers(1, 6), st.integers(0, 2**32 - 1))
@examples
def test_contiguous_parts_cover_without_overlap_and_stay_in_one_piece(
    width: int, height: int, k: int, seed: int
) -> None:
    rng = random.Random(seed)
    cells = squares(width, height)
    adj = shared_edges(cells)
    weight = {i: rng.randint(20, 50) for i in adj}
    xy = {i: (cells[i].centroid.x, cells[i].centroid.y) for i in adj}
    parts = contiguous_parts(list(adj), weight, adj, xy, k)
    assert 1 <= len(parts) <= k
    assert sorted(i for part in parts for i in part) == sorted(adj)
    for part in parts:
        assert part == sorted(part)
        assert len(components(adj, part)) == 1
        assert shapely.union_all([cells[i] for i in part]).geom_type == "Polygon"


def test_contiguous_parts_share_the_weight() -> None:
    """A 10 × 10 grid of equal units in four parts: each part within 15% of a quarter."""
    cells = squares(10, 10)
    adj = shared_edges(cells)
    xy = {i: (cells[i].centroid.x, cells[i].centroid.y) for i in adj}
    parts = contiguous_parts(list(adj), dict.fromkeys(adj, 1), adj, xy, 4)
    assert len(parts) == 4
    assert all(abs(len(part) - 25) <= 0.15 * 25 for part in parts), [len(p) for p in parts]
    assert contiguous_parts(list(adj), dict.fromkeys(adj, 1), adj, xy, 1) == [sorted(adj)]
