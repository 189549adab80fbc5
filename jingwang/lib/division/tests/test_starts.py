"""Several starts: deterministic for a seed and a budget, never worse than one start."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jingwang.lib.division import BaseUnit, Policy, divide
from jingwang.lib.division.engine import MAX_STARTS, POLISH_STARTS
from jingwang.lib.division.graph import unit_graph
from jingwang.lib.division.partition import Bounds, partition, partition_scored

from .maps import random_units


def bad_seed_map() -> list[BaseUnit]:
    """64 units of 60-260 households in one community: with seed 2, one start leaves a block
    at 511 households (above 500); other starts find all blocks in range."""
    return random_units(8, 8, 1, 18, households=(60, 260), rural_share=0.0)


def out_of_range(plan) -> list[str]:
    return [r.id for r in plan.regions("block") if not r.in_range]


def test_the_same_seed_and_budget_give_the_same_plan():
    units = bad_seed_map()
    first = divide(units, Policy(search_seconds=1.0), seed=5)
    second = divide(units, Policy(search_seconds=1.0), seed=5)
    assert first.assignment == second.assignment
    assert first.search == second.search
    assert first.search["starts"] > first.search["pieces"]


def test_no_budget_means_one_start_per_piece():
    plan = divide(random_units(8, 8, 3, 1), Policy(search_seconds=0))
    assert plan.search["budget_seconds"] == 0
    assert plan.search["starts"] == plan.search["pieces"]
    assert plan.search["starts_per_piece"] == {"1": plan.search["pieces"]}


def test_the_first_start_is_the_one_start_plan_and_more_starts_are_never_worse():
    for map_seed in range(4):
        units = random_units(8, 8, 2, map_seed, households=(40, 200))
        one = divide(units, Policy(search_seconds=0), seed=1)
        several = divide(units, Policy(), seed=1)
        assert several.search["objective_first"] == pytest.approx(one.search["objective_best"])
        assert several.search["outside_first"] == one.search["outside_best"]
        # Each piece keeps its best start: fewer households out of range, else a lower objective.
        assert several.search["outside_best"] <= several.search["outside_first"]
        if several.search["outside_best"] == several.search["outside_first"]:
            assert several.search["objective_best"] <= several.search["objective_first"] + 1e-9
        assert len(out_of_range(several)) <= len(out_of_range(one))


def test_several_starts_bring_a_bad_seed_back_into_range():
    units = bad_seed_map()
    one = divide(units, Policy(search_seconds=0), seed=2)
    assert out_of_range(one), "the known bad seed no longer fails with one start"
    several = divide(units, Policy(), seed=2)
    assert out_of_range(several) == []
    assert several.search["pieces_failed_first"] == 1
    assert several.search["outside_first"] > 0 and several.search["outside_best"] == 0
    assert several.search["starts"] == MAX_STARTS  # a failed piece gets the most starts


def test_a_piece_does_not_depend_on_the_other_pieces():
    # Enough budget for every piece to get the most starts: then nothing is shared.
    policy = Policy(search_seconds=60)
    alone = random_units(8, 8, 1, 3)
    far = [
        dataclasses.replace(
            u,
            code=f"F{u.code}",
            community="FAR",
            geometry=_shifted(u.geometry, 10_000.0),
        )
        for u in random_units(6, 6, 1, 4)
    ]
    a = divide(alone, policy, seed=7)
    b = divide(alone + far, policy, seed=7)
    assert _blocks_of(a, {u.code for u in alone}) == _blocks_of(b, {u.code for u in alone})


def test_the_number_of_starts_follows_the_budget_and_stops_at_the_maximum():
    units = random_units(10, 10, 2, 6)
    small = divide(units, Policy(search_seconds=0.01), seed=0)
    large = divide(units, Policy(search_seconds=600), seed=0)
    assert small.search["starts"] < large.search["starts"]
    assert all(int(n) <= MAX_STARTS for n in large.search["starts_per_piece"])
    # A part out of range after its first start gets up to MAX_STARTS; one within range, one
    # more start to polish its balance.
    failed = large.search["pieces_failed_first"]
    others = large.search["pieces"] - failed
    assert large.search["starts"] == MAX_STARTS * failed + (1 + POLISH_STARTS) * others
    assert small.search["budget_work"] < large.search["budget_work"]


def test_parts_out_of_range_after_one_start_get_the_most_starts():
    # Rural blocks of 200-400 households over units of 40-240: single starts often miss.
    # (Map seed 10: one of its three communities misses the range by 4 households at first.)
    units = random_units(12, 12, 3, 10)
    units = [dataclasses.replace(u, kind="rural", households=u.households * 2) for u in units]
    plan = divide(units, Policy(search_seconds=600), seed=0)
    per_piece = {int(n): count for n, count in plan.search["starts_per_piece"].items()}
    assert plan.search["pieces_failed_first"] == 1
    assert per_piece == {1 + POLISH_STARTS: 2, MAX_STARTS: 1}
    assert plan.search["outside_first"] > 0 and plan.search["outside_best"] == 0
    assert not [v for v in plan.violations if v.code.startswith("block_households")]


def test_partition_scored_measures_the_regions_it_returns():
    units = random_units(6, 6, 1, 2)
    graph = unit_graph([u.geometry for u in units])
    hh = np.array([u.households for u in units], dtype=float)
    nodes = list(range(len(units)))
    bounds = Bounds(300, 500)
    scored = partition_scored(graph, nodes, 4, hh, hh, hh * 3, bounds, np.random.default_rng(3))
    plain = partition(graph, nodes, 4, hh, hh, hh * 3, bounds, np.random.default_rng(3))
    assert scored.regions == plain  # same generator, same regions
    outside = sum(max(0.0, 300 - hh[r].sum()) + max(0.0, hh[r].sum() - 500) for r in plain)
    assert scored.outside == pytest.approx(outside)
    assert scored.work >= len(nodes) and scored.objective >= 0


def _shifted(geometry, dx: float):
    import shapely

    return shapely.transform(geometry, lambda xy: xy + np.array([dx, 0.0]))


def _blocks_of(plan, codes: set[str]) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for code, block in plan.assignment["block"].items():
        if code in codes:
            groups.setdefault(block, []).append(code)
    return sorted(sorted(g) for g in groups.values())
