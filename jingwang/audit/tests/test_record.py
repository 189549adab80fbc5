"""Events name their object and their subject; timelines; many events under one lock."""

from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from jingwang.audit.actions import record, record_many, verify
from jingwang.audit.models import AuditEvent
from jingwang.audit.queries import timeline


def test_an_event_shows_on_its_subjects_timeline(world):
    chief = world.users["chief"]
    first = record(chief, "test_event", world.sector)
    child = record(chief, "test_event", world.block_a, subject=world.sector, detail={"n": 1})
    record(chief, "test_event", world.block_b)  # about something else
    later = record(chief, "test_event", world.sector)
    assert (child.subject_type, child.subject_id) == ("territory.grid", str(world.sector.pk))
    assert (child.object_type, child.object_id) == ("territory.grid", str(world.block_a.pk))
    assert list(timeline(world.sector)) == [later, child, first]
    assert list(timeline(world.block_a)) == [child]
    assert verify().broken is None  # the subject is covered by the MAC


def test_object_overrides_still_work(world):
    event = record(None, "test_event", object_type="page", object_id="", subject=world.block_a)
    assert (event.object_type, event.object_id, event.actor_name) == ("page", "", "system")
    assert list(timeline(world.block_a)) == [event]


def test_events_are_indexed_by_object_and_by_subject(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "audit_auditevent")
    indexes = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["object_type", "object_id"] in indexes
    assert ["subject_type", "subject_id"] in indexes


def test_record_many_appends_in_order_under_one_lock(world):
    chief = world.users["chief"]
    record(chief, "test_event")
    grids = [world.block_a, world.block_b, world.sector, world.district, world.other_block] * 20
    with CaptureQueriesContext(connection) as queries:
        events = record_many(
            chief,
            "test_event",
            grids,
            detail=lambda grid: {"code": grid.code},
            subject=world.version,
        )
    # The head locked and moved once, the events inserted in one statement: not 100 × 3.
    assert len(queries) <= 4, [q["sql"][:60] for q in queries]
    stored = list(AuditEvent.objects.filter(seq__gt=1).order_by("seq"))
    assert [e.seq for e in stored] == list(range(2, 102))
    assert [json.loads(e.detail)["code"] for e in stored] == [g.code for g in grids]
    assert stored[-1].station_id == world.other_station.pk  # each object's own station
    assert {e.subject_id for e in stored} == {str(world.version.pk)}
    assert [e.seq for e in events] == [e.seq for e in stored]
    result = verify()
    assert (result.checked, result.broken) == (101, None)
    assert len(timeline(world.version)) == 100


def test_record_many_of_nothing_writes_nothing(world):
    assert record_many(world.users["chief"], "test_event", []) == []
    assert not AuditEvent.objects.exists()
