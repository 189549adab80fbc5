"""The dispute figures: what a chief would count by hand on a small set of disputes.

Station TC of the cast (tests/cast.py): block A (the grid worker's: clusters A-C1, A-C2) and
block B. Given, registered at 10:00 on these days of 2026 (the period: March to May):

====  ======  ======  ====  ==========  ========  ==============================================
 #    day     grid    tier  category    lead      what happened
====  ======  ======  ====  ==========  ========  ==============================================
 D1   Mar 3   A-C1    1     neighbours  钱调解     agreed Mar 6 (session agreed); carried out
 D2   Mar 10  A-C2    2     neighbours  钱调解     failed, then agreed Mar 20; not carried out:
                                                   open again, deadline Apr 1 passed (overdue)
 D3   Apr 2   B-C1    3     debts       —         session failed; referred to court Apr 12
 D4   Apr 5   B-C1    1     debts       —         session failed; withdrawn Apr 8
 D5   Apr 20  A-C1    1     neighbours  —         session adjourned; withdrawn Apr 21
 D6   May 2   A-C1    2     neighbours  —         no session yet; open, deadline far ahead
 D7   May 5   none    1     debts       —         agreed May 7, to be carried out (deadline
                                                   passed but agreed: not overdue)
 D8   Feb 20  A-C1    1     neighbours  —         before the period; open, overdue
 D9   Apr 1   XX      1     neighbours  —         station XX: never TC's
====  ======  ======  ====  ==========  ========  ==============================================

So in the period: registered 7 (D1–D7); mediated 6 (not D6); succeeded 3 (D1, D2, D7);
failed 2 (D3 referred, D4 withdrawn after a failed session; D5 was withdrawn with no failed
session: neither); success rate 3/5 = 60%; referred 1; withdrawn 2; agreements carried out 1
of the 2 followed up to the end (D1 yes, D2 no; D7 still pending) = 50%; durations 3, 10, 10,
3, 1, 2 days → median 3; open now 3 (D2, D6, D7), overdue now 1 (D2). Whatever the period:
open 4 (D8 too), overdue 2.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from jingwang.audit.models import AuditEvent
from jingwang.disputes import figures
from jingwang.disputes.figures import Figures, Period, Row
from jingwang.disputes.models import (
    Agreement,
    Body,
    Category,
    Dispute,
    Member,
    Referral,
    Session,
)
from jingwang.disputes.queries import disputes_visible_to
from jingwang.territory.models import Grid, Station
from tests.cast import World

TODAY = date(2026, 6, 15)
PERIOD = Period(date(2026, 3, 1), date(2026, 5, 31), "custom")
RANGE = "start=2026-03-01&end=2026-05-31"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def d(month: int, day: int) -> date:
    return date(2026, month, day)


class Maker:
    def __init__(self, world: World) -> None:
        self.world = world
        self.count = 0
        self.neighbours = Category.objects.create(
            bureau=world.bureau, code="neighbours", name="邻里纠纷", name_en="Neighbours", order=1
        )
        self.debts = Category.objects.create(
            bureau=world.bureau, code="debts", name="债务纠纷", name_en="Debts", order=2
        )
        body = Body.objects.create(station=world.station, tier=1, name="警民联调工作站")
        self.lead = Member.objects.create(
            body=body, person=world.people["mediator"], role=Member.Role.MEDIATOR
        )

    def dispute(
        self,
        day: date,
        grid: Grid | None,
        *,
        tier: int = 1,
        category: Category | None = None,
        station: Station | None = None,
        **fields: Any,
    ) -> Dispute:
        self.count += 1
        return Dispute.objects.create(
            station=station or self.world.station,
            number=f"TC-2026-{self.count:04d}",
            registered_at=at(day),
            source=Dispute.Source.WALK_IN,
            category=category or self.neighbours,
            facts="楼上水管漏水",
            grid=grid,
            tier=tier,
            **fields,
        )

    def session(self, dispute: Dispute, day: date, result: str) -> Session:
        return Session.objects.create(
            dispute=dispute, tier=dispute.tier, held_at=at(day, 15), result=result
        )

    def agreement(self, dispute: Dispute, signed: date, status: str) -> Agreement:
        return Agreement.objects.create(
            dispute=dispute,
            number=f"{dispute.number}-X1",
            form=Agreement.Form.WRITTEN,
            facts="漏水",
            terms="修好水管，赔偿 500 元",
            performance="一周内",
            perform_by=signed + timedelta(days=7),
            signed_on=signed,
            signatories=["刘大爷", "楼下住户"],
            status=status,
        )


def cluster(block: Grid, n: int) -> Grid:
    return Grid.objects.get(code=f"{block.code}-C{n}")


@pytest.fixture
def station(world: World) -> World:
    make = Maker(world)
    a1, a2 = cluster(world.block_a, 1), cluster(world.block_a, 2)
    b1 = cluster(world.block_b, 1)
    S, R = Dispute.Status, Session.Result

    d1 = make.dispute(d(3, 3), a1, lead=make.lead, status=S.PERFORMED, closed_at=at(d(3, 20)))
    make.session(d1, d(3, 6), R.AGREED)
    make.agreement(d1, d(3, 6), Agreement.Status.PERFORMED)

    d2 = make.dispute(
        d(3, 10), a2, tier=2, lead=make.lead, status=S.OPEN, reopened=1, deadline=d(4, 1)
    )
    make.session(d2, d(3, 12), R.FAILED)
    make.session(d2, d(3, 20), R.AGREED)
    make.agreement(d2, d(3, 20), Agreement.Status.UNPERFORMED)

    d3 = make.dispute(
        d(4, 2), b1, tier=3, category=make.debts, status=S.REFERRED, closed_at=at(d(4, 12))
    )
    make.session(d3, d(4, 3), R.FAILED)
    Referral.objects.create(dispute=d3, to="court", told="可向法院起诉", referred_at=at(d(4, 12)))

    d4 = make.dispute(d(4, 5), b1, category=make.debts, status=S.WITHDRAWN, closed_at=at(d(4, 8)))
    make.session(d4, d(4, 6), R.FAILED)

    d5 = make.dispute(d(4, 20), a1, status=S.WITHDRAWN, closed_at=at(d(4, 21)))
    make.session(d5, d(4, 20), R.ADJOURNED)

    make.dispute(d(5, 2), a1, tier=2, status=S.OPEN, deadline=date(2099, 1, 1))

    d7 = make.dispute(d(5, 5), None, category=make.debts, status=S.AGREED, deadline=d(5, 6))
    make.session(d7, d(5, 7), R.AGREED)
    make.agreement(d7, d(5, 7), Agreement.Status.PENDING)

    make.dispute(d(2, 20), a1, status=S.OPEN, deadline=d(3, 1))  # D8, before the period
    make.dispute(d(4, 1), world.other_block, station=world.other_station)  # D9
    return world


def figures_of(world: World, user: str = "chief", **kw: Any) -> Figures:
    visible = disputes_visible_to(world.users[user]).filter(station=world.station)
    return figures.figures(visible, PERIOD, kw.pop("group", "tier"), today=TODAY, **kw)


COUNTED = (
    "registered", "mediated", "succeeded", "failed", "referred", "withdrawn", "performed",
    "concluded", "open", "overdue",
)  # fmt: skip


def counts(r: Row) -> dict[str, Any]:
    return {name: getattr(r, name) for name in COUNTED}


def by_label(rows: list[Row]) -> dict[str, Row]:
    return {r.label: r for r in rows}


# ── the figures, counted in the database ───────────────────────────────────────────────────


def test_the_station_figures_count_what_a_chief_would(station: World) -> None:
    found = figures_of(station)
    total = found.total
    assert counts(total) == {
        "registered": 7,
        "mediated": 6,
        "succeeded": 3,
        "failed": 2,
        "referred": 1,
        "withdrawn": 2,
        "performed": 1,
        "concluded": 2,
        "open": 3,
        "overdue": 1,
    }
    assert total.success_rate == pytest.approx(0.6)
    assert total.success_text == "60%"
    assert total.carried_out_rate == pytest.approx(0.5)
    if not figures.in_database():  # SQLite: each ended dispute's days, counted in Python
        assert sorted(total.durations) == [1, 2, 3, 3, 10, 10]
    assert total.median_days == 3
    assert [r.median_days for r in found.months.rows] == [6.5, 3, 2]  # (3, 10), (10, 3, 1), 2
    assert (found.open_now, found.overdue_now) == (4, 2)  # D8 too, whatever the period


def test_by_tier(station: World) -> None:
    rows = figures_of(station, group="tier").groups.rows
    assert [r.key for r in rows] == [1, 2, 3]
    one, two, three = rows
    assert counts(one) == {
        "registered": 4, "mediated": 4, "succeeded": 2, "failed": 1, "referred": 0,
        "withdrawn": 2, "performed": 1, "concluded": 1, "open": 1, "overdue": 0,
    }  # fmt: skip
    assert (two.registered, two.mediated, two.succeeded, two.open, two.overdue) == (2, 1, 1, 2, 1)
    assert (two.performed, two.concluded, two.carried_out_text) == (0, 1, "0%")
    assert (three.registered, three.failed, three.referred, three.success_text) == (1, 1, 1, "0%")
    with translation.override("en"):
        assert figures_of(station, group="tier").groups.rows[2].label.startswith("Tier 3")


def test_by_block_category_mediator(station: World) -> None:
    blocks = by_label(figures_of(station, group="block").groups.rows)
    a, b = blocks["TC-D1-S1-B1 TC-D1-S1-B1 name"], blocks["TC-D1-S1-B2 TC-D1-S1-B2 name"]
    assert (a.registered, a.mediated, a.succeeded, a.failed, a.withdrawn) == (4, 3, 2, 0, 1)
    assert (a.open, a.overdue, a.median_days) == (2, 1, 3)  # D2 and D6 open; 1, 3, 10 days
    assert (b.registered, b.failed, b.success_text) == (2, 2, "0%")
    with translation.override("en"):
        rows = figures_of(station, group="block").groups.rows
    assert rows[-1].key is None and rows[-1].label == "Not in a grid of this level"
    assert rows[-1].registered == 1  # D7, not placed

    categories = by_label(figures_of(station, group="category").groups.rows)
    assert {label: r.registered for label, r in categories.items()} == {
        "邻里纠纷": 4,
        "债务纠纷": 3,
    }

    mediators = figures_of(station, group="mediator").groups.rows
    assert [(r.label, r.registered, r.succeeded) for r in mediators[:1]] == [("钱调解", 2, 2)]
    assert mediators[-1].key is None and mediators[-1].registered == 5


def test_a_grid_level_above_counts_the_grids_below(station: World) -> None:
    (sector,) = figures_of(station, group="sector").groups.rows[:1]
    assert (sector.label, sector.registered) == ("TC-D1-S1 TC-D1-S1 name", 6)


def test_every_month_of_the_period_is_a_row(station: World) -> None:
    months = figures_of(station).months.rows
    assert [(r.label, r.registered, r.succeeded, r.failed) for r in months] == [
        ("2026-03", 2, 2, 0),
        ("2026-04", 3, 0, 2),
        ("2026-05", 2, 1, 0),
    ]
    longer = figures.figures(
        disputes_visible_to(station.users["chief"]).filter(station=station.station),
        Period(date(2026, 1, 15), date(2026, 6, 10), "custom"),
        "tier",
        today=TODAY,
    )
    assert [(r.label, r.registered) for r in longer.months.rows] == [
        ("2026-01", 0),
        ("2026-02", 1),  # D8
        ("2026-03", 2),
        ("2026-04", 3),
        ("2026-05", 2),
        ("2026-06", 0),
    ]


def test_the_filters(station: World) -> None:
    assert figures_of(station, grid_id=station.block_b.id).total.registered == 2
    assert figures_of(station, grid_id=station.sector.id).total.registered == 6
    assert figures_of(station, tier=2).total.registered == 2
    debts = Category.objects.get(bureau=station.bureau, code="debts")
    found = figures_of(station, category_id=debts.id)
    assert (found.total.registered, found.total.succeeded, found.total.failed) == (3, 1, 2)
    assert found.open_now == 1  # D7; the filters apply to "open now" too


def test_nothing_to_count_reads_as_dashes(world: World) -> None:
    found = figures_of(world)
    assert found.total.registered == 0
    assert (found.total.success_text, found.total.carried_out_text) == ("—", "—")
    assert found.total.median_text == "—"
    assert [r.registered for r in found.months.rows] == [0, 0, 0]


def test_the_queries_do_not_grow_with_the_rows(station: World) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            figures_of(station, group="block")
        return len(captured.captured_queries)

    before = queries()
    make = Maker.__new__(Maker)  # more of the same, in every cluster and month
    make.world, make.count = station, 100
    make.neighbours = Category.objects.get(bureau=station.bureau, code="neighbours")
    for n, grid in enumerate(Grid.objects.filter(station=station.station, level="cluster")):
        more = make.dispute(d(3 + n % 3, 11), grid, status=Dispute.Status.AGREED)
        make.session(more, d(3 + n % 3, 12), Session.Result.AGREED)
        make.agreement(more, d(3 + n % 3, 12), Agreement.Status.PERFORMED)
    assert queries() == before <= 10  # on PostgreSQL: with the medians' SET LOCAL and savepoint


def test_the_default_period_is_the_last_12_months() -> None:
    found = figures.period_from("", "", date(2026, 12, 1))
    assert (found.start, found.end) == (date(2026, 1, 1), date(2026, 12, 1))
    assert len(figures.months_of(found)) == 12
    assert figures.period_from("", "", date(2026, 3, 31)).start == date(2025, 4, 1)


def test_rates_keep_one_decimal() -> None:
    assert figures.percent_1(748 / 751) == "99.6%"
    assert figures.percent_1(1.0) == "100%"
    assert figures.percent_1(None) == "—"


# ── scope ──────────────────────────────────────────────────────────────────────────────────


def test_another_stations_chief_counts_nothing_of_tc(station: World) -> None:
    assert figures_of(station, "other_chief").total.registered == 0
    assert figures_of(station, "other_chief").open_now == 0


def test_a_grid_worker_counts_only_their_grids(station: World) -> None:
    found = figures_of(station, "grid_worker")
    assert found.total.registered == 4  # D1, D2, D5, D6: block A
    assert found.open_now == 3  # D2, D6 and D8


# ── the page and the export ─────────────────────────────────────────────────────────────────


def page(client: Client, query: str = "") -> str:
    response = client.get(reverse("disputes:figures") + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_figures_and_their_definitions(station: World) -> None:
    html = page(station.client("chief"), f"station=TC&{RANGE}&group=block")
    assert 'id="fig-registered">7<' in html
    assert 'id="fig-success">60%<' in html
    assert 'id="fig-carried-out">50%<' in html
    assert 'id="fig-median">3<' in html
    assert 'id="fig-overdue">1<' in html
    assert 'id="def-success"' in html and 'id="def-carried-out"' in html
    assert "达成协议" in html  # the definitions, in Chinese by default
    assert "2026-04" in html and "TC-D1-S1-B2" in html


def test_the_page_in_english(station: World) -> None:
    client = station.client("chief")
    client.cookies["jingwang_language"] = "en"
    html = page(client, f"station=TC&{RANGE}")
    assert "Agreement reached" in html and "Agreement carried out" in html


def test_the_page_by_default_shows_the_last_12_months(station: World) -> None:
    html = page(station.client("chief"))
    assert html.count('<th scope="row">20') == 12  # twelve month rows


def test_another_stations_chief_sees_their_own_figures_only(station: World) -> None:
    html = page(station.client("other_chief"), RANGE)
    assert "其他派出所" in html
    assert 'id="fig-registered">1<' in html  # D9
    assert "TC-D1" not in html


def test_a_grid_worker_sees_only_their_grids_on_the_page(station: World) -> None:
    html = page(station.client("grid_worker"), f"{RANGE}&group=block")
    assert 'id="fig-registered">4<' in html
    assert "TC-D1-S1-B2 TC-D1-S1-B2 name" not in html


@pytest.mark.parametrize(
    ("query", "field", "english"),
    [
        ("start=2026-13-40&end=2026-05-31", "start", "must be a date like"),
        ("start=2026-05-01&end=2026-03-01", "start", "must not be after"),
        ("start=2026-05-01", "end", "Give the last day"),
        ("tier=7", "tier", "The tier must be 1, 2 or 3."),
        ("tier=二", "tier", "The tier must be 1, 2 or 3."),
        ("category=abc", "category", "Choose a category from the list."),
        ("grid=abc", "grid", "Choose a grid of this station from the list."),
    ],
)
def test_a_bad_filter_is_named_on_the_page(
    station: World, query: str, field: str, english: str
) -> None:
    client = station.client("chief")
    client.cookies["jingwang_language"] = "en"
    html = page(client, f"station=TC&{query}")
    assert f'id="error-{field}"' in html
    assert english in html
    assert 'id="fig-registered"' not in html


def test_a_grid_of_another_station_is_refused_with_a_message(station: World) -> None:
    html = page(station.client("chief"), f"station=TC&grid={station.other_block.id}")
    assert 'id="error-grid"' in html
    assert 'id="fig-registered"' not in html
    # The grid worker may not ask for block B either.
    html = page(station.client("grid_worker"), f"grid={station.block_b.id}")
    assert 'id="error-grid"' in html


def test_a_category_of_another_bureau_is_refused(station: World) -> None:
    from jingwang.territory.models import Bureau

    elsewhere = Bureau.objects.create(code="ZZ", name="别的县局")
    other = Category.objects.create(bureau=elsewhere, code="neighbours", name="邻里")
    html = page(station.client("chief"), f"station=TC&category={other.id}")
    assert 'id="error-category"' in html


def sheet_of(response: Any) -> list[list[Any]]:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(io.BytesIO(response.getvalue()))
    return [[cell.value for cell in row] for row in book.active.iter_rows()]


def test_the_export_has_the_rows_of_the_page(station: World) -> None:
    client = station.client("chief")
    client.cookies["jingwang_language"] = "en"
    url = reverse("disputes:export_figures")
    response = client.get(f"{url}?station=TC&{RANGE}&group=block&table=groups")
    assert response.status_code == 200
    rows = sheet_of(response)
    assert rows[0][:6] == ["Block", "Registered", "Mediated", "Succeeded", "Failed",
                           "Success rate (%)"]  # fmt: skip
    assert rows[1] == ["TC-D1-S1-B1 TC-D1-S1-B1 name", 4, 3, 2, 0, 100, 0, 1, 1, 2, 50, 3, 2, 1]
    assert rows[2][:6] == ["TC-D1-S1-B2 TC-D1-S1-B2 name", 2, 2, 0, 2, 0]
    assert rows[3][:2] == ["Not in a grid of this level", 1]
    assert len(rows) == 4
    event = AuditEvent.objects.get(action="export", actor_id=station.users["chief"].id)
    assert event.object_type == "disputes.figures"
    assert event.detail_data["rows"] == 3

    months = sheet_of(client.get(f"{url}?station=TC&{RANGE}&table=months"))
    assert [r[:2] for r in months[1:]] == [["2026-03", 2], ["2026-04", 3], ["2026-05", 2]]
    summary = sheet_of(client.get(f"{url}?station=TC&{RANGE}&table=summary"))
    assert summary[1][:6] == ["All", 7, 6, 3, 2, 60]


def test_an_export_with_a_bad_filter_is_a_message_not_a_file(station: World) -> None:
    response = station.client("chief").get(
        reverse("disputes:export_figures") + "?station=TC&start=2026-13-40&end=2026-05-31"
    )
    assert response.status_code == 400
    assert 'id="error-start"' in response.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.parametrize("role", ["auditor", "security_admin", "system_admin"])
def test_the_three_admins_do_not_see_the_figures(station: World, role: str) -> None:
    response = station.client(role).get(reverse("disputes:figures"))
    assert response.status_code in (403, 404)
