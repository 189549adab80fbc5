"""The demo's year of incidents: plausible in its rhythm, shares and places, deterministic, and
loaded so that the figures show something real (issue 7, "What must hold")."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache

import pytest
import shapely
from django.test import Client
from django.utils import timezone

from jingwang.accounts.models import User
from jingwang.demo.generate import Demo, generate
from jingwang.demo.load import load
from jingwang.incidents import demo as incidents_demo
from jingwang.incidents.demo import IncidentsDemo, day_of
from jingwang.incidents.models import Callback, CallbackAttempt, Incident, Rectification
from jingwang.lib import pii
from jingwang.territory.demo import TerritoryDemo


@cache
def whole() -> Demo:
    return generate()


def part(of: Demo | None = None) -> IncidentsDemo:
    return (of or whole()).part("incidents", IncidentsDemo)


def tc() -> list[incidents_demo.IncidentData]:
    return part().station("TC").incidents


def test_a_few_thousand_a_year_tongchuan_busiest() -> None:
    counts = {s.code: len(s.incidents) for s in part().stations}
    assert counts == incidents_demo.PER_YEAR
    assert 3000 <= counts["TC"] <= 5000


def test_help_seeking_and_disputes_most_criminal_few() -> None:
    shares = Counter(i.category.split(".")[0] for i in tc())
    total = sum(shares.values())
    ranked = [top for top, _n in shares.most_common()]
    assert ranked[:2] == ["help", "disputes"]
    assert shares["criminal"] / total < 0.08
    assert {"public_order", "traffic", "fraud", "fire_accident", "other"} <= set(shares)


def test_fraud_rises_through_the_year() -> None:
    def fraud_share(weeks: range) -> float:
        rows = [i for i in tc() if i.week in weeks]
        return sum(i.category.startswith("fraud.") for i in rows) / len(rows)

    # Through the calendar year, January to December.
    assert fraud_share(range(27, 53)) > fraud_share(range(1, 27)) * 1.25


def test_more_in_summer_evenings_fewest_before_dawn() -> None:
    by_hour = Counter(i.second // 3600 for i in tc())
    assert sum(by_hour[h] for h in (3, 4, 5)) * 4 < sum(by_hour[h] for h in (19, 20, 21))
    summer = sum(1 for i in tc() if 27 <= i.week <= 34)  # July and August
    winter = sum(1 for i in tc() if 1 <= i.week <= 8)  # January and February
    assert summer > winter * 1.25


def test_every_point_lies_in_its_grid() -> None:
    territory = whole().part("territory", TerritoryDemo)
    for station in part().stations:
        grids = {g.code: g.geometry for g in territory.station(station.code).grids}
        for i in station.incidents:
            assert shapely.contains_xy(grids[i.grid], i.lon, i.lat), (station.code, i.grid)


def test_callers_phones_and_callbacks() -> None:
    rows = tc()
    with_phone = [i for i in rows if i.caller_phone]
    assert 0.80 <= len(with_phone) / len(rows) <= 0.90
    assert all(pii.phone_error(i.caller_phone) is None for i in with_phone)
    assert len({i.caller_phone for i in with_phone}) == len(with_phone)
    callbacks = [i.callback for i in rows if i.callback]
    assert len(callbacks) == len(with_phone)
    outcomes = Counter(c.outcome for c in callbacks)
    assert 0.85 <= outcomes["done"] / len(callbacks) <= 0.95
    assert outcomes["unreachable"] > 0
    assert all(len(c.failed) == 3 for c in callbacks if c.outcome == "unreachable")
    # Contact could endanger the caller: an officer calls, never an SMS.
    officer_only = [c for c in callbacks if c.officer_only]
    assert officer_only and all(c.channel == "phone" for c in officer_only)
    assert any(c.channel == "sms" for c in callbacks)
    done = [c for c in callbacks if c.outcome == "done"]
    unhappy = [c for c in done if c.rectification]
    assert all("dissatisfied" in (c.speed, c.attitude, c.handling) for c in unhappy)
    assert 0.01 <= len(unhappy) / len(done) <= 0.08


def test_same_seed_same_incidents_and_one_station_alone_is_the_same() -> None:
    again = generate()
    assert list(part(again).fingerprint()) == list(part().fingerprint())
    alone = generate(stations=["LX"])
    assert list(part(alone).fingerprint()) == list(
        IncidentsDemo([part().station("LX")]).fingerprint()
    )


def test_the_year_ends_yesterday_on_the_same_weekday_and_week() -> None:
    today = date(2027, 3, 10)  # a Wednesday, ISO week 10
    assert day_of(10, 1, today) == date(2027, 3, 9)  # Tuesday of this week
    assert day_of(10, 2, today) == date(2026, 3, 4)  # today itself: a year back
    assert day_of(52, 0, today) == date(2026, 12, 21)
    days = {day_of(w, d, today) for w in range(1, 53) for d in range(7)}
    assert len(days) == 364 and max(days) == today - timedelta(days=1)


@pytest.mark.django_db
def test_loaded_demo_has_a_year_whose_figures_show_something() -> None:
    loaded = load(stations=["TC"])
    generated = part(generate(stations=["TC"])).station("TC")
    now = timezone.now()
    assert Incident.objects.count() == len(generated.incidents) == loaded.counts["incidents"]
    first, last = (
        Incident.objects.earliest("received_at").received_at,
        Incident.objects.latest("received_at").received_at,
    )
    assert timedelta(days=355) < last - first < timedelta(days=366)
    assert last < now and now - last < timedelta(days=2)
    # Callbacks: most done, some unreachable, the ones not yet due still due.
    statuses = Counter(Callback.objects.values_list("status", flat=True))
    assert statuses["done"] > 0.8 * sum(statuses.values())
    assert statuses["unreachable"] > 0
    today = timezone.localdate()
    assert not Callback.objects.filter(status="due", due_on__lt=today - timedelta(days=3)).exists()
    assert CallbackAttempt.objects.filter(outcome="no_answer").exists()
    # Rectifications: most closed, some open, some past their deadline.
    rect = Counter(Rectification.objects.values_list("status", flat=True))
    assert rect["closed"] > rect["open"] > 0
    assert Rectification.objects.filter(status="open", due_on__lt=today).exists()
    assert all(r.callback.dissatisfied for r in Rectification.objects.select_related("callback"))
    # Stored as generated: the phone opens, the grid is the one the point was drawn in.
    incident = Incident.objects.select_related("grid").exclude(caller_phone_encrypted="").first()
    assert incident is not None
    assert incident.caller_phone.plaintext in {i.caller_phone for i in generated.incidents}
    assert incident.grid is not None and incident.grid.geometry.contains(
        shapely.Point(incident.lon, incident.lat)
    )
    # The chief's figures page for the last 30 days shows incidents and callbacks.
    client = Client()
    client.force_login(User.objects.get(username="suozhang"))
    page = client.get("/incidents/figures/?station=TC").content.decode()
    shown = int(page.split('<dd id="fig-incidents">')[1].split("<")[0])
    month_ago = datetime.combine(today - timedelta(days=29), datetime.min.time())
    expected = Incident.objects.filter(received_at__gte=timezone.make_aware(month_ago)).count()
    assert shown == expected > 100
