"""divide, evaluate and move_unit on small maps whose answer is known."""

from __future__ import annotations

import dataclasses
import json

import pytest
import shapely

from jingwang.lib.division import BaseUnit, Policy, divide, evaluate, move_unit, project_lonlat
from jingwang.lib.division.graph import rook_edges

from .maps import random_units, unit


def strip(n: int, households: int = 100, community: str = "C1", x0: float = 0.0, prefix: str = "U"):
    return [unit(f"{prefix}{i}", x0 + i, 0, households, community) for i in range(n)]


def codes_of(plan, level):
    groups: dict[str, list[str]] = {}
    for code, rid in plan.assignment[level].items():
        groups.setdefault(rid, []).append(code)
    return sorted(sorted(g) for g in groups.values())


def test_a_strip_of_eight_splits_into_two_blocks_of_four():
    plan = divide(strip(8), Policy())
    assert codes_of(plan, "block") == [["U0", "U1", "U2", "U3"], ["U4", "U5", "U6", "U7"]]
    assert [r.households for r in plan.regions("block")] == [400, 400]
    blocks = plan.measures["levels"]["block"]
    assert blocks["cv_workload"] == 0.0
    assert blocks["share_in_range"] == 1.0
    assert plan.measures["contiguous"]
    assert sorted(set(plan.assignment["block"].values())) == ["D01-S01-B01", "D01-S01-B02"]
    assert set(plan.assignment["district"].values()) == {"D01"}


def test_units_above_the_cluster_maximum_are_clusters_of_their_own():
    plan = divide(strip(8), Policy())
    assert len(plan.regions("cluster")) == 8
    atomic = [v for v in plan.violations if v.code == "cluster_atomic_unit"]
    assert len(atomic) == 8
    assert "has 100 households, more than 50, and cannot be split" in atomic[0].message


def test_small_adjacent_units_are_grouped_into_clusters_within_range():
    units = [unit(f"U{i}", i % 10, i // 10, 8) for i in range(50)]  # 400 households
    plan = divide(units, Policy())
    clusters = plan.regions("cluster")
    assert all(10 <= c.households <= 50 for c in clusters)
    assert all(c.contiguous for c in clusters)


def test_a_unit_alone_above_the_maximum_is_explained():
    units = strip(6)
    units[2] = unit("U2", 2, 0, 612)
    plan = divide(units, Policy())
    high = [v for v in plan.violations if v.code == "block_households_high"]
    assert high, plan.violations
    assert "because unit U2 alone has 612" in high[0].message
    assert "U2" in high[0].ids


def test_an_island_of_a_community_is_reported_and_kept_apart():
    units = strip(8) + [unit("I1", 20, 0, 20, "C1")]
    plan = divide(units, Policy())
    codes = {v.code for v in plan.violations}
    assert "community_disconnected" in codes
    low = [v for v in plan.violations if v.code == "block_households_low"]
    assert len(low) == 1
    assert "community C1 has an island of 20 households" in low[0].message
    island_block = plan.assignment["block"]["I1"]
    assert [c for c, b in plan.assignment["block"].items() if b == island_block] == ["I1"]
    assert plan.measures["contiguous"]


def test_an_island_can_be_merged_with_the_neighbouring_block():
    # C1 at x 0..7, C2 at x 10..17, and a 20-household piece of C1 touching C2 at x 18.
    units = strip(8) + strip(8, community="C2", x0=10, prefix="V") + [unit("I1", 18, 0, 20, "C1")]
    plan = divide(units, Policy(island_policy="merge"))
    merged = [v for v in plan.violations if v.code == "island_merged"]
    assert len(merged) == 1
    target = plan.assignment["block"]["V7"]
    assert plan.assignment["block"]["I1"] == target
    assert f"merged with block {target}" in merged[0].message
    assert target in merged[0].ids and "I1" in merged[0].ids
    assert any(v.code == "block_crosses_community" for v in plan.violations)
    assert plan.measures["contiguous"]


def test_blocks_never_cross_a_community_boundary():
    units = strip(4, community="A") + strip(4, community="B", x0=4, prefix="V")
    plan = divide(units, Policy())
    for block in plan.regions("block"):
        assert len(block.communities) == 1


def test_rural_units_use_the_rural_range():
    units = [unit(f"U{i}", i, 0, 100, kind="rural") for i in range(9)]  # 900 households
    plan = divide(units, Policy())
    blocks = plan.regions("block")
    assert len(blocks) == 3 and all(b.kind == "rural" and b.households == 300 for b in blocks)


def test_corner_contact_is_not_adjacency():
    a, b, c = shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.box(1, 0, 2, 1)
    left, right, length = rook_edges([a, b, c])
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 2), (1, 2)]
    assert length.tolist() == [1.0, 1.0]


