"""Input checks and tolerant adjacency on messy data: warnings, repairs, refusals, recovery."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import shapely

from jingwang.lib.division import Policy, check_units, divide, move_unit
from jingwang.lib.division.checks import inspect_units
from jingwang.lib.division.graph import unit_graph
from jingwang.lib.graph import rook_edges

from . import messy


def fast(tolerance: float = 0.0) -> Policy:
    """A policy with a single start per piece (the tests compare plans, not searches)."""
    return Policy(search_seconds=0.0, snap_tolerance_m=tolerance)


def edge_set(geoms, tolerance=0.0):
    left, right, _length = rook_edges(geoms, tolerance)
    return set(zip(left.tolist(), right.tolist(), strict=True))


def block_measures(plan):
    blocks = plan.measures["levels"]["block"]
    return blocks["count"], blocks["share_in_range"], plan.measures["contiguous"]


@pytest.mark.parametrize("tolerance", [0.5, 2.0, 5.0])
def test_corner_contacts_stay_apart_under_a_tolerance(tolerance):
    lattice = messy.square_lattice(6, 6)
    exact = edge_set([u.geometry for u in lattice])
    assert len(exact) == 2 * 6 * 5  # rook only: no diagonal pair
    jittered = [u.geometry for u in messy.jitter(lattice, 0.01, seed=1)]
    assert edge_set(jittered) == set()  # no edge is shared exactly any more
    assert edge_set(jittered, tolerance) == exact
    board = [u.geometry for u in messy.checkerboard(6, 6)]
    assert edge_set(board, tolerance) == set()
    assert edge_set([u.geometry for u in messy.jitter(messy.checkerboard(6, 6), 0.01)], 5) == set()


def test_a_tolerance_changes_nothing_on_clean_data_and_measures_the_shared_length():
    clean = [u.geometry for u in messy.clean_county(300, seed=2)]
    left, right, length = rook_edges(clean)
    exact = dict(zip(zip(left.tolist(), right.tolist(), strict=True), length, strict=True))
    for tolerance in (0.5, 2.0):
        tl, tr, tlen = rook_edges(clean, tolerance)
        assert dict(zip(zip(tl.tolist(), tr.tolist(), strict=True), tlen, strict=True)) == (
            pytest.approx(exact, abs=1e-5)
        )
    # Jittered by 5 mm: the same neighbours (but edges shorter than about 2t), lengths close.
    jittered = [u.geometry for u in messy.jitter(messy.clean_county(300, seed=2), 0.005, 3)]
    jl, jr, jlen = rook_edges(jittered, 0.5)
    found = dict(zip(zip(jl.tolist(), jr.tolist(), strict=True), jlen, strict=True))
    assert set(found) <= set(exact)
    assert all(exact[p] < 1.0 for p in set(exact) - set(found))
    errors = np.array([found[p] - exact[p] for p in found])
    assert np.median(np.abs(errors)) < 0.05
    assert abs(sum(found.values()) / sum(exact[p] for p in found) - 1) < 0.005


def test_unit_graph_takes_the_tolerance():
    units = messy.jitter(messy.square_lattice(3, 1), 0.01)
    assert [len(a) for a in unit_graph([u.geometry for u in units]).adj] == [0, 0, 0]
    graph = unit_graph([u.geometry for u in units], tolerance=0.5)
    assert sorted(graph.adj[1]) == [0, 2]
    assert graph.adj[0][1] == pytest.approx(100.0, abs=0.1)


@pytest.mark.parametrize("tolerance", [0.0, 0.5])
def test_the_checks_measure_the_graph_unit_graph_builds(tolerance):
    units = messy.jitter(messy.clean_county(150, seed=8), 0.005, seed=1)
    _usable, _report, graph = inspect_units(units, Policy(snap_tolerance_m=tolerance))
    expected = unit_graph([u.geometry for u in units], tolerance)
    assert graph.adj == expected.adj
    assert (graph.xy == expected.xy).all()


def test_clean_data_pass_the_checks():
    units = messy.clean_county(200, seed=5)
    usable, report = check_units(units, Policy())
    assert usable == units
    assert (report.units, report.isolated, report.gaps, report.overlaps) == (200, (), 0, 0)
    assert (report.repaired, report.refused, report.findings) == ((), (), ())
    assert not report.looks_broken
    assert report.suggested_tolerance_m is None


@pytest.mark.parametrize(
    ("spoil", "tolerance"),
    [
        (lambda units: messy.jitter(units, 0.005, seed=2), 0.5),
        (lambda units: messy.scale(units, 0.99), 2.0),
        (lambda units: messy.scale(units, 1.01), 2.0),
    ],
    ids=["jittered 5 mm", "shrunk 1%", "grown 1%"],
)
def test_borders_that_do_not_match_are_flagged_and_a_tolerance_recovers_the_plan(spoil, tolerance):
    clean = messy.clean_county(200, seed=5, communities=2)
    messy_units = spoil(clean)
    exact_plan = divide(clean, fast(), seed=1)
    # Given tolerance 0, every unit is on its own: the checks say so and suggest a tolerance.
    plan = divide(messy_units, fast(), seed=1)
    broken = plan.data
    assert broken is not None
    assert broken.looks_broken
    assert len(broken.isolated) == 200
    first = broken.findings[0]
    assert first.code == "isolated_units"
    assert first.message.startswith("100% of units (200 of 200) have no neighbour")
    assert broken.suggested_tolerance_m is not None
    assert broken.suggested_tolerance_m <= tolerance
    assert f"set snap_tolerance_m to {broken.suggested_tolerance_m:g}" in first.message
    assert broken.gaps + broken.overlaps > 200
    assert block_measures(plan)[0] == 200  # one block per unit, as the issue saw
    # With the tolerance: the same plan measures as the exact data, and nothing flagged.
    snapped = divide(messy_units, fast(tolerance), seed=1)
    assert block_measures(snapped) == block_measures(exact_plan)
    assert block_measures(snapped)[1:] == (1.0, True)
    assert snapped.data is not None
    assert not snapped.data.looks_broken
    assert snapped.data.isolated == ()
    assert snapped.data.tolerance_m == tolerance


def test_a_tolerance_on_jittered_data_gives_the_plan_of_the_exact_data_at_that_tolerance():
    clean = messy.clean_county(120, seed=7, communities=2)
    policy = fast(0.5)
    exact_plan = divide(clean, policy, seed=3)
    jittered_plan = divide(messy.jitter(clean, 0.002, seed=4), policy, seed=3)
    assert block_measures(jittered_plan) == block_measures(exact_plan)
    moved = sum(
        exact_plan.assignment["block"][c] != jittered_plan.assignment["block"][c]
        for c in exact_plan.assignment["block"]
    )
    assert moved <= 0.1 * len(clean)


def test_a_twisted_polygon_is_repaired_and_reported():
    units = messy.twisted(messy.clean_county(60, seed=1), "U00010")
    assert not units[10].geometry.is_valid
    usable, report = check_units(units, Policy())
    assert [u.code for u in usable] == [u.code for u in units]
    assert usable[10].geometry.is_valid
    assert usable[10].geometry.area == pytest.approx(units[10].geometry.area, rel=0.01)
    assert report.repaired == ("U00010",)
    finding = next(f for f in report.findings if f.code == "repaired_polygon")
    assert finding.ids == ("U00010",)
    assert finding.message.startswith("unit U00010: invalid polygon (Self-intersection")
    assert "repaired" in finding.message
    assert finding.cause == "data"
    assert not report.looks_broken
    plan = divide(units, fast())
    assert "U00010" in plan.assignment["block"]


def test_a_bow_tie_is_refused_with_its_reason_and_left_out_of_the_plan():
    units = messy.bow_tie(messy.clean_county(60, seed=1), "U00020")
    usable, report = check_units(units, Policy())
    assert "U00020" not in [u.code for u in usable]
    assert len(usable) == 59
    assert report.units == 60
    [(code, reason)] = report.refused
    assert code == "U00020"
    assert reason.startswith("invalid polygon (Self-intersection")
    assert "cannot be repaired safely" in reason
    assert report.looks_broken
    assert report.findings[0].code == "refused_unit"
    assert report.findings[0].ids == ("U00020",)
    plan = divide(units, fast())
    assert "U00020" not in plan.assignment["block"]
    assert len(plan.assignment["block"]) == 59
    assert not [v for v in plan.violations if v.code == "unit_unassigned"]
    assert plan.data is not None
    assert plan.data.refused == report.refused
    # Re-measuring after a move uses the same units: the refused one is not "unassigned".
    other = next(b for b in plan.assignment["block"].values())
    moved = move_unit(plan, units, "U00001", other)
    assert not [v for v in moved.violations if v.code == "unit_unassigned"]


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (shapely.Polygon(), "empty geometry"),
        (None, "empty geometry"),
        (shapely.LineString([(0, 0), (1, 1)]), "not a polygon but a LineString"),
        (shapely.Polygon([(0, 0), (1, 0), (2, 0)]), "no area left"),
    ],
)
def test_geometry_that_is_no_polygon_is_refused(geometry, reason):
    units = messy.square_lattice(3, 1)
    units[1] = dataclasses.replace(units[1], geometry=geometry)
    usable, report = check_units(units, Policy())
    assert [u.code for u in usable] == ["R0C0", "R0C2"]
    [(code, why)] = report.refused
    assert code == "R0C1"
    assert reason in why


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "R0C0"}, "duplicate unit code R0C0"),
        ({"kind": "suburban"}, "R0C1: kind"),
        ({"population": -1}, "R0C1: households"),
    ],
)
def test_caller_errors_still_raise(change, message):
    units = messy.square_lattice(3, 1)
    units[1] = dataclasses.replace(units[1], **change)
    with pytest.raises(ValueError, match=message):
        check_units(units, Policy())


def test_one_island_is_no_border_problem():
    units = messy.island(messy.clean_county(100, seed=4))
    usable, report = check_units(units, Policy())
    assert len(usable) == 101
    assert report.isolated == ("ISLAND",)
    assert report.islands == ("ISLAND",)
    assert not report.looks_broken
    assert report.suggested_tolerance_m is None
    [finding] = report.findings
    assert finding.code == "isolated_units"
    assert "unit ISLAND has no neighbour; it is more than 10 m from any other unit" in (
        finding.message
    )


def test_gaps_are_counted_and_the_worst_places_named():
    clean = messy.clean_county(200, seed=6)
    units, shrunk = messy.gaps(clean, 3, 0.8, seed=1)
    usable, report = check_units(units, Policy())
    assert report.gaps >= 6
    assert set(report.isolated) == set(shrunk)  # cut off all round
    assert report.islands == ()
    assert report.looks_broken  # three near misses in 200 units: more than 1%
    assert report.suggested_tolerance_m == 1.0
    places = [f for f in report.findings if f.code == "gaps"]
    assert places[0].message.startswith(f"{report.gaps} pairs of units run side by side")
    first = places[1]
    assert set(first.ids) & set(shrunk)
    assert "about 0.8" in first.message
    assert " near (" in first.message
    lengths = [
        float(f.message.split("for ")[1].split(" m")[0].replace(",", "")) for f in places[1:]
    ]
    assert lengths == sorted(lengths, reverse=True)
    # The tolerance closes them.
    _usable, snapped = check_units(units, Policy(snap_tolerance_m=1.0))
    assert (snapped.gaps, snapped.isolated, snapped.looks_broken) == (0, (), False)


def test_overlaps_are_counted_worst_first_with_their_area():
    units, grown = messy.overlaps(messy.clean_county(200, seed=6), 2, 1.5, seed=2)
    _usable, report = check_units(units, Policy(snap_tolerance_m=2.0))
    assert report.overlaps >= 4
    places = [f for f in report.findings if f.code == "overlaps"][1:]
    assert all(set(f.ids) & set(grown) for f in places)
    areas = [
        float(f.message.split("overlap by ")[1].split(" m²")[0].replace(",", "")) for f in places
    ]
    assert areas == sorted(areas, reverse=True)
    assert not report.looks_broken  # the tolerance makes them neighbours: what it is for
    # A duplicate polygon is a gross overlap: broken whatever the tolerance.
    copy = dataclasses.replace(units[0], code="COPY")
    _usable, report = check_units([*units, copy], Policy(snap_tolerance_m=2.0))
    assert report.looks_broken
    assert "COPY" in report.findings[1].ids


def test_the_pocket_behind_an_oversized_unit_hangs_on_it_alone():
    units, big, pocket = messy.dead_end_pocket(messy.clean_county(100, seed=3), size=2)
    by_code = {u.code: i for i, u in enumerate(units)}
    graph = unit_graph([u.geometry for u in units])
    assert units[by_code[big]].households == 700
    assert set(graph.adj[by_code[pocket[0]]]) == {by_code[big], by_code[pocket[1]]}
    assert set(graph.adj[by_code[pocket[1]]]) == {by_code[pocket[0]]}
    assert not check_units(units, Policy())[1].looks_broken


def test_the_report_is_json():
    units = messy.bow_tie(messy.twisted(messy.clean_county(60, seed=1), "U00010"), "U00020")
    plan = divide(units, fast())
    data = json.loads(json.dumps(plan.to_dict()))["data"]
    assert data["repaired"] == ["U00010"]
    assert data["refused"][0][0] == "U00020"
    assert data["looks_broken"] is True
    assert data["findings"][0]["code"] == "refused_unit"
    assert data["findings"][0]["cause"] == "data"
