"""Policy: defaults, JSON round trip, and errors that name the bad field."""

from __future__ import annotations

import json

import pytest

from jingwang.lib.division import Policy


def test_defaults_follow_the_brief():
    policy = Policy()
    assert policy.block_range("urban") == (300, 400, 500, 2500)
    assert policy.block_range("rural") == (200, 300, 400, None)
    assert (policy.cluster_households_min, policy.cluster_households_max) == (10, 50)


def test_round_trips_through_json():
    policy = Policy(urban_households_max=600, sector_count=5, island_policy="merge")
    again = Policy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy


def test_missing_fields_take_defaults():
    assert Policy.from_dict({"complexity_alpha": 1}) == Policy(complexity_alpha=1.0)


def test_workload_weights_households_by_capped_complexity():
    policy = Policy(complexity_alpha=0.5, complexity_cap=2.0)
    assert policy.workload(100, 0.0) == 100
    assert policy.workload(100, 1.0) == 125
    assert policy.workload(100, 5.0) == 150  # capped at 2.0 → normalised 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"no_such_field": 1}, "no_such_field"),
        ({"urban_households_min": "300"}, "urban_households_min"),
        ({"urban_households_min": 2.5}, "urban_households_min"),
        ({"urban_households_min": True}, "urban_households_min"),
        ({"urban_households_max": 200}, "urban_households_max"),
        ({"rural_households_target": 450}, "rural_households_target"),
        ({"rural_households_min": 0, "rural_households_target": 0}, "rural_households_min"),
        ({"urban_population_max": 0}, "urban_population_max"),
        ({"urban_households_min": None}, "urban_households_min"),
        ({"complexity_alpha": -1}, "complexity_alpha"),
        ({"complexity_alpha": float("nan")}, "complexity_alpha"),
        ({"complexity_cap": 0}, "complexity_cap"),
        ({"sector_blocks": 0.5}, "sector_blocks"),
        ({"district_count": 0}, "district_count"),
        ({"sectors_cross_communities": "yes"}, "sectors_cross_communities"),
        ({"districts_cross_communities": False}, "sectors_cross_communities"),
        ({"cluster_households_max": 5}, "cluster_households_max"),
        ({"island_policy": "drop"}, "island_policy"),
        ({"moves_per_unit": -1}, "moves_per_unit"),
    ],
)
def test_bad_values_name_the_field(data, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        Policy.from_dict(data)


def test_rejects_a_non_object():
    with pytest.raises(ValueError, match="policy"):
        Policy.from_dict([1, 2])  # type: ignore[arg-type]
