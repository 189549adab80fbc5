"""Counts and reasons that know the data: forced blocks, and the cause of every violation."""

from __future__ import annotations

import dataclasses

import numpy as np

from jingwang.lib.division import Policy, divide, move_unit
from jingwang.lib.division.graph import unit_graph
from jingwang.lib.division.model import CAUSES
from jingwang.lib.division.partition import Bounds, split_forced

from . import messy
from .maps import random_units, unit


def pocket_strip():
    """The issue's case: a dead-end unit P (40 households) that touches only BIG (612, above
    the urban maximum of 500), then eight units of 100 households in a row."""
    return [unit("P", 0, 0, 40), unit("BIG", 1, 0, 612)] + [
        unit(f"U{i}", 2 + i, 0, 100) for i in range(8)
    ]


def blocks(plan) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for code, block in plan.assignment["block"].items():
        groups.setdefault(block, []).append(code)
    return sorted(sorted(g) for g in groups.values())


def block_violations(plan):
    return [v for v in plan.violations if v.level == "block"]


def test_an_oversized_unit_and_its_pocket_are_one_block_and_the_rest_is_counted_apart():
    # Counted as one piece (1452 households) this used to give 4 blocks: BIG with P, and three
    # of 800 / 3 = 267 households, all below 300. The rest alone (800) makes 2 blocks of 400.
    plan = divide(pocket_strip(), Policy())
    assert blocks(plan) == [
        ["BIG", "P"],
        ["U0", "U1", "U2", "U3"],
        ["U4", "U5", "U6", "U7"],
    ]
    assert plan.search["forced_blocks"] == 1
    found = block_violations(plan)
    assert [v.code for v in found] == ["block_households_high"]
    (high,) = found
    assert high.cause == "data"
    assert "BIG" in high.ids and "P" in high.ids
    assert "because unit BIG alone has 612 households" in high.message
    assert "unit(s) P (40 households), cut off behind it" in high.message


def test_split_forced_finds_the_unit_and_its_pocket():
    units = pocket_strip()
    graph = unit_graph([u.geometry for u in units])
    hh = np.array([u.households for u in units], dtype=float)
    split = split_forced(graph.adj, range(len(units)), hh, Bounds(300, 500))
    assert [(f.unit, f.pocket) for f in split.forced] == [(1, (0,))]
    assert split.rest == (tuple(range(2, 10)),)


def test_a_pocket_on_generated_data_joins_its_big_unit_and_every_violation_is_data():
    units, big, pocket = messy.dead_end_pocket(messy.clean_county(300, seed=4), size=2)
    plan = divide(units, Policy())
    block = plan.assignment["block"][big]
    assert all(plan.assignment["block"][p] == block for p in pocket)
    members = sorted(c for c, b in plan.assignment["block"].items() if b == block)
    assert members == sorted([big, *pocket])
    found = block_violations(plan)
    assert found, "the big unit's block is above the maximum"
    for v in found:
        assert v.cause == "data", v
        assert big in v.ids and big in v.message
    assert all(v.cause in CAUSES for v in plan.violations)


def test_an_island_is_data():
    units = [unit(f"U{i}", i, 0, 100) for i in range(8)] + [unit("I1", 20, 0, 20)]
    plan = divide(units, Policy())
    low = [v for v in plan.violations if v.code == "block_households_low"]
    assert [v.cause for v in low] == ["data"]
    assert "community C1 has an island of 20 households" in low[0].message
    disconnected = [v for v in plan.violations if v.code == "community_disconnected"]
    assert [v.cause for v in disconnected] == ["data"]


def test_a_merged_island_is_data():
    units = (
        [unit(f"U{i}", i, 0, 100) for i in range(8)]
        + [unit(f"V{i}", 10 + i, 0, 100, "C2") for i in range(8)]
        + [unit("I1", 18, 0, 20, "C1")]
    )
    plan = divide(units, Policy(island_policy="merge"))
    merged = [v for v in plan.violations if v.code == "island_merged"]
    crosses = [v for v in plan.violations if v.code == "block_crosses_community"]
    assert [v.cause for v in merged] == ["data"]
    assert [v.cause for v in crosses] == ["data"]
    assert "the island of community C1 (20 households) was merged into it" in crosses[0].message


def test_a_piece_no_number_of_blocks_can_hold_is_data():
    # 550 households: one block is above 500, two are below 300.
    plan = divide([unit(f"U{i}", i, 0, 50) for i in range(11)], Policy())
    (v,) = block_violations(plan)
    assert v.code == "block_households_high" and v.cause == "data"
    assert "has 550 households, which no number of blocks of 300–500 can hold" in v.message


def test_a_unit_above_the_population_ceiling_is_data():
    units = [unit(f"U{i}", i, 0, 100) for i in range(8)]
    units[1] = dataclasses.replace(units[1], population=2600)
    plan = divide(units, Policy())
    (v,) = [v for v in plan.violations if v.code == "block_population_high"]
    assert v.cause == "data"
    assert "because unit U1 alone has 2600 people" in v.message
    assert "U1" in v.ids


def test_a_search_limited_block_says_search_with_its_starts():
    # 64 units of 60-260 households: with seed 2 and one start a block stays at 511 households,
    # while other starts bring every block into range, so the data do not force it.
    units = random_units(8, 8, 1, 18, households=(60, 260), rural_share=0.0)
    plan = divide(units, Policy(search_seconds=0), seed=2)
    found = [v for v in block_violations(plan) if v.code.startswith("block_households")]
    assert found
    for v in found:
        assert v.cause == "search"
        assert "the search did not find a better arrangement in 1 start" in v.message
    assert "balanced further" not in " ".join(v.message for v in plan.violations)


def test_every_violation_of_a_generated_plan_has_a_cause():
    for seed in range(3):
        units = random_units(9, 9, 3, seed, households=(5, 260), exclaves=3)
        units = messy.oversized(units, units[seed * 7].code, 620)
        plan = divide(units, Policy(), seed=seed)
        assert plan.violations
        for v in plan.violations:
            assert v.cause in CAUSES, v


def test_a_hand_edit_is_judged_without_blaming_the_search():
    units = [unit(f"U{i}", i, 0, 110) for i in range(8)]
    plan = divide(units, Policy())
    # U1 into the other block (440 -> 550): the first block is split in two, the second too big.
    other = plan.assignment["block"]["U7"]
    moved = move_unit(plan, units, "U1", other)
    codes = {v.code: v for v in moved.violations}
    assert codes["block_not_contiguous"].cause is None
    high = codes["block_households_high"]
    assert high.cause is None
    assert "(not forced by the data)" in high.message
    # A unit alone above the maximum is still the data's, whoever placed it.
    units[3] = dataclasses.replace(units[3], households=650)
    again = divide(units, Policy())
    edited = move_unit(again, units, "U2", again.assignment["block"]["U7"])
    big = [v for v in edited.violations if "U3" in v.ids and v.code == "block_households_high"]
    assert big and big[0].cause == "data"
