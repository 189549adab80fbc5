"""The pure rules of the callback loop (incidents/rules.py): no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from jingwang.incidents import rules
from jingwang.lib.workdays import Calendar, from_chinese_calendar

CALENDAR = from_chinese_calendar()
# A small calendar of its own: 2026's National Day week (Oct 1–7 off, Sat Oct 10 worked).
OCTOBER = Calendar(
    {date(2026, 10, d): "国庆节" for d in range(1, 8)}, {date(2026, 10, 10): "国庆节"}, [2026]
)


def add(calendar: Calendar):  # the shape of jingwang.core.workdays.add_working_days
    return lambda day, n: calendar.add_working_days(day, n)


def test_a_callback_is_due_the_next_working_day_after_the_close():
    friday, monday = date(2026, 3, 6), date(2026, 3, 9)
    assert rules.callback_due(friday, days=1, add_working_days=add(OCTOBER)) == monday
    assert rules.callback_due(date(2026, 3, 3), days=1, add_working_days=add(OCTOBER)) == date(
        2026, 3, 4
    )


def test_around_a_holiday_and_a_make_up_working_day():
    # Closed on the eve of National Day: called back on the first working day after it.
    assert rules.callback_due(date(2026, 9, 30), days=1, add_working_days=add(OCTOBER)) == date(
        2026, 10, 8
    )
    # Closed on Friday Oct 9: Saturday Oct 10 is a make-up working day.
    assert rules.callback_due(date(2026, 10, 9), days=1, add_working_days=add(OCTOBER)) == date(
        2026, 10, 10
    )


def test_never_due_the_day_it_closed():
    day = date(2026, 3, 4)
    assert rules.callback_due(day, days=0, add_working_days=add(OCTOBER)) == date(2026, 3, 5)


@given(st.dates(min_value=date(2010, 1, 1), max_value=date(2026, 12, 1)))
def test_due_is_the_first_working_day_after_closing(closed_on):
    due = rules.callback_due(closed_on, days=1, add_working_days=add(CALENDAR))
    assert due > closed_on
    assert CALENDAR.is_working_day(due)
    day = closed_on + timedelta(days=1)
    while day < due:  # nothing in between was a working day
        assert not CALENDAR.is_working_day(day)
        day += timedelta(days=1)


def between(calendar: Calendar):
    return lambda a, b: calendar.working_days_between(a, b)


MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def closes(days, attempts=3, span=2, calendar=OCTOBER):
    return rules.closes_unreachable(
        days, attempts=attempts, span_days=span, working_days_between=between(calendar)
    )


def test_three_failed_attempts_over_two_working_days_close_the_callback():
    assert closes([MON, MON, TUE])
    assert closes([TUE, MON, MON])  # any order


def test_three_attempts_on_one_day_do_not():
    assert not closes([MON, MON, MON])


def test_two_attempts_over_two_days_do_not():
    assert not closes([MON, TUE])
    assert not closes([])


def test_a_weekend_between_does_not_count_as_a_working_day():
    friday, saturday, sunday = date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8)
    assert not closes([saturday, saturday, sunday])
    assert closes([friday, friday, date(2026, 3, 9)])
    # Around the holiday: Sep 30 and Oct 8 are consecutive working days.
    assert closes([date(2026, 9, 30), date(2026, 9, 30), date(2026, 10, 8)])


def test_the_bureau_may_ask_for_more():
    assert not closes([MON, TUE, WED], attempts=4, span=2)
    assert not closes([MON, MON, TUE, TUE], attempts=4, span=3)
    assert closes([MON, MON, TUE, WED], attempts=4, span=3)
    assert closes([MON], attempts=1, span=1)


@given(
    st.lists(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), max_size=6),
    st.integers(1, 5),
    st.integers(1, 4),
)
def test_unreachable_matches_its_definition(days, attempts, span):
    # Counted day by day: the first attempt's day, and each working day up to the last one.
    spanned = 0
    if days:
        first, last = min(days), max(days)
        spanned = 1 + sum(
            CALENDAR.is_working_day(first + timedelta(days=k))
            for k in range(1, (last - first).days + 1)
        )
    expected = bool(days) and len(days) >= attempts and spanned >= span
    assert closes(days, attempts, span, CALENDAR) == expected
    # One more failed attempt never reopens a closed callback.
    if expected:
        assert closes([*days, max(days)], attempts, span, CALENDAR)


def test_a_rectification_deadline_counts_working_days():
    # Opened Wednesday Sep 30, 5 working days: Oct 8, 9, 10 (make-up), 12, 13.
    assert rules.rectification_due(
        date(2026, 9, 30), days=5, add_working_days=add(OCTOBER)
    ) == date(2026, 10, 13)


def test_officer_only_by_flag_parent_or_station_list():
    def only(flagged=False, parent_flagged=False, extra=()):
        return rules.officer_only(
            category_id=12,
            flagged=flagged,
            parent_id=3,
            parent_flagged=parent_flagged,
            station_extra=set(extra),
        )

    assert not only()
    assert only(flagged=True)
    assert only(parent_flagged=True)
    assert only(extra=[12])
    assert only(extra=[3])  # the station marked the whole top-level category
    assert not only(extra=[4])
    assert not rules.officer_only(
        category_id=3, flagged=False, parent_id=None, parent_flagged=False, station_extra={12}
    )


def test_only_officers_work_officer_only_callbacks():
    assert rules.may_work("auxiliary", False)
    assert not rules.may_work("auxiliary", True)
    for role in ("officer", "station_chief", "bureau_admin"):
        assert rules.may_work(role, True)


def test_any_dissatisfied_answer_opens_a_rectification():
    assert rules.dissatisfied("satisfied", "dissatisfied", "basically")
    assert not rules.dissatisfied("satisfied", "basically", "basically")


def test_a_survey_link_works_once_until_it_expires():
    made = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    expires = rules.survey_expires_at(made, 72)
    assert expires == made + timedelta(hours=72)
    assert rules.survey_state(expires, None, made + timedelta(hours=71, minutes=59)) == "open"
    assert rules.survey_state(expires, None, expires) == "expired"
    assert rules.survey_state(expires, made + timedelta(hours=1), made) == "used"


def test_only_a_hash_of_the_token_is_kept():
    digest = rules.token_hash("abcDEF123_-xyz")
    assert len(digest) == 64 and "abc" not in digest
    assert digest == rules.token_hash("abcDEF123_-xyz") != rules.token_hash("abcDEF123_-xyZ")