def test_move_unit_re_measures_and_keeps_the_rest():
    units = strip(8)
    plan = divide(units, Policy())
    right = plan.assignment["block"]["U7"]
    moved = move_unit(plan, units, "U3", right)
    assert moved.assignment["block"]["U3"] == right
    assert sorted(r.households for r in moved.regions("block")) == [300, 500]
    assert moved.measures["contiguous"]
    assert all(
        moved.assignment["cluster"][c] == plan.assignment["cluster"][c] for c in ["U0", "U7"]
    )
    assert not any(v.code == "block_not_contiguous" for v in moved.violations)


def test_move_unit_reports_a_broken_block_instead_of_refusing():
    units = strip(8)
    plan = divide(units, Policy())
    right = plan.assignment["block"]["U7"]
    moved = move_unit(plan, units, "U0", right)
    broken = [v for v in moved.violations if v.code == "block_not_contiguous"]
    assert [v.ids for v in broken] == [(right,)]
    assert not moved.measures["contiguous"]


def test_move_unit_rejects_unknown_names():
    units = strip(8)
    plan = divide(units, Policy())
    with pytest.raises(ValueError, match="unit_code"):
        move_unit(plan, units, "nope", plan.assignment["block"]["U0"])
    with pytest.raises(ValueError, match="target_block"):
        move_unit(plan, units, "U0", "D09-S09-B09")


def test_evaluate_reports_unassigned_units_and_rejects_unknown_ones():
    units = strip(8)
    plan = divide(units, Policy())
    partial = {c: r for c, r in plan.assignment["cluster"].items() if c != "U0"}
    result = evaluate(units, partial, Policy())
    assert [v.ids for v in result.violations if v.code == "unit_unassigned"] == [("U0",)]
    with pytest.raises(ValueError, match="unknown unit"):
        evaluate(units, {**plan.assignment["cluster"], "X": "D01-S01-B01-C01"}, Policy())
    with pytest.raises(ValueError, match="D01-S01"):
        evaluate(units, {"U0": "D01-S01"}, Policy())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "U0"}, "duplicate unit code U0"),
        ({"kind": "suburban"}, "U1: kind"),
        ({"households": -1}, "U1: households"),
        ({"complexity": float("nan")}, "U1: complexity"),
    ],
)
def test_bad_units_are_rejected_by_name(change, message):
    units = strip(3)
    units[1] = dataclasses.replace(units[1], **change)
    with pytest.raises(ValueError, match=message):
        divide(units, Policy())


def test_plan_to_dict_is_json():
    plan = divide(random_units(6, 5, 2, seed=3), Policy())
    data = json.loads(json.dumps(plan.to_dict()))
    assert set(data["assignment"]) == {"district", "sector", "block", "cluster"}
    assert data["policy"] == Policy().to_dict()


def test_counts_of_sectors_and_districts_follow_the_policy():
    units = random_units(20, 16, 1, seed=5, households=(40, 80))
    plan = divide(units, Policy(sector_count=4, district_count=2))
    assert len(plan.regions("sector")) == 4
    assert len(plan.regions("district")) == 2
    assert plan.measures["contiguous"]


def test_sectors_can_be_kept_inside_communities():
    units = random_units(16, 12, 3, seed=7, households=(40, 80))
    plan = divide(units, Policy(sectors_cross_communities=False, districts_cross_communities=False))
    for level in ("sector", "district"):
        assert all(len(r.communities) == 1 for r in plan.regions(level))


def test_project_lonlat_gives_metres():
    square = shapely.box(105.0, 31.0, 105.01, 31.01)  # about 950 m x 1,110 m near Santai
    (projected,) = project_lonlat([BaseUnit("U1", "C1", "urban", 1, 1, 0.0, square)])
    assert 1.0e6 < projected.geometry.area < 1.1e6


def test_a_piece_no_number_of_blocks_can_hold_is_explained():
    plan = divide(strip(11, households=50), Policy())  # 550: one block is too big, two too small
    (high,) = [v for v in plan.violations if v.code == "block_households_high"]
    assert "550 households, which no number of blocks of 300–500 can hold" in high.message


def test_the_population_ceiling_adds_blocks_and_is_reported_when_it_cannot():
    dense = [dataclasses.replace(u, population=450) for u in strip(8)]  # 3,600 people
    plan = divide(dense, Policy())
    assert len(plan.regions("block")) == 2  # 2 blocks of 1,800 people each fit
    denser = [dataclasses.replace(u, population=700) for u in strip(8)]  # 5,600 people
    plan = divide(denser, Policy())
    # Three blocks would respect 2,500 people but not 300 households: the range wins, reported.
    assert [v.code for v in plan.violations if v.code.startswith("block_")] == [
        "block_population_high",
        "block_population_high",
    ]
