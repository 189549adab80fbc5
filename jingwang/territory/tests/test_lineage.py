"""A new grid version writes its lineage and calls the followers other apps registered, in the
same transaction and in bulk."""

from __future__ import annotations

import json

import pytest
import shapely
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jingwang.audit.models import AuditEvent
from jingwang.people.models import GridAssignment, Person, Reassignment
from jingwang.territory import lineage
from jingwang.territory.actions import apply_grid_plan, propose_division
from jingwang.territory.models import Grid, GridLineage, GridVersion
from tests.cast import World, make_units


def _apply(world: World, seed: int = 0) -> GridVersion:
    proposal = propose_division(world.users["chief"], world.station, seed=seed)
    return apply_grid_plan(world.users["chief"], proposal, proposal.revision)


def test_lineage_measures_shares_of_both_grids() -> None:
    old = Grid(id=1, level="block", geometry_wkt=shapely.box(0, 0, 2, 1).wkt)
    new_a = Grid(id=10, level="block", geometry_wkt=shapely.box(0, 0, 1, 1).wkt)
    new_b = Grid(id=11, level="block", geometry_wkt=shapely.box(1, 0, 3, 1).wkt)
    far = Grid(id=12, level="block", geometry_wkt=shapely.box(9, 9, 10, 10).wkt)
    other_level = Grid(id=13, level="sector", geometry_wkt=shapely.box(0, 0, 2, 1).wkt)
    rows = {
        (r.old_grid_id, r.new_grid_id): r
        for r in lineage.measure([old], [new_a, new_b, far, other_level])
    }
    assert set(rows) == {(1, 10), (1, 11)}
    assert (rows[(1, 10)].share_of_old, rows[(1, 10)].share_of_new) == (0.5, 1.0)
    assert (rows[(1, 11)].share_of_old, rows[(1, 11)].share_of_new) == (0.5, 0.5)
    # IoU from the two shares: 1 / (1/0.5 + 1/1 - 1) = 0.5; and 1 / (2 + 2 - 1) = 1/3
    assert rows[(1, 10)].overlap == pytest.approx(0.5)
    assert rows[(1, 11)].overlap == pytest.approx(1 / 3)
    found = lineage.Lineage(list(rows.values()))
    assert found.best(1) == (10, pytest.approx(0.5))
    assert found.best(99) == (None, 0.0)


def test_applying_a_plan_writes_the_lineage_of_every_new_grid(world: World) -> None:
    make_units(world)
    v2 = _apply(world)
    v3 = _apply(world)  # the same plan again: every grid keeps its ground
    rows = GridLineage.objects.filter(new_grid__version=v3)
    assert rows.exists()
    for grid in Grid.objects.filter(version=v3):
        mine = [r for r in rows if r.new_grid_id == grid.id]
        same = [r for r in mine if r.old_grid.code == grid.code]
        assert len(same) == 1 and same[0].overlap == pytest.approx(1.0, abs=1e-6)
        assert all(r.old_grid.version_id == v2.id and r.old_grid.level == grid.level for r in mine)


def test_followers_are_called_in_the_transaction_and_their_failure_applies_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_units(world)
    seen = []

    def follower(actor, old, new, found):
        seen.append((old.number, new.number, len(found.rows)))
        assert GridVersion.objects.get(station=world.station, is_current=True) == new
        return {"touched": 7}

    monkeypatch.setitem(lineage._followers, "test.follower", follower)
    v2 = _apply(world)
    assert seen == [(1, 2, GridLineage.objects.filter(new_grid__version=v2).count())]
    detail = json.loads(AuditEvent.objects.get(action="apply_grid_plan").detail)
    assert detail["followers"]["test.follower"] == {"touched": 7}
    assert detail["followers"]["people.assignments"]["assignments_carried"] >= 0

    def broken(actor, old, new, found):
        raise RuntimeError("a follower failed")

    monkeypatch.setitem(lineage._followers, "test.follower", broken)
    proposal = propose_division(world.users["chief"], world.station, seed=3)
    with pytest.raises(RuntimeError):
        apply_grid_plan(world.users["chief"], proposal, proposal.revision)
    assert GridVersion.objects.get(station=world.station, is_current=True) == v2
    assert not GridVersion.objects.filter(number=3).exists()
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_every_moved_assignment_is_audited_on_the_persons_timeline(world: World) -> None:
    make_units(world)
    _apply(world)
    moved = AuditEvent.objects.filter(action__in=["carry_assignment", "review_assignment"])
    people = {
        world.people[k].id for k in ("officer", "auxiliary", "grid_worker", "volunteer", "mediator")
    }
    assert {int(json.loads(e.detail)["person"]) for e in moved} == people
    assert all(e.subject_type == "people.person" for e in moved)
    ended = GridAssignment.objects.filter(grid__version=world.version, ended_at__isnull=False)
    assert ended.count() == moved.count()
    followed = GridAssignment.objects.filter(
        grid__version__station=world.station, grid__version__is_current=True, ended_at__isnull=True
    )
    assert Reassignment.objects.count() + followed.count() == len(people)


def _queries_to_apply(world: World, people: int) -> int:
    for i in range(people):
        person = Person.objects.create(station=world.station, name=f"格{i}", kind="grid_worker")
        GridAssignment.objects.create(person=person, grid=world.block_b, role="grid_worker")
    proposal = propose_division(world.users["chief"], world.station)
    with CaptureQueriesContext(connection) as queries:
        apply_grid_plan(world.users["chief"], proposal, proposal.revision)
    return len(queries)


@pytest.mark.parametrize("people", [0, 40])
def test_applying_is_bulk_the_queries_do_not_grow_with_grids_or_people(
    world: World, people: int
) -> None:
    make_units(world)
    count = _queries_to_apply(world, people)
    grids = Grid.objects.filter(version__is_current=True).count()
    # A few queries per level, per follower and for the audit, whatever the number of grids
    # (dozens here) and of assignments to move.
    assert grids > 40
    assert count < 60, count
