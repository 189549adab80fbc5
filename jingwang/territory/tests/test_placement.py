"""Records placed in grids: placed on write, re-placed in bulk when the grids change, their grid
at the time kept for history, and the scope following the current grids."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import shapely
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jingwang.audit.models import AuditEvent
from jingwang.incidents.models import Category, Incident
from jingwang.incidents.queries import incidents_visible_to
from jingwang.territory import placement
from jingwang.territory.actions import apply_grid_plan, propose_division
from jingwang.territory.models import Grid, GridVersion
from tests.cast import World, make_units

WHEN = datetime(2026, 11, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def _incident(world: World, number: str, lon: float | None, lat: float | None) -> Incident:
    category, _ = Category.objects.get_or_create(
        bureau=world.bureau, code="help", defaults={"name": "求助"}
    )
    incident = Incident(
        station=world.station,
        number=number,
        received_at=WHEN,
        source="call_110",
        category=category,
        lon=lon,
        lat=lat,
    )
    placement.place(incident)
    incident.save()
    return incident


def _apply(world: World, seed: int = 0) -> GridVersion:
    proposal = propose_division(world.users["chief"], world.station, seed=seed)
    return apply_grid_plan(world.users["chief"], proposal, proposal.revision)


def test_a_point_is_placed_in_the_finest_grid_covering_it(world: World) -> None:
    incident = _incident(world, "J1", 105.0025, 31.005)
    assert incident.grid is not None
    assert incident.grid.code == "TC-D1-S1-B1-C1"  # the cluster, not its block
    assert incident.grid_at_time_id == incident.grid_id
    assert not incident.placed_by_hand


def test_without_a_point_or_outside_every_grid_it_waits_to_be_placed_by_hand(
    world: World,
) -> None:
    nowhere = _incident(world, "J2", 100.0, 20.0)
    no_point = _incident(world, "J3", None, None)
    assert nowhere.grid_id is None and no_point.grid_id is None
    placement.place_by_hand(no_point, world.block_b)
    no_point.save()
    # Placing again (an edit that kept no point) keeps the officer's choice.
    placement.place(no_point)
    assert no_point.grid_id == world.block_b.id and no_point.placed_by_hand
    assert no_point.grid_at_time_id == world.block_b.id
    # A point given later wins over the hand.
    no_point.lon, no_point.lat = 105.0075, 31.005
    placement.place(no_point)
    assert no_point.grid is not None and no_point.grid.code == "TC-D1-S1-B1-C2"
    assert not no_point.placed_by_hand


def test_a_new_grid_version_re_places_every_record_and_keeps_its_grid_at_the_time(
    world: World,
) -> None:
    make_units(world)
    inside = [_incident(world, f"P{i}", 105.001 + i * 0.002, 31.003) for i in range(10)]
    by_hand = _incident(world, "H1", None, None)
    placement.place_by_hand(by_hand, world.block_a)
    by_hand.save()
    outside = _incident(world, "O1", 104.0, 30.0)
    before = {i.id: i.grid_id for i in Incident.objects.all()}

    version = _apply(world)

    for incident in inside:
        incident.refresh_from_db()
        assert incident.grid_id is not None
        grid = Grid.objects.get(id=incident.grid_id)
        assert grid.version_id == version.id
        assert not Grid.objects.filter(parent=grid).exists()  # the finest grid
        assert grid.geometry.covers(shapely.Point(incident.lon, incident.lat))
        assert incident.grid_at_time_id == before[incident.id]  # history keeps the old grid
    by_hand.refresh_from_db()
    # Placed by hand without a point: the new block covering most of the old block's ground.
    assert by_hand.grid is not None
    assert by_hand.grid.version_id == version.id and by_hand.grid.level == "block"
    outside.refresh_from_db()
    assert outside.grid_id is None
    detail = json.loads(AuditEvent.objects.get(action="apply_grid_plan").detail)
    figures = detail["followers"]["incidents.incidents"]
    assert figures == {"placed": 11, "unplaced": 1, "moved": 11}


def test_a_grid_worker_keeps_seeing_the_incidents_of_their_ground_after_a_re_division(
    world: World,
) -> None:
    from jingwang.people.models import GridAssignment

    make_units(world)
    _apply(world)
    block = Grid.objects.filter(version__is_current=True, level="block").order_by("code").first()
    assert block is not None
    GridAssignment.objects.filter(person=world.people["grid_worker"]).update(ended_at=WHEN.date())
    GridAssignment.objects.create(
        person=world.people["grid_worker"], grid=block, role="grid_worker"
    )
    ground = block.geometry.representative_point()
    mine = _incident(world, "G1", ground.x, ground.y)
    elsewhere = _incident(world, "G2", 105.0235, 31.0115)
    worker = world.users["grid_worker"]
    assert set(incidents_visible_to(worker)) == {mine}
    # A re-division that keeps this block's ground: the assignment and the incidents follow it
    # to the new grids, and the worker's list is the same.
    _apply(world)
    worker = type(worker).objects.get(pk=worker.pk)  # a new request: scope read again
    mine.refresh_from_db()
    assert mine.grid is not None
    assert mine.grid.version.is_current and mine.grid_at_time_id != mine.grid_id
    assert set(incidents_visible_to(worker)) == {mine}
    assert elsewhere not in set(incidents_visible_to(worker))


def test_re_placing_is_bulk_the_queries_do_not_grow_with_the_records(world: World) -> None:
    make_units(world)
    _apply(world)
    counts = []
    for n in (5, 60):
        Incident.objects.all().delete()
        for i in range(n):
            _incident(world, f"B{n}-{i}", 105.0005 + (i % 24) * 0.001, 31.0005 + (i // 24) * 0.004)
        with CaptureQueriesContext(connection) as queries:
            placement.replace_station(Incident, world.station.id)
        counts.append(len(queries))
    assert counts[1] <= counts[0] + 2, counts


def test_a_plan_that_fails_after_re_placing_leaves_every_record_where_it_was(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jingwang.territory import lineage

    make_units(world)
    placed = [_incident(world, f"F{i}", 105.001 + i * 0.002, 31.003) for i in range(6)]
    before = {i.id: i.grid_id for i in placed}

    def broken(actor, old, new, found):
        raise RuntimeError("a later follower failed")

    monkeypatch.setitem(lineage._followers, "zz.broken", broken)
    with pytest.raises(RuntimeError):
        _apply(world)
    assert dict(Incident.objects.values_list("id", "grid_id")) == before
    # Nothing of the failed run is left behind: the next plan re-places them.
    monkeypatch.delitem(lineage._followers, "zz.broken")
    version = _apply(world, seed=1)
    assert {
        g.version_id for g in Grid.objects.filter(id__in=Incident.objects.values("grid_id"))
    } == {version.id}
