"""Working days for the platform (jingwang.core.workdays): deadlines over the package's years,
estimates with a warning in a year nobody entered, and the system admin entering that year on
the calendar page, after which the deadlines count its holidays."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.utils import translation

from jingwang.audit.models import AuditEvent
from jingwang.core import workdays
from jingwang.core.models import CalendarDay, CalendarYear
from jingwang.core.workdays import Deadline
from tests.cast import ROLES, World

# 2027 as the State Council might publish it (a test's data, not the real calendar).
YEAR_2027 = {
    "name_1": "元旦",
    "first_1": "2027-01-01",
    "last_1": "2027-01-03",
    "name_2": "春节",
    "first_2": "2027-02-05",
    "last_2": "2027-02-13",
    "makeup_2": "2027-02-20 2027-02-21",
    "name_3": "国庆节",
    "first_3": "2027-10-01",
    "last_3": "2027-10-07",
    "makeup_3": "2027-09-26, 2027-10-09",
}


def admin(world: World) -> Client:
    client = world.client("system_admin")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def enter(client: Client, year: int, data: dict[str, str], version: Any = "0") -> Any:
    body = {"rows": "10", **data}
    if version is not None:
        body["version"] = str(version)
    return client.post(f"/settings/calendar/{year}/", body)


def field_value(page: str, name: str) -> str:
    tail = page.split(f'name="{name}"', 1)[1].split(">", 1)[0]
    return tail.split('value="', 1)[1].split('"', 1)[0] if 'value="' in tail else ""


# ---------------------------------------------------------------------------------------------
# The interface other apps call


def test_deadlines_over_a_holiday_the_package_knows(db: Any) -> None:
    # National Day 2026: 1–7 October off, Saturday 10 October worked.
    assert workdays.next_working_day(date(2026, 9, 30)) == Deadline(date(2026, 10, 8), False)
    assert workdays.add_working_days(date(2026, 9, 30), 3) == Deadline(date(2026, 10, 10), False)
    assert workdays.add_working_days(date(2026, 9, 30), 0) == Deadline(date(2026, 9, 30), False)
    assert workdays.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert workdays.is_working_day(date(2026, 10, 10)) is True  # a make-up Saturday
    assert workdays.is_working_day(date(2026, 10, 5)) is False
    assert workdays.warning_for(date(2026, 10, 8)) is None


def test_a_datetime_counts_from_its_local_date(db: Any) -> None:
    # 23:30 on 30 September in Shanghai is 15:30 UTC the same day; 01:00 on 1 October in
    # Shanghai is still 30 September in UTC: the local date decides.
    shanghai = ZoneInfo("Asia/Shanghai")
    late = datetime(2026, 9, 30, 23, 30, tzinfo=shanghai)
    after_midnight = datetime(2026, 10, 9, 1, 0, tzinfo=shanghai)  # Friday 9, UTC Thursday 8
    assert workdays.next_working_day(late).on == date(2026, 10, 8)
    assert workdays.next_working_day(after_midnight).on == date(2026, 10, 10)


def test_a_deadline_in_a_year_nobody_entered_is_an_estimate_with_a_warning(db: Any) -> None:
    # Thursday 31 December 2026: 2027 is not in the package (1.11.0) and nobody entered it.
    due = workdays.next_working_day(date(2026, 12, 31))
    assert due == Deadline(date(2027, 1, 1), True)  # a Friday: weekends only
    assert workdays.add_working_days(date(2026, 12, 30), 3) == Deadline(date(2027, 1, 4), True)
    # Thursday 31, Friday 1 (New Year's Day, unknown), Monday 4 to Friday 8
    assert workdays.working_days_between(date(2026, 12, 30), date(2027, 1, 8)) == 7
    assert workdays.is_working_day(date(2027, 1, 1)) is True
    with translation.override("en"):
        assert workdays.warning_for(due.on) == (
            "2027's holidays are not in the calendar yet: the system admin enters them on the "
            "calendar page; this date counts weekends only."
        )
    with translation.override("zh-hans"):
        warning = workdays.warning_for(due.on)
        assert warning is not None and "2027" in warning and "系统管理员" in warning
    # The count stays exact until it reaches the unknown year.
    assert workdays.next_working_day(date(2026, 12, 30)) == Deadline(date(2026, 12, 31), False)


def test_the_admin_enters_2027_and_the_deadlines_change(world: World) -> None:
    closed = date(2026, 12, 31)
    assert workdays.next_working_day(closed) == Deadline(date(2027, 1, 1), True)
    client = admin(world)

    # The list says 2027 is missing and links to its page.
    listing = client.get("/settings/calendar/").content.decode()
    assert "2027's holidays are not in the calendar yet" in listing
    assert "/settings/calendar/2027/" in listing
    page = client.get("/settings/calendar/2027/").content.decode()
    assert "2027 is not in the calendar yet" in page
    assert field_value(page, "name_1") == ""

    response = enter(client, 2027, YEAR_2027)
    assert response.status_code == 302 and response["Location"] == "/settings/calendar/"

    # The callback of an incident closed on 31 December is due after New Year's Day.
    assert workdays.next_working_day(closed) == Deadline(date(2027, 1, 4), False)
    assert workdays.warning_for(date(2027, 1, 4)) is None
    assert workdays.is_working_day(date(2027, 2, 20)) is True  # make-up Saturday
    assert workdays.next_working_day(date(2027, 2, 4)).on == date(2027, 2, 15)
    # Thursday 30 September: Friday 8 October, then the make-up Saturday 9
    assert workdays.add_working_days(date(2027, 9, 30), 2) == Deadline(date(2027, 10, 9), False)
    # A year after it is still an estimate.
    assert workdays.next_working_day(date(2027, 12, 31)).uncertain

    saved = CalendarYear.objects.get(year=2027)
    assert (saved.version, saved.changed_by) == (1, world.users["system_admin"])
    assert CalendarDay.objects.filter(year=saved, kind="holiday").count() == 3 + 9 + 7
    assert list(
        CalendarDay.objects.filter(kind="makeup").values_list("day", "name").order_by("day")
    ) == [
        (date(2027, 2, 20), "春节"),
        (date(2027, 2, 21), "春节"),
        (date(2027, 9, 26), "国庆节"),
        (date(2027, 10, 9), "国庆节"),
    ]
    event = AuditEvent.objects.get(action="update_calendar_year")
    assert (event.actor_name, event.outcome) == ("system_admin", "ok")
    detail = json.loads(event.detail)
    assert (detail["year"], detail["version"], detail["removed"]) == (2027, 1, [])
    assert "2027-10-09 makeup 国庆节" in detail["added"] and len(detail["added"]) == 23

    # The list and the year's page show who entered it; the page shows what was entered.
    listing = client.get("/settings/calendar/").content.decode()
    assert "2027's holidays are not in the calendar yet" not in listing
    assert "Entered" in listing and "system_admin" in listing
    page = client.get("/settings/calendar/2027/").content.decode()
    assert field_value(page, "name_2") == "春节"
    assert field_value(page, "last_2") == "2027-02-13"
    assert field_value(page, "makeup_3") == "2027-09-26 2027-10-09"
    assert field_value(page, "version") == "1"


def test_a_correction_of_an_entered_year_is_audited_and_counted(world: World) -> None:
    client = admin(world)
    enter(client, 2027, YEAR_2027)
    # The State Council moves the Spring Festival make-up day: only Saturday 20 February.
    response = enter(client, 2027, {**YEAR_2027, "makeup_2": "2027-02-20"}, version=1)
    assert response.status_code == 302
    assert workdays.is_working_day(date(2027, 2, 21)) is False
    assert CalendarYear.objects.get(year=2027).version == 2
    event = AuditEvent.objects.filter(action="update_calendar_year").order_by("-id").first()
    assert event is not None
    detail = json.loads(event.detail)
    assert (detail["added"], detail["removed"]) == ([], ["2027-02-21 makeup 春节"])

    # Saving it again unchanged writes nothing.
    response = enter(client, 2027, {**YEAR_2027, "makeup_2": "2027-02-20"}, version=2)
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).version == 2
    assert AuditEvent.objects.filter(action="update_calendar_year").count() == 2


def test_a_stale_edit_is_refused_and_writes_nothing(world: World) -> None:
    first, second = admin(world), admin(world)
    assert enter(first, 2027, YEAR_2027).status_code == 302
    # The second admin opened the page before the first saved (version 0).
    response = enter(second, 2027, {**YEAR_2027, "last_3": "2027-10-08"}, version=0)
    assert response.status_code == 200
    assert "Someone else changed this year" in response.content.decode()
    assert workdays.is_working_day(date(2027, 10, 8)) is True
    assert CalendarYear.objects.get(year=2027).version == 1
    # Without a version the form is refused outright (the check cannot be skipped).
    assert enter(second, 2027, YEAR_2027, version=None).status_code == 400


def test_a_package_year_is_shown_and_copied_into_the_table_only_when_changed(
    world: World,
) -> None:
    client = admin(world)
    page = client.get("/settings/calendar/2026/").content.decode()
    assert "As the holidays came with the platform" in page
    assert field_value(page, "name_1") == "元旦"
    rows = workdays.rows_of(2026)
    national = next(row for row in rows if row.name == "国庆节")
    assert (national.first, national.last) == (date(2026, 10, 1), date(2026, 10, 7))
    assert national.makeup == [date(2026, 9, 20), date(2026, 10, 10)]
    data = {
        name: field_value(page, name)
        for n in range(1, len(rows) + 4)
        for name in (f"name_{n}", f"first_{n}", f"last_{n}", f"makeup_{n}")
    }
    body = {**data, "rows": field_value(page, "rows"), "version": "0"}
    # Saved as shown: nothing changed, nothing written.
    assert client.post("/settings/calendar/2026/", body).status_code == 302
    assert not CalendarYear.objects.exists()
    # Changed: the year is copied into the table and replaces the package's.
    n = national.number
    body[f"makeup_{n}"] = ""
    assert client.post("/settings/calendar/2026/", body).status_code == 302
    assert CalendarYear.objects.get(year=2026).days.count() > 30
    assert workdays.is_working_day(date(2026, 10, 10)) is False
    assert workdays.is_working_day(date(2026, 9, 20)) is False
    assert workdays.is_working_day(date(2026, 2, 14)) is True  # the rest of the year is kept
    detail = json.loads(AuditEvent.objects.get(action="update_calendar_year").detail)
    assert detail["from_package"] is True
    assert (detail["added"], detail["removed"]) == (
        [],
        ["2026-09-20 makeup 国庆节", "2026-10-10 makeup 国庆节"],
    )


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"last_1": "2028-01-02"}, "Holiday 1 · last day", "2028-01-02 is not in 2027"),
        ({"first_3": "2026-10-01"}, "Holiday 3 · first day", "2026-10-01 is not in 2027"),
        (
            {"makeup_3": "2027-10-03"},
            "Holiday 3 · make-up working days",
            "2027-10-03 is a day of “国庆节”: a day cannot be a holiday and a make-up working day",
        ),
        (
            {"makeup_2": "2027-02-22"},
            "Holiday 2 · make-up working days",
            "2027-02-22 is a weekday, a working day anyway",
        ),
        (
            {"makeup_2": "2027-02-20 2027-2-30"},
            "Holiday 2 · make-up working days",
            "“2027-2-30” is not a date: write it as 2027-02-20",
        ),
        ({"last_2": "2027-02-01"}, "Holiday 2 · last day", "The last day is before the first day"),
        (
            {"name_4": "补假", "first_4": "2027-02-12", "last_4": "2027-02-14"},
            "Holiday 4 · first day",
            "2027-02-12 is already a day of “春节”",
        ),
        ({"name_2": ""}, "Holiday 2 · name", "Name this holiday"),
        ({"last_3": ""}, "Holiday 3 · last day", "Enter the holiday&#x27;s last day"),
        ({"first_1": "2027-13-01"}, "Holiday 1 · first day", "Enter a valid date"),
        (
            {"makeup_3": "2027-09-26 2027-09-26"},
            "Holiday 3 · make-up working days",
            "2027-09-26 is entered twice",
        ),
        ({"last_3": "2027-12-31"}, "Holiday 3 · last day", "A holiday of more than 31 days"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    world: World, changes: dict[str, str], field: str, message: str
) -> None:
    response = enter(admin(world), 2027, {**YEAR_2027, **changes})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{field}: {message}" in page, page.split('id="problems"')[-1][:600]
    assert not CalendarYear.objects.exists() and not CalendarDay.objects.exists()
    assert not AuditEvent.objects.filter(action="update_calendar_year").exists()


def test_every_problem_is_reported_at_once(world: World) -> None:
    response = enter(
        admin(world),
        2027,
        {**YEAR_2027, "first_1": "2027-01-32", "makeup_3": "2027-10-05 2027-13-01"},
    )
    page = response.content.decode()
    assert "Holiday 1 · first day: Enter a valid date." in page
    assert "Enter the holiday&#x27;s first day" not in page  # not twice for one field
    assert "Holiday 3 · make-up working days: “2027-13-01” is not a date" in page
    assert "Holiday 3 · make-up working days: 2027-10-05 is a day of “国庆节”" in page
    assert not CalendarYear.objects.exists()


def test_an_empty_year_is_refused(world: World) -> None:
    response = enter(admin(world), 2027, {})
    assert "Enter at least one holiday of the year." in response.content.decode()
    assert not CalendarYear.objects.exists()


def test_years_outside_the_range_do_not_exist(world: World) -> None:
    client = admin(world)
    assert client.get("/settings/calendar/1999/").status_code == 404
    assert client.get("/settings/calendar/2101/").status_code == 404
    assert client.get("/settings/calendar/?year=2030")["Location"] == "/settings/calendar/2030/"
    assert client.get("/settings/calendar/?year=²").status_code == 400


@pytest.mark.parametrize("role", sorted(set(ROLES) - {"system_admin"}))
def test_only_the_system_admin_enters_a_year(world: World, role: str) -> None:
    response = enter(world.client(role), 2027, YEAR_2027)
    assert response.status_code == 404
    assert not CalendarYear.objects.exists()
    assert AuditEvent.objects.filter(outcome="denied", actor_id=world.users[role].id).exists()
    assert workdays.next_working_day(date(2026, 12, 31)).uncertain


def test_the_settings_page_links_to_the_calendar(world: World) -> None:
    assert "/settings/calendar/" in admin(world).get("/settings/").content.decode()


# ---------------------------------------------------------------------------------------------
# The cache of each process follows the table


def test_a_change_made_by_another_process_is_seen_at_the_next_call(world: World) -> None:
    # This process has built its calendar: 2027 unknown.
    assert workdays.next_working_day(date(2026, 12, 31)).uncertain
    # Another process enters 2027 (written here behind the cache's back, as it would be).
    year = CalendarYear.objects.create(year=2027)
    CalendarDay.objects.create(year=year, day=date(2027, 1, 1), kind="holiday", name="元旦")
    assert workdays.next_working_day(date(2026, 12, 31)) == Deadline(date(2027, 1, 4), False)
    # ... then corrects it: the version moves, the calendar follows.
    CalendarDay.objects.create(year=year, day=date(2027, 1, 4), kind="holiday", name="元旦")
    CalendarYear.objects.filter(pk=year.pk).update(version=F("version") + 1)
    assert workdays.next_working_day(date(2026, 12, 31)) == Deadline(date(2027, 1, 5), False)


def test_the_calendar_costs_one_query_when_nothing_changed(
    world: World, django_assert_num_queries: Any
) -> None:
    workdays.current_calendar()
    with django_assert_num_queries(1):
        workdays.add_working_days(date(2026, 3, 2), 20)
