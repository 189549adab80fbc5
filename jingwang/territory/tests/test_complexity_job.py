"""The complexity of base units from a year of incidents and disputes: the job, the CLI, the
division page's button and the unit's page."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.disputes.models import Dispute
from jingwang.disputes.tests.helpers import make_dispute
from jingwang.incidents import actions as incidents
from jingwang.incidents.categories import categories_of
from jingwang.incidents.models import Incident
from jingwang.lib.division import complexity as engine
from jingwang.territory import complexity
from jingwang.territory.models import BaseUnit
from jingwang.territory.tasks import recompute_complexity_nightly
from tests.cast import World

# Inside base unit U0000 (105.000–105.002, 31.000–31.002) and U0100 (105.002–105.004): both in
# cluster TC-D1-S1-B1-C1.
IN_U0000 = (105.001, 31.001)
IN_U0100 = (105.003, 31.001)


def incident(world: World, number: str, days_ago: int, point: tuple[float, float]) -> Incident:
    return incidents.record_incident(
        world.users["officer"],
        world.station,
        number=number,
        received_at=timezone.now() - timedelta(days=days_ago),
        source="call_110",
        category=categories_of(world.bureau.id, active=None).get(code="public_order.noise"),
        lon=point[0],
        lat=point[1],
    )


def dispute(world: World, days_ago: int, point: tuple[float, float]) -> Dispute:
    return make_dispute(
        world,
        lon=point[0],
        lat=point[1],
        registered_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def records(world: World, units: list[BaseUnit]) -> World:
    """U0000: 3 incidents and 1 dispute of this year, 1 incident and 1 dispute older than a
    year; U0100: 1 incident; one incident outside every base unit."""
    for n, days in enumerate((10, 100, 300)):
        incident(world, f"J{n}", days, IN_U0000)
    incident(world, "J-old", 400, IN_U0000)
    incident(world, "J-next", 5, IN_U0100)
    incident(world, "J-away", 5, (105.03, 31.03))
    dispute(world, 20, IN_U0000)
    dispute(world, 500, IN_U0000)
    unit = BaseUnit.objects.get(station=world.station, code="U0000")
    unit.floating_population = 40
    unit.save(update_fields=["floating_population"])
    return world


def unit(code: str) -> BaseUnit:
    return BaseUnit.objects.get(station__code="TC", code=code)


def test_the_job_counts_a_years_records_in_each_unit_and_scores_them(records: World) -> None:
    figures = complexity.recompute_station(None, records.station)

    u0000, u0100, quiet = unit("U0000"), unit("U0100"), unit("U0505")
    # Records older than 12 months are not counted; the one outside every unit is not either.
    assert u0000.complexity_inputs is not None
    assert (u0000.complexity_inputs["incidents"], u0000.complexity_inputs["disputes"]) == (3, 1)
    assert u0000.complexity_inputs["key_places"] == 0
    assert u0000.complexity_inputs["residents"] == u0000.population
    assert u0000.complexity_inputs["floating_population"] == 40
    assert u0000.complexity == engine.score(3, 1, 0, 40, residents=u0000.population)
    assert u0100.complexity == engine.score(1, 0, 0, 0, residents=u0100.population)
    assert quiet.complexity == 0.0
    assert u0000.complexity > u0100.complexity > 0
    # The period is the last 12 months, and what was counted is in the audit event.
    period_from = u0000.complexity_inputs["period_from"]
    assert period_from[:4] == str(timezone.now().year - 1)
    assert figures["located"] == {"incidents": 4, "disputes": 1}
    assert figures["outside"] == {"incidents": 1, "disputes": 0}
    assert figures["changed"] == 2
    event = AuditEvent.objects.get(action="recompute_complexity")
    assert event.station_id == records.station.id
    assert '"changed": 2' in event.detail and '"units": 72' in event.detail

    # Run again on the same records: same scores, nothing changed.
    again = complexity.recompute_station(None, records.station)
    assert again["changed"] == 0
    assert unit("U0000").complexity == u0000.complexity


def test_a_station_without_records_keeps_its_imported_complexity(
    world: World, units: list[BaseUnit]
) -> None:
    BaseUnit.objects.filter(station=world.station).update(complexity=0.7)

    figures = complexity.recompute_station(None, world.station)

    assert figures["skipped"] is True
    assert set(BaseUnit.objects.values_list("complexity", flat=True)) == {0.7}
    assert not AuditEvent.objects.filter(action="recompute_complexity").exists()


def test_the_nightly_job_and_the_cli_run(records: World) -> None:
    recompute_complexity_nightly()
    assert unit("U0000").complexity_inputs["incidents"] == 3  # type: ignore[index]

    out = StringIO()
    call_command("complexity", "--station", "TC", stdout=out)
    assert "TC: 72 base units scored, 0 changed" in out.getvalue()
    assert "incidents 4 (+1 outside every unit)" in out.getvalue()
    out = StringIO()
    call_command("complexity", stdout=out)
    assert "XX: no records" in out.getvalue()


def test_the_unit_page_shows_the_score_and_its_inputs(records: World) -> None:
    complexity.recompute_station(None, records.station)
    u0000 = unit("U0000")
    client = records.client("officer")
    client.post("/accounts/language/", {"language": "en"})

    page = client.get(f"/territory/units/{u0000.id}/").content.decode()

    assert "U0000" in page and "东街社区" in page
    assert f"{u0000.complexity:.3f}" in page
    # Its grids, largest first, down to the cluster the unit lies in.
    chain = page.split('id="grid-chain"')[1].split("</ol>")[0]
    assert chain.index("TC-D1 ") < chain.index("TC-D1-S1-B1 ") < chain.index("TC-D1-S1-B1-C1")
    rows = page.split('id="complexity-inputs"')[1].split("</table>")[0]
    people = u0000.population + 40
    incidents_row = rows.split('id="input-incidents"')[1].split("</tr>")[0]
    assert ">3<" in incidents_row
    assert f"{1000 * 3 / people:.1f}" in incidents_row  # the rate per 1,000
    assert ">50<" in incidents_row and ">0.40<" in incidents_row  # reference and weight
    disputes_row = rows.split('id="input-disputes"')[1].split("</tr>")[0]
    assert ">1<" in disputes_row and ">10<" in disputes_row and ">0.30<" in disputes_row
    key_places = rows.split('id="input-key_places"')[1].split("</tr>")[0]
    assert "not recorded yet: counted as 0" in key_places
    assert 'id="no-key-places"' in page
    floating = rows.split('id="input-floating_population"')[1].split("</tr>")[0]
    assert ">40<" in floating
    year_ago = (timezone.localtime() - timedelta(days=365)).strftime("%Y-%m")
    assert f"Records from {year_ago}" in page

    # The list of base units links to it, most complex first.
    listed = client.get("/territory/units/?station=TC").content.decode()
    assert listed.index(f"/territory/units/{u0000.id}/") < listed.index("U0100")


def test_a_unit_never_computed_says_its_complexity_is_imported(
    world: World, units: list[BaseUnit]
) -> None:
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    page = client.get(f"/territory/units/{units[0].id}/").content.decode()
    assert "has not been computed from records" in page


def test_a_user_of_another_station_gets_404_and_a_denied_event(records: World) -> None:
    u0000 = unit("U0000")
    for name in ("other_chief", "grid_worker"):
        response = records.client(name).get(f"/territory/units/{u0000.id}/")
        assert response.status_code == 404
        denied = AuditEvent.objects.filter(
            action="access", outcome="denied", actor_name=name, object_id=str(u0000.id)
        )
        assert denied.exists()


def counts() -> list[tuple[Any, ...]]:
    return list(BaseUnit.objects.order_by("id").values_list("complexity", "complexity_inputs"))


def test_the_division_page_button_recomputes_for_those_who_may_divide(records: World) -> None:
    client = records.client("chief")
    page = client.get("/territory/divisions/?station=TC").content.decode()
    assert 'id="recompute-complexity"' in page

    response = client.post("/territory/divisions/complexity/", {"station": "TC"})

    assert response.status_code == 302
    assert unit("U0000").complexity_inputs["incidents"] == 3  # type: ignore[index]
    event = AuditEvent.objects.get(action="recompute_complexity")
    assert event.actor_name == "chief"


@pytest.mark.parametrize(
    ("name", "station"), [("officer", "TC"), ("other_chief", "TC"), ("grid_worker", "TC")]
)
def test_the_button_is_refused_to_those_who_may_not_divide_the_station(
    records: World, name: str, station: str
) -> None:
    before = counts()
    response = records.client(name).post("/territory/divisions/complexity/", {"station": station})

    assert response.status_code == 404
    assert counts() == before
    assert not AuditEvent.objects.filter(action="recompute_complexity").exists()
    assert AuditEvent.objects.filter(action="access", outcome="denied", actor_name=name).exists()


def test_a_source_must_be_an_input_of_the_score() -> None:
    with pytest.raises(ValueError, match="not an input"):
        complexity.register_source("parking", lambda station, start, end: [])
    assert set(complexity.sources()) == {"incidents", "disputes"}


def test_the_floating_population_is_imported_and_scored(
    world: World, units: list[BaseUnit]
) -> None:
    from jingwang.territory import imports

    csv = "code,name,kind,community,population,流动人口,lon,lat\nU0000,0-0号楼,urban,C01,150,60,105.001,31.001\n"
    report = imports.import_territory(
        world.users["chief"], world.station, "base-unit", csv.encode(), "units.csv"
    )
    assert report.ok
    assert unit("U0000").floating_population == 60
    bad = "code,name,kind,community,floating_population,lon,lat\nU0001,x,urban,C01,-3,105.001,31.003\n"
    refused = imports.import_territory(
        world.users["chief"], world.station, "base-unit", bad.encode(), "units.csv"
    )
    assert not refused.ok
    assert unit("U0001").floating_population is None


def test_recomputing_takes_a_number_of_queries_that_does_not_grow_with_the_units(
    records: World, django_assert_max_num_queries: Any
) -> None:
    # The units, one read per source, one UPDATE run for every unit, the current version, its
    # grids and the leaves' shapes, one UPDATE run for every grid that changed, the audit event
    # (its chain head and insert) and the transaction's savepoint.
    with django_assert_max_num_queries(16) as captured:
        complexity.recompute_station(None, records.station)
    # One statement executed for every unit (executemany): one round trip on SQLite, pipelined
    # by psycopg on PostgreSQL.
    updates = [q["sql"] for q in captured.captured_queries if "territory_baseunit" in q["sql"]]
    assert len(updates) == 2 and updates[1].startswith("72 times: UPDATE")


def test_the_current_grids_take_the_household_weighted_complexity_of_their_units(
    records: World,
) -> None:
    from jingwang.territory.models import Grid

    figures = complexity.recompute_station(None, records.station)

    u0000, u0100 = unit("U0000"), unit("U0100")
    # Block B1 (105.000–105.010): the units whose centre lies inside it (none on its border).
    block = Grid.objects.get(code="TC-D1-S1-B1", version__is_current=True)
    units = BaseUnit.objects.filter(station=records.station)
    inside = [u for u in units if block.geometry.contains(u.geometry.point_on_surface())]
    assert {u0000.code, u0100.code} <= {u.code for u in inside} and len(inside) == 25
    expected = sum(u.households * u.complexity for u in inside) / sum(u.households for u in inside)
    assert block.complexity == pytest.approx(expected)
    # The district holds it too, diluted by the quiet units of B2; B2 stays 0.
    district = Grid.objects.get(code="TC-D1", version__is_current=True)
    quiet = Grid.objects.get(code="TC-D1-S1-B2", version__is_current=True)
    assert 0 < district.complexity < block.complexity and quiet.complexity == 0
    assert figures["grids"] >= 4
    assert complexity.recompute_station(None, records.station)["grids"] == 0
