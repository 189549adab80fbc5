"""The figures: what a chief would check by hand on a small set of incidents.

Station TC of the cast (tests/cast.py): block A (the grid worker's: clusters A-C1, A-C2) and
block B. Given, received in the last week:

- A-C1: three incidents, dispatched to arrival 4, 6 and 20 minutes; their three callbacks are
  done, one of them 不满意 on handling (which opened a rectification, open and past its deadline);
- A-C2: one incident without a caller (no callback), never dispatched;
- B-C1: one incident whose callback failed once and is still due, one whose callback closed
  unreachable, and one received 40 days ago (outside the last 30 days).
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from jingwang.audit.models import AuditEvent
from jingwang.incidents import figures
from jingwang.incidents.categories import ensure_categories
from jingwang.incidents.figures import Period, PeriodError, median, parse_period, percent, ratio
from jingwang.incidents.models import Callback, Category, Incident, Rectification
from jingwang.territory.models import Grid
from tests.cast import World

TODAY = date(2026, 6, 15)  # a Monday

# ── pure helpers ────────────────────────────────────────────────────────────────────────────


def test_median_of_odd_and_even_counts() -> None:
    assert median([20, 4, 6]) == 6
    assert median([4, 6, 20, 30]) == 13
    assert median([]) is None


def test_ratio_and_percent() -> None:
    assert ratio(1, 3) == pytest.approx(1 / 3)
    assert ratio(0, 0) is None
    assert percent(1 / 3) == "33%"
    assert percent(2 / 3) == "67%"
    assert percent(0.005) == "1%"  # half up
    assert percent(None) == "—"


def test_presets_end_today() -> None:
    assert parse_period(None, None, None, TODAY) == Period(date(2026, 5, 17), TODAY, "30d")
    assert parse_period("7d", "", "", TODAY).start == date(2026, 6, 9)
    assert parse_period("this_month", "", "", TODAY) == Period(
        date(2026, 6, 1), TODAY, "this_month"
    )
    last = parse_period("last_month", "", "", TODAY)
    assert (last.start, last.end, last.days) == (date(2026, 5, 1), date(2026, 5, 31), 31)
    assert parse_period("this_year", "", "", TODAY).start == date(2026, 1, 1)


def test_custom_range() -> None:
    found = parse_period("custom", "2026-03-01", "2026-03-31", TODAY)
    assert (found.start, found.end, found.days) == (date(2026, 3, 1), date(2026, 3, 31), 31)


@pytest.mark.parametrize(
    "preset, start, end, field, words",
    [
        ("custom", "", "2026-03-01", "start", "first day"),
        ("custom", "2026-03-01", "", "end", "last day"),
        ("custom", "2026-13-01", "2026-03-01", "start", "2026-13-01"),
        ("custom", "2026-03-01", "3月5日", "end", "3月5日"),
        ("custom", "2026-04-01", "2026-03-01", "start", "must not be after"),
        ("custom", "2026-03-01", "2026-06-16", "end", "after today"),
        ("custom", "2020-01-01", "2026-03-01", "start", "at most"),
        ("forever", "", "", "period", "Choose"),
    ],
)
def test_a_bad_period_names_its_field(
    preset: str, start: str, end: str, field: str, words: str
) -> None:
    with translation.override("en"), pytest.raises(PeriodError) as caught:
        parse_period(preset, start, end, TODAY)
    assert caught.value.field == field
    assert words in caught.value.message


# ── a small hand-made station ───────────────────────────────────────────────────────────────


def at(days_ago: int, hour: int = 10, minute: int = 0) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def cluster(world: World, block: Grid, n: int) -> Grid:
    return Grid.objects.get(code=f"{block.code}-C{n}")


class Maker:
    def __init__(self, world: World) -> None:
        ensure_categories(world.bureau.id)
        self.world = world
        self.count = 0
        self.category = Category.objects.get(bureau=world.bureau, code="disputes.neighbour")
        self.help = Category.objects.get(bureau=world.bureau, code="help.lost_property")

    def incident(
        self,
        grid: Grid,
        received: datetime,
        arrival_minutes: int | None = None,
        *,
        phone: str = "13800000000",
        category: Category | None = None,
    ) -> Incident:
        self.count += 1
        incident = Incident(
            station=self.world.station,
            number=f"T{self.count:04d}",
            received_at=received,
            source=Incident.Source.CALL_110,
            category=category or self.category,
            grid=grid,
            grid_at_time=grid,
            lon=105.001,
            lat=31.001,
            officer=self.world.people["officer"],
            status=Incident.Status.CLOSED,
            closed_at=received + timedelta(hours=2),
        )
        if arrival_minutes is not None:
            incident.dispatched_at = received + timedelta(minutes=1)
            incident.arrived_at = incident.dispatched_at + timedelta(minutes=arrival_minutes)
        incident.caller_phone = phone
        incident.save()
        return incident

    def callback(self, incident: Incident, status: str, **fields: Any) -> Callback:
        return Callback.objects.create(
            incident=incident,
            station=self.world.station,
            due_on=incident.received_at.date() + timedelta(days=1),
            status=status,
            **fields,
        )


SATISFIED = {"speed": "satisfied", "attitude": "satisfied", "handling": "satisfied"}


@pytest.fixture
def station(world: World) -> World:
    make = Maker(world)
    a1, a2 = cluster(world, world.block_a, 1), cluster(world, world.block_a, 2)
    b1 = cluster(world, world.block_b, 1)
    first = make.incident(a1, at(3), 4)
    make.callback(first, "done", channel="phone", **SATISFIED)
    second = make.incident(a1, at(3, 21), 6)
    make.callback(second, "done", channel="sms", **{**SATISFIED, "speed": "basically"})
    third = make.incident(a1, at(2), 20, category=make.help)
    unhappy = make.callback(
        third, "done", channel="phone", **{**SATISFIED, "handling": "dissatisfied"}
    )
    Rectification.objects.create(
        incident=third,
        callback=unhappy,
        station=world.station,
        due_on=timezone.localdate() - timedelta(days=1),
    )
    make.incident(a2, at(1), None, phone="")
    pending = make.incident(b1, at(1), 10)
    make.callback(pending, "due", failed_attempts=1)
    lost = make.incident(b1, at(5), 8)
    make.callback(lost, "unreachable", failed_attempts=3)
    old = make.incident(b1, at(40), 30)
    make.callback(old, "done", channel="phone", **SATISFIED)
    return world


def last_30_days() -> Period:
    return parse_period("30d", "", "", timezone.localdate())


def test_station_figures_count_what_a_chief_would(station: World) -> None:
    found = figures.table(
        station.users["chief"], last_30_days(), "block", station_id=station.station.id
    )
    total = found.total
    assert total.incidents == 6  # the one of 40 days ago is outside the period
    assert total.arrival_minutes == 8  # median of 4, 6, 20, 10, 8
    # Callbacks: five (the incident without a phone has none); the still-due one's day has
    # come, so all five are due; three done.
    assert (total.callbacks_due, total.callbacks_done, total.callbacks_unreachable) == (5, 3, 1)
    assert percent(total.coverage) == "60%"
    # Tried: three done, one unreachable, one with a failed attempt; reached: three.
    assert total.callbacks_attempted == 5
    assert percent(total.reach_rate) == "60%"
    # 3 callbacks done, one dissatisfied on handling: 33% dissatisfied on handling.
    assert percent(total.share("handling", "dissatisfied")) == "33%"
    assert percent(total.share("handling", "satisfied")) == "67%"
    assert percent(total.share("speed", "basically")) == "33%"
    assert percent(total.share("attitude", "satisfied")) == "100%"
    assert (total.rectifications, total.rectifications_open, total.rectifications_overdue) == (
        1,
        1,
        1,
    )
    by_block = {row.label.split()[0]: row for row in found.rows}
    assert set(by_block) == {"TC-D1-S1-B1", "TC-D1-S1-B2"}
    a, b = by_block["TC-D1-S1-B1"], by_block["TC-D1-S1-B2"]
    # A block's figures include its clusters.
    assert (a.incidents, a.arrival_minutes, a.callbacks_done) == (4, 6, 3)
    assert percent(a.share("handling", "dissatisfied")) == "33%"
    assert a.rectifications_overdue == 1
    assert (b.incidents, b.callbacks_due, b.callbacks_done, b.coverage) == (2, 2, 0, 0)


def test_a_closed_or_future_rectification_is_not_overdue(station: World) -> None:
    rect = Rectification.objects.get()
    rect.due_on = timezone.localdate()  # due today: open, not yet overdue
    rect.save()
    total = figures.table(
        station.users["chief"], last_30_days(), "block", station_id=station.station.id
    ).total
    assert (total.rectifications_open, total.rectifications_overdue) == (1, 0)
    rect.status = Rectification.Status.CLOSED
    rect.save()
    total = figures.table(
        station.users["chief"], last_30_days(), "block", station_id=station.station.id
    ).total
    assert (total.rectifications_open, total.rectifications_overdue) == (0, 0)


def test_a_callback_not_due_yet_is_not_counted_as_due(station: World) -> None:
    Callback.objects.filter(status="due").update(due_on=timezone.localdate() + timedelta(days=1))
    total = figures.table(
        station.users["chief"], last_30_days(), "block", station_id=station.station.id
    ).total
    assert (total.callbacks_due, total.callbacks_done) == (4, 3)
    assert percent(total.coverage) == "75%"


def test_grouped_by_officer_category_and_cluster(station: World) -> None:
    chief = station.users["chief"]
    by_officer = figures.table(chief, last_30_days(), "officer", station_id=station.station.id)
    assert [(r.label, r.incidents) for r in by_officer.rows] == [("王警官", 6)]
    by_category = figures.table(chief, last_30_days(), "category", station_id=station.station.id)
    assert {r.label: r.incidents for r in by_category.rows} == {"纠纷": 5, "求助": 1}
    by_cluster = figures.table(chief, last_30_days(), "cluster", station_id=station.station.id)
    assert {r.label.split()[0]: r.incidents for r in by_cluster.rows} == {
        "TC-D1-S1-B1-C1": 3,
        "TC-D1-S1-B1-C2": 1,
        "TC-D1-S1-B2-C1": 2,
    }


def test_a_grid_worker_counts_only_their_grids(station: World) -> None:
    found = figures.table(
        station.users["grid_worker"], last_30_days(), "cluster", station_id=station.station.id
    )
    assert found.total.incidents == 4
    assert {r.label.split()[0] for r in found.rows} == {"TC-D1-S1-B1-C1", "TC-D1-S1-B1-C2"}


def test_another_station_counts_nothing_of_tc(station: World) -> None:
    found = figures.table(station.users["other_chief"], last_30_days(), "block")
    assert found.total.incidents == 0 and found.rows == []


def test_a_longer_period_takes_the_older_incident(station: World) -> None:
    found = figures.table(
        station.users["chief"],
        parse_period("90d", "", "", timezone.localdate()),
        "block",
        station_id=station.station.id,
    )
    assert found.total.incidents == 7
    assert found.total.callbacks_done == 4
    assert percent(found.total.share("handling", "dissatisfied")) == "25%"


# ── the pages ───────────────────────────────────────────────────────────────────────────────


def text(response: Any) -> str:
    return str(response.content.decode())


def test_the_page_shows_the_station_and_its_blocks(station: World) -> None:
    response = station.client("chief").get("/incidents/figures/?station=TC&group=block")
    assert response.status_code == 200
    page = text(response)
    assert '<dd id="fig-incidents">6</dd>' in page
    assert '<dd id="fig-coverage">60%</dd>' in page
    assert "33%" in page  # dissatisfied on handling
    assert f"/incidents/figures/grids/{station.block_a.id}/" in page
    # By default, by sector (片): one row, the station's only sector.
    page = text(station.client("chief").get("/incidents/figures/?station=TC"))
    assert f"/incidents/figures/grids/{station.sector.id}/" in page


def test_the_grid_page_includes_the_grids_below(station: World) -> None:
    response = station.client("chief").get(f"/incidents/figures/grids/{station.block_a.id}/")
    assert response.status_code == 200
    page = text(response)
    assert '<dd id="fig-incidents">4</dd>' in page
    assert "TC-D1-S1-B1-C1" in page and "TC-D1-S1-B2-C1" not in page


def test_the_grid_worker_sees_their_block_and_not_the_other(station: World) -> None:
    client = station.client("grid_worker")
    assert client.get(f"/incidents/figures/grids/{station.block_a.id}/").status_code == 200
    assert client.get(f"/incidents/figures/grids/{station.block_b.id}/").status_code == 404
    page = text(client.get("/incidents/figures/"))
    assert '<dd id="fig-incidents">4</dd>' in page


@pytest.mark.parametrize("role", ["other_chief", "other_officer", "mediator", "volunteer"])
def test_others_cannot_open_a_tc_grid(station: World, role: str) -> None:
    before = AuditEvent.objects.filter(outcome="denied", actor_id=station.users[role].id).count()
    response = station.client(role).get(f"/incidents/figures/grids/{station.block_a.id}/")
    assert response.status_code == 404
    after = AuditEvent.objects.filter(outcome="denied", actor_id=station.users[role].id).count()
    assert after == before + 1


def test_a_bad_custom_range_is_named_on_the_page(station: World) -> None:
    response = station.client("chief").get(
        "/incidents/figures/?period=custom&start=2026-04-01&end=2026-03-01"
    )
    assert response.status_code == 200
    page = text(response)
    assert 'id="error-start"' in page
    assert 'id="fig-incidents"' not in page


def test_the_export_is_a_spreadsheet_and_an_audit_event(station: World) -> None:
    pytest.importorskip("jingwang.core.exports")
    openpyxl = pytest.importorskip("openpyxl")
    client = station.client("chief")
    response = client.get("/incidents/figures/?station=TC&group=block&format=xlsx&table=groups")
    assert response.status_code == 200
    body = response.getvalue()
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    flat = [str(v) for row in values for v in row if v is not None]
    assert "TC-D1-S1-B1 TC-D1-S1-B1 name" in flat
    assert AuditEvent.objects.filter(action="export", actor_id=station.users["chief"].id).exists()
