"""core.bulk.create: many rows in one INSERT, their ids set, whatever Django's batching."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jingwang.core import bulk
from jingwang.people.models import Person
from jingwang.territory.models import Bureau, Station

pytestmark = pytest.mark.django_db


def _station() -> Station:
    bureau = Bureau.objects.create(code="BK", name="批量县局")
    return Station.objects.create(bureau=bureau, code="BK1", name="批量派出所")


def test_thousands_of_rows_go_in_one_insert_with_their_ids() -> None:
    station = _station()
    people = [Person(station=station, kind="grid_worker", name=f"网格员{i}") for i in range(3000)]
    with CaptureQueriesContext(connection) as queries:
        created = bulk.create(Person, people)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1  # Django's own bulk_create splits this into 40 on SQLite
    assert [p.pk for p in created] == sorted(p.pk for p in created)
    assert all(p.pk is not None for p in created)
    stored = dict(Person.objects.filter(station=station).values_list("pk", "name"))
    assert stored == {p.pk: p.name for p in people}


def test_no_rows_no_query() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert bulk.create(Person, []) == []
    assert not queries.captured_queries


def test_django_keeps_its_own_limit_afterwards() -> None:
    station = _station()
    before = connection.features.max_query_params
    bulk.create(Person, [Person(station=station, kind="grid_worker", name="一")])
    assert connection.features.max_query_params == before
