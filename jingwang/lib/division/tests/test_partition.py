"""The partitioner on its own: k contiguous regions, and the search's bookkeeping."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.division.graph import components, unit_graph
from jingwang.lib.division.partition import Bounds, _LocalSearch, choose_k, partition

from .maps import jittered_grid


def test_choose_k_stays_inside_the_range_when_it_can():
    assert choose_k(1000, 0, 400, Bounds(300, 500)) == 2  # 500 each; round(2.5) = 2
    assert choose_k(1300, 0, 400, Bounds(300, 500)) == 3
    assert choose_k(550, 0, 400, Bounds(300, 500)) == 1  # nothing fits: nearest to target
    assert choose_k(100, 0, 400, Bounds(300, 500)) == 1
    assert choose_k(800, 5600, 400, Bounds(300, 500, 2500)) == 2  # range beats population


@settings(max_examples=30, deadline=None)
@given(
    cols=st.integers(3, 14),
    rows=st.integers(3, 12),
    k=st.integers(1, 12),
    seed=st.integers(0, 10_000),
)
def test_partition_gives_k_contiguous_regions_covering_the_piece(cols, rows, k, seed):
    rng = np.random.default_rng(seed)
    graph = unit_graph(jittered_grid(cols, rows, rng))
    weight = rng.integers(5, 120, size=graph.n).astype(float)
    nodes = list(range(graph.n))
    regions = partition(graph, nodes, k, weight, weight, weight * 3, Bounds(200, 400), rng)
    assert sorted(u for r in regions for u in r) == nodes
    assert len(regions) == min(k, graph.n)
    for region in regions:
        assert len(components(graph.adj, region)) == 1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 8))
def test_the_search_tracks_its_objective_exactly(seed, k):
    rng = np.random.default_rng(seed)
    graph = unit_graph(jittered_grid(10, 8, rng))
    weight = rng.integers(5, 120, size=graph.n).astype(float)
    labels = [(i // 10) * k // 8 for i in range(graph.n)]  # bands of whole rows: contiguous
    search = _LocalSearch(
        adj=graph.adj,
        labels=labels,
        k=k,
        weight=weight,
        households=weight,
        population=weight * 3,
        bounds=Bounds(150, 400, 1000),
        edge_scale=float(graph.perimeter.mean()),
        compactness_weight=0.02,
    )

    def objective() -> float:
        balance = sum(search.region_cost(r) for r in range(k))
        cut = sum(
            w for u in range(graph.n) for v, w in graph.adj[u].items() if labels[v] != labels[u]
        )
        return balance + search.gamma * cut / 2

    before = objective()
    search.run(budget=10_000, kicks=3, rng=rng)
    assert abs((objective() - before) - search.objective) < 1e-6
    assert search.objective <= 1e-12
    for r in range(k):
        assert len(components(graph.adj, [u for u in range(graph.n) if labels[u] == r])) == 1
