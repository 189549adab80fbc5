"""Working days on the Chinese calendar: around holidays, on make-up days, in a year nobody
knows, and properties against the package's own answer and a day-by-day count."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.workdays import (
    Calendar,
    UnknownYear,
    from_chinese_calendar,
    holiday_ranges,
)

CALENDAR = from_chinese_calendar()
examples = settings(max_examples=300, deadline=None)

# Days of the years the package knows (2004–2026), and of a few around them.
known_days = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31))
any_days = st.dates(min_value=date(2001, 1, 1), max_value=date(2029, 12, 31))
counts = st.integers(min_value=0, max_value=60)


def brute_between(calendar: Calendar, a: date, b: date) -> int:
    """Working days in (a, b], one day at a time: the specification."""
    count, day = 0, a + timedelta(days=1)
    while day <= b:
        count += calendar.is_working_day(day)
        day += timedelta(days=1)
    return count


# ---------------------------------------------------------------------------------------------
# Around holidays


def test_national_day_2026() -> None:
    # Given the National Day holiday of 2026 (1–7 October, Saturday 10 October worked)
    # Then the day before it is a working day, the holiday is not, and it ends on the 8th.
    assert CALENDAR.is_working_day(date(2026, 9, 30))
    for day in range(1, 8):
        assert not CALENDAR.is_working_day(date(2026, 10, day)), day
    assert CALENDAR.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert CALENDAR.next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    # A callback due the next working day after an incident closed on 30 September: the 8th.
    assert CALENDAR.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # Thursday 8, Friday 9, Saturday 10 (make-up), Monday 12.
    assert CALENDAR.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert CALENDAR.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert CALENDAR.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


def test_spring_festival_2026() -> None:
    # 15–23 February 2026 off; Saturday 14 and Saturday 28 February worked.
    assert CALENDAR.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)
    assert CALENDAR.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert CALENDAR.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    # 2–6, 9–13, Saturday 14, 24–27, Saturday 28
    assert CALENDAR.working_days_between(date(2026, 2, 1), date(2026, 2, 28)) == 5 + 5 + 1 + 4 + 1


def test_a_make_up_day_on_a_weekend_is_a_working_day() -> None:
    saturday = date(2026, 10, 10)
    assert saturday.weekday() == 5
    assert CALENDAR.is_working_day(saturday)
    assert CALENDAR.makeup[saturday] == "国庆节"
    # while the Saturday before is not
    assert not CALENDAR.is_working_day(date(2026, 10, 3))
    # Friday 9 October → the next working day is that Saturday
    assert CALENDAR.next_working_day(date(2026, 10, 9)) == saturday
    # and a Sunday make-up day (20 September 2026, for National Day)
    assert CALENDAR.is_working_day(date(2026, 9, 20))


def test_an_ordinary_weekend_is_skipped() -> None:
    assert CALENDAR.next_working_day(date(2026, 11, 27)) == date(2026, 11, 30)  # Fri → Mon
    assert CALENDAR.working_days_between(date(2026, 11, 27), date(2026, 11, 29)) == 0


# ---------------------------------------------------------------------------------------------
# A year the package does not know


def test_a_year_the_package_does_not_know_raises() -> None:
    assert not CALENDAR.knows(2027)
    assert CALENDAR.knows(2026) and CALENDAR.knows(2004) and not CALENDAR.knows(2003)
    with pytest.raises(UnknownYear) as raised:
        CALENDAR.is_working_day(date(2027, 1, 4))
    assert raised.value.year == 2027
    assert "2027" in str(raised.value)
    with pytest.raises(UnknownYear):
        CALENDAR.next_working_day(date(2026, 12, 31))
    with pytest.raises(UnknownYear):
        CALENDAR.add_working_days(date(2026, 12, 29), 5)
    with pytest.raises(UnknownYear):
        CALENDAR.working_days_between(date(2026, 12, 1), date(2027, 1, 5))
    with pytest.raises(UnknownYear):
        CALENDAR.working_days_between(date(2003, 12, 1), date(2004, 1, 5))


def test_only_the_days_looked_at_matter() -> None:
    # Wednesday 30 December 2026: the 31st is a working day, 2027 is never consulted.
    assert CALENDAR.next_working_day(date(2026, 12, 30)) == date(2026, 12, 31)
    assert CALENDAR.working_days_between(date(2026, 12, 1), date(2026, 12, 31)) == 22
    # The start day is outside (a, b]: a day of 2003 as the start is fine.
    assert CALENDAR.working_days_between(date(2003, 12, 31), date(2004, 1, 2)) == 1


def test_the_estimate_counts_weekends_only_and_says_which_years_it_guessed() -> None:
    estimate = CALENDAR.estimating()
    assert estimate.next_working_day(date(2026, 12, 30)) == date(2026, 12, 31)
    assert estimate.guessed == frozenset()  # exact so far
    # Thursday 31 December 2026 + 3: Fri 1 Jan 2027 (New Year's Day, but unknown), Mon 4, Tue 5
    assert estimate.add_working_days(date(2026, 12, 31), 3) == date(2027, 1, 5)
    assert estimate.guessed == {2027}
    assert estimate.is_working_day(date(2028, 1, 1)) is False  # a Saturday
    assert estimate.guessed == {2027, 2028}
    fresh = CALENDAR.estimating()
    assert fresh.working_days_between(date(2026, 12, 31), date(2027, 1, 8)) == 6
    assert fresh.guessed == {2027}


def test_an_admin_entered_year_replaces_the_estimate() -> None:
    # Given 2027's New Year's Day (1–3 January) and Spring Festival typed in by the admin
    holidays = {date(2027, 1, d): "元旦" for d in (1, 2, 3)}
    holidays |= {date(2027, 2, d): "春节" for d in range(5, 14)}
    makeup = {date(2027, 2, 20): "春节"}
    calendar = CALENDAR.replacing_years({2027: (holidays, makeup)})
    assert calendar.knows(2027)
    assert calendar.next_working_day(date(2026, 12, 31)) == date(2027, 1, 4)
    assert calendar.is_working_day(date(2027, 2, 20))
    assert calendar.next_working_day(date(2027, 2, 4)) == date(2027, 2, 15)
    # the package's years are untouched
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    estimate = calendar.estimating()
    estimate.add_working_days(date(2026, 12, 20), 10)
    assert estimate.guessed == frozenset()


def test_replacing_a_known_year_drops_its_old_days() -> None:
    # The admin corrects 2026: National Day is only 1–3 October, no make-up day.
    holidays = {date(2026, 10, d): "国庆节" for d in (1, 2, 3)}
    calendar = CALENDAR.replacing_years({2026: (holidays, {})})
    assert calendar.is_working_day(date(2026, 10, 5))
    assert not calendar.is_working_day(date(2026, 10, 10))  # no longer a make-up day
    # The year is what was entered, whole: the Spring Festival left out is no longer a holiday.
    assert calendar.is_working_day(date(2026, 2, 16))
    assert calendar.holidays.get(date(2026, 2, 16)) is None


def test_inconsistent_data_is_refused() -> None:
    day = date(2027, 10, 1)
    with pytest.raises(ValueError, match="both"):
        Calendar({day: "国庆节"}, {day: "国庆节"}, [2027])
    with pytest.raises(ValueError, match="not declared known"):
        Calendar({day: "国庆节"}, {}, [2026])
    with pytest.raises(ValueError, match="n must be >= 0"):
        CALENDAR.add_working_days(date(2026, 1, 5), -1)


def test_holiday_ranges() -> None:
    year = {d: n for d, n in CALENDAR.holidays.items() if d.year == 2026}
    ranges = holiday_ranges(year)
    assert ranges[0] == (date(2026, 1, 1), date(2026, 1, 3), "元旦")
    assert (date(2026, 10, 1), date(2026, 10, 7), "国庆节") in ranges
    assert sum((last - first).days + 1 for first, last, _ in ranges) == len(year)


# ---------------------------------------------------------------------------------------------
# Properties


@examples
@given(known_days)
def test_is_working_day_agrees_with_the_package(day: date) -> None:
    assert CALENDAR.is_working_day(day) == chinese_calendar.is_workday(day)


@examples
@given(known_days)
def test_the_next_working_day_is_working_and_nothing_between_is(day: date) -> None:
    if day.year == 2026 and day.month == 12 and day.day == 31:
        return
    following = CALENDAR.next_working_day(day)
    assert following > day
    assert CALENDAR.is_working_day(following)
    assert brute_between(CALENDAR, day, following) == 1


@examples
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 6, 30)), counts)
def test_add_then_between_agree(day: date, n: int) -> None:
    later = CALENDAR.add_working_days(day, n)
    assert CALENDAR.working_days_between(day, later) == n
    if n:
        assert CALENDAR.is_working_day(later)
    assert CALENDAR.add_working_days(day, n + 1) == CALENDAR.next_working_day(later)


@examples
@given(known_days, known_days)
def test_between_is_the_day_by_day_count(a: date, b: date) -> None:
    if (b - a).days > 400:
        b = a + timedelta(days=400) if a + timedelta(days=400) <= date(2026, 12, 31) else b
    assert CALENDAR.working_days_between(a, b) == brute_between(CALENDAR, a, b)


@examples
@given(known_days, known_days, known_days)
def test_between_is_monotone_and_additive(a: date, b: date, c: date) -> None:
    a, b, c = sorted([a, b, c])
    ab = CALENDAR.working_days_between(a, b)
    bc = CALENDAR.working_days_between(b, c)
    assert 0 <= ab <= CALENDAR.working_days_between(a, c) == ab + bc
    assert CALENDAR.working_days_between(c, a) == 0


@examples
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 6, 30)), counts, counts)
def test_add_is_monotone_and_composes(day: date, m: int, n: int) -> None:
    assert CALENDAR.add_working_days(day, min(m, n)) <= CALENDAR.add_working_days(day, max(m, n))
    assert CALENDAR.add_working_days(CALENDAR.add_working_days(day, m), n) == (
        CALENDAR.add_working_days(day, m + n)
    )


@examples
@given(any_days, counts)
def test_the_estimate_is_exact_where_known_and_weekends_only_elsewhere(day: date, n: int) -> None:
    estimate = CALENDAR.estimating()
    later = estimate.add_working_days(day, n)
    assert estimate.working_days_between(day, later) == n
    # the days looked at are (day, later]: their unknown years, and no others, are guessed
    looked_at = range((day + timedelta(days=1)).year, later.year + 1) if n else range(0)
    unknown = {year for year in looked_at if not CALENDAR.knows(year)}
    assert estimate.guessed == unknown
    if not unknown:
        assert later == CALENDAR.add_working_days(day, n)
    # in an unknown year, exactly Monday to Friday work
    if day.year not in CALENDAR.known_years:
        assert estimate.is_working_day(day) == (day.weekday() < 5)
