"""redivide and continuity: a station's current grids repaired after a change, moving few units."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.division import BaseUnit, Plan, Policy, continuity, divide, redivide

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
from division_data import county  # noqa: E402

from .maps import random_units  # noqa: E402

# One start per piece keeps the fresh plans quick; re-division does not depend on it.
POLICY = Policy(search_seconds=0.0)
BLOCK_PROBLEMS = (
    "block_households_low",
    "block_households_high",
    "block_population_high",
    "block_not_contiguous",
    "block_crosses_community",
)


@pytest.fixture(scope="module")
def units() -> list[BaseUnit]:
    return county(600, seed=0)


@pytest.fixture(scope="module")
def plan(units: list[BaseUnit]) -> Plan:
    return divide(units, POLICY, seed=0)


def block_problems(plan: Plan) -> list[str]:
    return [v.message for v in plan.violations if v.code in BLOCK_PROBLEMS]


def share_kept(kept: dict) -> float:
    return kept["units_kept"] / kept["units"]


def split_polygons(units: list[BaseUnit], count: int) -> list[BaseUnit]:
    """Cut `count` units in two along a vertical line: the west half keeps the code and half
    the households, the east half is a new unit `<code>N`."""
    out: list[BaseUnit] = []
    cut = set(range(0, len(units), len(units) // count)[:count])
    for i, u in enumerate(units):
        if i not in cut:
            out.append(u)
            continue
        minx, miny, maxx, maxy = u.geometry.bounds
        x = u.geometry.centroid.x
        west = u.geometry.intersection(shapely.box(minx - 1, miny - 1, x, maxy + 1))
        east = u.geometry.intersection(shapely.box(x, miny - 1, maxx + 1, maxy + 1))
        half = u.households // 2
        out.append(dataclasses.replace(u, geometry=west, households=half, population=half * 3))
        out.append(
            dataclasses.replace(
                u,
                code=f"{u.code}N",
                geometry=east,
                households=u.households - half,
                population=(u.households - half) * 3,
            )
        )
    return out


def doubled_west(units: list[BaseUnit], x_max: float = 4000.0) -> list[BaseUnit]:
    """Households (and people) doubled in the west of the county: blocks there go above the max."""
    return [
        dataclasses.replace(u, households=2 * u.households, population=2 * u.population)
        if u.geometry.centroid.x < x_max
        else u
        for u in units
    ]


def test_the_test_county_starts_clean(plan: Plan) -> None:
    # Given a fresh plan with no block problem, every re-division below starts from good grids.
    assert block_problems(plan) == []


def test_unchanged_input_moves_no_unit(units: list[BaseUnit], plan: Plan) -> None:
    again = redivide(units, plan.assignment["cluster"], POLICY, seed=0)
    assert again.assignment == plan.assignment
    assert again.kept is not None
    assert again.kept["moved"] == []
    assert again.kept["units_kept"] == again.kept["units"] == len(units)
    assert again.kept["blocks_kept"] == again.kept["blocks_before"] == again.kept["blocks_after"]
    assert again.search["moves"] == 0
    json.dumps(again.to_dict())  # kept and search are JSON-safe


def test_recomputed_complexity_moves_no_unit(units: list[BaseUnit], plan: Plan) -> None:
    rng = np.random.default_rng(5)
    changed = [dataclasses.replace(u, complexity=float(rng.random())) for u in units]
    again = redivide(changed, plan.assignment["cluster"], POLICY)
    assert again.assignment["block"] == plan.assignment["block"]
    assert again.kept is not None and again.kept["moved"] == []


def test_merged_communities_keep_every_block(units: list[BaseUnit], plan: Plan) -> None:
    changed = [dataclasses.replace(u, community="C00") for u in units]
    again = redivide(changed, plan.assignment["cluster"], POLICY)
    assert again.assignment["block"] == plan.assignment["block"]
    assert block_problems(again) == []


def test_new_units_join_their_neighbours_blocks(units: list[BaseUnit], plan: Plan) -> None:
    changed = split_polygons(units, 10)
    new = sorted({u.code for u in changed} - {u.code for u in units})
    assert len(new) == 10
    again = redivide(changed, plan.assignment["cluster"], POLICY)
    assert set(again.assignment["cluster"]) == {u.code for u in changed}
    assert again.search["new_units"] == 10
    assert block_problems(again) == []
    assert again.kept is not None
    fresh = divide(changed, POLICY)
    fresh_kept = continuity(changed, plan.assignment["block"], fresh.assignment["block"])
    assert share_kept(again.kept) >= 0.95
    assert share_kept(again.kept) > share_kept(fresh_kept) + 0.2


def test_doubled_households_split_blocks_and_keep_the_rest(
    units: list[BaseUnit], plan: Plan
) -> None:
    changed = doubled_west(units)
    before = divide  # a fresh plan of the changed data, for comparison
    fresh = before(changed, POLICY)
    again = redivide(changed, plan.assignment["cluster"], POLICY)
    assert again.search["splits"] > 0
    blocks = again.measures["levels"]["block"]
    assert blocks["contiguous"]
    assert blocks["share_in_range"] >= 0.95
    assert not [v for v in again.violations if v.code == "block_crosses_community"]
    assert again.kept is not None
    fresh_kept = continuity(changed, plan.assignment["block"], fresh.assignment["block"])
    assert share_kept(again.kept) >= 0.85
    assert share_kept(again.kept) > share_kept(fresh_kept) + 0.1
    # Blocks east of the doubled area did not change: their ids and clusters are the same.
    east = [u.code for u in units if u.geometry.centroid.x > 8000]
    same = [c for c in east if again.assignment["cluster"][c] == plan.assignment["cluster"][c]]
    assert len(same) >= 0.9 * len(east)


def test_a_community_split_cuts_blocks_at_the_new_border(units: list[BaseUnit], plan: Plan) -> None:
    changed = [
        dataclasses.replace(u, community="C99")
        if u.community == "C00" and u.geometry.centroid.y < 6000
        else u
        for u in units
    ]
    again = redivide(changed, plan.assignment["cluster"], POLICY)
    for region in again.regions("block"):
        assert len(region.communities) == 1
        assert region.contiguous
    assert block_problems(again) == []
    assert again.kept is not None and share_kept(again.kept) >= 0.8


def test_the_move_limit_is_respected_and_reported(units: list[BaseUnit], plan: Plan) -> None:
    policy = dataclasses.replace(POLICY, max_moved_units=5)
    again = redivide(doubled_west(units), plan.assignment["cluster"], policy)
    assert again.kept is not None
    assert len(again.kept["moved"]) <= 5
    assert again.search["moved_units"] == len(again.kept["moved"])
    assert again.search["max_moved_units"] == 5
    assert again.search["cap_reached"] is True
    left = [v for v in again.violations if v.code == "block_households_high"]
    assert left
    for v in left:
        assert v.cause in ("search", "data")
        if v.cause == "search":
            assert "the limit of 5 moved units was reached" in v.message


def test_no_limit_fixes_what_the_limit_left(units: list[BaseUnit], plan: Plan) -> None:
    again = redivide(doubled_west(units), plan.assignment["cluster"], POLICY)
    assert again.search["cap_reached"] is False
    assert again.search["max_moved_units"] is None


def test_same_seed_same_plan(units: list[BaseUnit], plan: Plan) -> None:
    changed = split_polygons(doubled_west(units), 10)
    first = redivide(changed, plan.assignment["cluster"], POLICY, seed=3)
    second = redivide(changed, plan.assignment["cluster"], POLICY, seed=3)
    assert first.assignment == second.assignment
    assert first.kept == second.kept


def test_units_of_current_grids_that_no_longer_exist_are_ignored(
    units: list[BaseUnit], plan: Plan
) -> None:
    current = dict(plan.assignment["cluster"])
    current["GONE"] = next(iter(current.values()))
    again = redivide(units[1:], current, POLICY)
    assert "GONE" not in again.assignment["cluster"]
    assert units[0].code not in again.assignment["cluster"]


def test_a_malformed_current_id_is_refused(units: list[BaseUnit]) -> None:
    with pytest.raises(ValueError, match="expected a cluster id"):
        redivide(units, {units[0].code: "B01"}, POLICY)


# -- continuity -------------------------------------------------------------------------------


def _unit(code: str, households: int) -> BaseUnit:
    return BaseUnit(code, "C", "urban", households, 3 * households, 0.0, shapely.box(0, 0, 1, 1))


def test_continuity_matches_old_blocks_one_to_one_by_households() -> None:
    units = [_unit("a", 100), _unit("b", 100), _unit("c", 50), _unit("d", 10), _unit("n", 5)]
    before = {"a": "X", "b": "X", "c": "Y", "d": "Y"}
    # X and Y are both mostly in P; X shares more households with it, so Y is matched to Q.
    after = {"a": "P", "b": "P", "c": "P", "d": "Q", "n": "Q"}
    kept = continuity(units, before, after)
    assert kept["moved"] == ["c"]
    assert kept["units"] == 4 and kept["units_kept"] == 3
    assert kept["households"] == 260 and kept["households_kept"] == 210
    assert kept["population"] == 780 and kept["population_kept"] == 630
    assert kept["blocks_before"] == 2 and kept["blocks_after"] == 2
    # X is whole in P but P holds 50 of 250 households from elsewhere (20% > 10%): not kept.
    assert kept["blocks_kept"] == 0


def test_continuity_keeps_a_block_that_gains_a_little() -> None:
    units = [_unit(c, 100) for c in "abcdefghij"] + [_unit("n", 10)]
    before = dict.fromkeys("abcdefghij", "X")
    after = {**dict.fromkeys("abcdefghij", "P"), "n": "P"}
    kept = continuity(units, before, after)
    assert kept["blocks_kept"] == 1 and kept["moved"] == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 90)), min_size=1))
def test_continuity_invariants(rows: list[tuple[int, int, int]]) -> None:
    units = [_unit(f"u{i}", h) for i, (_, _, h) in enumerate(rows)]
    before = {f"u{i}": f"X{b}" for i, (b, _, _) in enumerate(rows)}
    after = {f"u{i}": f"P{a}" for i, (_, a, _) in enumerate(rows)}
    kept = continuity(units, before, after)
    assert kept["units_kept"] + len(kept["moved"]) == kept["units"] == len(rows)
    assert 0 <= kept["households_kept"] <= kept["households"]
    assert kept["blocks_kept"] <= min(kept["blocks_before"], kept["blocks_after"])
    json.dumps(kept)
    # Renaming the blocks of a plan changes nothing: every unit is kept.
    same = continuity(units, before, {c: b.replace("X", "Z") for c, b in before.items()})
    assert same["moved"] == [] and same["blocks_kept"] == same["blocks_before"]


def test_a_merged_island_stays_merged(units: list[BaseUnit]) -> None:
    # Given two neighbouring units made a community of their own, too small for a block, and a
    # station that merges such islands into the neighbouring block:
    first = units[300]
    touching = next(
        u for u in units if u is not first and u.geometry.intersection(first.geometry).length > 0
    )
    island = {first.code, touching.code}
    changed = [dataclasses.replace(u, community="C77") if u.code in island else u for u in units]
    policy = dataclasses.replace(POLICY, island_policy="merge")
    plan = divide(changed, policy)
    assert [v.code for v in plan.violations if v.code == "island_merged"] == ["island_merged"]
    # When the station re-divides unchanged data, the island stays where it is.
    again = redivide(changed, plan.assignment["cluster"], policy)
    assert again.kept is not None and again.kept["moved"] == []
    assert again.assignment["block"] == plan.assignment["block"]
    assert [v.code for v in again.violations if v.code == "island_merged"] == ["island_merged"]


def test_keep_weight_zero_trades_kept_units_for_balance(units: list[BaseUnit], plan: Plan) -> None:
    changed = doubled_west(units)
    keep = redivide(changed, plan.assignment["cluster"], POLICY)
    free = redivide(changed, plan.assignment["cluster"], dataclasses.replace(POLICY, keep_weight=0))
    assert keep.kept is not None and free.kept is not None
    assert free.search["moves"] > keep.search["moves"]
    assert free.kept["units_kept"] < keep.kept["units_kept"]
    cv = "cv_workload"
    assert free.measures["levels"]["block"][cv] < keep.measures["levels"]["block"][cv]


def test_a_community_without_grids_gets_new_blocks_and_sectors(
    units: list[BaseUnit], plan: Plan
) -> None:
    # Given current grids that cover only community C00, C01 is new to the station.
    current = {u.code: plan.assignment["cluster"][u.code] for u in units if u.community == "C00"}
    again = redivide(units, current, POLICY)
    assert set(again.assignment["cluster"]) == {u.code for u in units}
    assert block_problems(again) == []
    assert again.kept is not None and again.kept["moved"] == []
    old_sectors = {plan.assignment["sector"][c] for c in current}
    new_blocks = {again.assignment["block"][u.code] for u in units if u.community == "C01"}
    new_sectors = {b.rsplit("-", 1)[0] for b in new_blocks}
    assert not new_blocks & {plan.assignment["block"][c] for c in current}  # no id reused
    assert len(new_sectors - old_sectors) >= 2  # enough blocks for sectors of their own


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    communities=st.integers(1, 3),
    exclaves=st.integers(0, 2),
    factor=st.sampled_from([0.5, 1.0, 1.7, 2.5]),
    cap=st.one_of(st.none(), st.integers(0, 15)),
)
def test_redivide_properties(
    seed: int, communities: int, exclaves: int, factor: float, cap: int | None
) -> None:
    # Given random grids, and households scaled by `factor` in the west half of the map:
    units = random_units(9, 9, communities, seed, exclaves=exclaves)
    plan = divide(units, POLICY, seed=seed)
    west = max(u.geometry.centroid.x for u in units) / 2
    changed = [
        dataclasses.replace(u, households=round(u.households * factor))
        if u.geometry.centroid.x < west
        else u
        for u in units
    ]
    policy = dataclasses.replace(POLICY, max_moved_units=cap)
    again = redivide(changed, plan.assignment["cluster"], policy, seed=seed)
    # every unit has a grid, every block is in one piece of one community,
    assert set(again.assignment["cluster"]) == {u.code for u in units}
    for region in again.regions("block"):
        assert region.contiguous
        assert len(region.communities) == 1
    assert again.measures["contiguous"] or any(
        v.code in ("sector_not_contiguous", "district_not_contiguous") for v in again.violations
    )
    # the limit holds, the figures agree, and the same seed gives the same plan.
    assert again.kept is not None
    if cap is not None:
        assert len(again.kept["moved"]) <= cap
    assert again.search["moved_units"] == len(again.kept["moved"])
    if factor == 1.0:
        assert again.kept["moved"] == [] or block_problems(plan)
    assert redivide(changed, plan.assignment["cluster"], policy, seed=seed).assignment == (
        again.assignment
    )
