"""Working days for the whole platform: deadlines on the Chinese calendar that never crash and
never guess silently.

The calendar is the ``chinese-calendar`` package's years (2004–2026 in 1.11.0) with the system
admin's table over them (``CalendarYear`` and its ``CalendarDay`` rows, edited on the calendar
page, /settings/calendar/): a year in the table replaces the package's data of that year, and a
year in neither is unknown. Each process keeps the merged ``lib.workdays.Calendar`` as a
rebuildable cache, checked on every call against a stamp of the table (one cheap aggregate
query), so an edit in one process is seen by all at their next call.

Other apps call::

    from jingwang.core import workdays

    due = workdays.next_working_day(incident.closed_at)   # Deadline(on=date, uncertain=bool)
    due = workdays.add_working_days(opened_on, 10)         # n >= 0; 0 is the day itself
    n = workdays.working_days_between(a, b)                # working days in (a, b]
    workdays.is_working_day(day)                           # bool
    workdays.warning_for(due.on)                           # str | None, translated

A ``Deadline`` whose count crossed a year nobody entered is an estimate (``uncertain``): its
unknown days count Monday to Friday as working, and the page shows ``warning_for(due.on)`` beside
it ("2027's holidays are not in the calendar yet: ..."). ``working_days_between`` and
``is_working_day`` estimate the same way. A datetime is taken at its local date (Asia/Shanghai).
Code that asks many questions at once can take ``current_calendar()`` (one stamp query) and use
its ``estimating()`` answers directly.

The admin's writes go through ``save_year`` (validated by ``check_year``, refused when stale,
audited as ``update_calendar_year``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.audit.actions import record
from jingwang.core.models import CalendarDay, CalendarYear
from jingwang.lib.workdays import Calendar, from_chinese_calendar

# The years the admin may enter: wide enough for any deadline, narrow enough to refuse typos.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class Deadline(NamedTuple):
    """A day counted in working days. ``uncertain``: a year it crossed is not in the calendar
    (neither the package nor the admin's table), so ``on`` counts weekends only there and the
    page must show ``warning_for(on)``."""

    on: date
    uncertain: bool


def _day(value: date) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def next_working_day(day: date) -> Deadline:
    """The first working day strictly after ``day``."""
    estimate = current_calendar().estimating()
    on = estimate.next_working_day(_day(day))
    return Deadline(on, bool(estimate.guessed))


def add_working_days(day: date, n: int) -> Deadline:
    """``n`` working days after ``day`` (``n >= 0``; 0 gives ``day`` itself)."""
    estimate = current_calendar().estimating()
    on = estimate.add_working_days(_day(day), n)
    return Deadline(on, bool(estimate.guessed))


def working_days_between(a: date, b: date) -> int:
    """Working days in ``(a, b]`` (0 when ``b <= a``); unknown years count weekends only."""
    return current_calendar().estimating().working_days_between(_day(a), _day(b))


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day (Monday to Friday in a year not in the calendar)."""
    return current_calendar().estimating().is_working_day(_day(day))


def is_known(year: int) -> bool:
    """Whether the holidays of ``year`` are in the calendar (package or table)."""
    return current_calendar().knows(year)


def warning_for(day: date) -> str | None:
    """The translated warning a page shows beside a date of a year not in the calendar."""
    year = _day(day).year
    if current_calendar().knows(year):
        return None
    return _(
        "%(year)s's holidays are not in the calendar yet: the system admin enters them on the "
        "calendar page; this date counts weekends only."
    ) % {"year": year}


# ---------------------------------------------------------------------------------------------
# The calendar of this process: the package with the table over it, rebuilt when the table moves


_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Calendar] | None = None


def entered_years() -> QuerySet[CalendarYear]:
    """The years the system admin entered (read by the calendar pages; not case data: the only
    link to a station is the account that last changed a year)."""
    return CalendarYear.objects.select_related("changed_by").order_by("-year")


@functools.cache
def package_calendar() -> Calendar:
    """The ``chinese-calendar`` package's years alone (read once per process)."""
    return from_chinese_calendar()


def _stamp() -> tuple[Any, ...]:
    # Changes whenever a year is added or saved, in this process or another (version goes up,
    # changed_at moves, a new id appears).
    figures = CalendarYear.objects.aggregate(
        count=Count("id"), versions=Sum("version"), last=Max("id"), at=Max("changed_at")
    )
    return (figures["count"], figures["versions"], figures["last"], figures["at"])


def _build() -> Calendar:
    years: dict[int, tuple[dict[date, str], dict[date, str]]] = {
        year: ({}, {}) for year in CalendarYear.objects.values_list("year", flat=True)
    }
    rows = CalendarDay.objects.values_list("year__year", "day", "kind", "name")
    for year, day, kind, name in rows:
        holidays, makeup = years[year]
        (holidays if kind == CalendarDay.Kind.HOLIDAY else makeup)[day] = name
    return package_calendar().replacing_years(years)


def current_calendar() -> Calendar:
    """The calendar as it stands (one stamp query; rebuilt when the table changed)."""
    global _cached
    stamp = _stamp()
    cached = _cached
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        built = _build()
        _cached = (stamp, built)
    return built


# ---------------------------------------------------------------------------------------------
# The admin's table: what a year holds, its checks, and the one action that saves it


@dataclass
class HolidayRow:
    """One holiday as the admin types it: a name, its first and last day, and the make-up
    working days (调休上班) that go with it. ``number`` is the row on the page (1, 2, ...)."""

    number: int
    name: str = ""
    first: date | None = None
    last: date | None = None
    makeup: list[date] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not self.name and self.first is None and self.last is None and not self.makeup

    def days(self) -> list[date]:
        if self.first is None or self.last is None or self.last < self.first:
            return []
        return [self.first + timedelta(days=k) for k in range((self.last - self.first).days + 1)]


class Problem(NamedTuple):
    """A refusal of one field (``name_3``, ``first_3``, ``last_3``, ``makeup_3``) or of the
    whole year (``None``), with its message."""

    field: str | None
    message: str


MAX_HOLIDAY_DAYS = 31


def check_year(year: int, rows: Sequence[HolidayRow]) -> list[Problem]:
    """Everything wrong with a year as typed, each naming its field; empty when it may be saved.

    Every day is in ``year``; a holiday has a name and a first and last day in order, of at most
    31 days; no day is in two holidays; a make-up day is a Saturday or Sunday (any other day is
    a working day anyway), is not a holiday and is entered once; a year has at least one
    holiday."""
    problems: list[Problem] = []
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return [Problem(None, _("Enter a year from %(first)s to %(last)s.") % _span())]
    taken: dict[date, str] = {}
    filled = [row for row in rows if not row.blank]
    for row in filled:
        n = row.number
        if not row.name:
            problems.append(Problem(f"name_{n}", _("Name this holiday.")))
        for key, value, missing in (
            ("first", row.first, _("Enter the holiday's first day.")),
            ("last", row.last, _("Enter the holiday's last day.")),
        ):
            if value is None:
                problems.append(Problem(f"{key}_{n}", missing))
            elif value.year != year:
                problems.append(Problem(f"{key}_{n}", _outside(value, year)))
        if row.first is None or row.last is None or {row.first.year, row.last.year} != {year}:
            continue  # already refused above
        if row.last < row.first:
            problems.append(Problem(f"last_{n}", _("The last day is before the first day.")))
            continue
        if (row.last - row.first).days >= MAX_HOLIDAY_DAYS:
            problems.append(
                Problem(
                    f"last_{n}",
                    _("A holiday of more than %(days)s days: check the last day.")
                    % {"days": MAX_HOLIDAY_DAYS},
                )
            )
            continue
        for day in row.days():
            if day in taken:
                problems.append(
                    Problem(
                        f"first_{n}",
                        _("%(day)s is already a day of “%(name)s”.")
                        % {"day": day.isoformat(), "name": taken[day]},
                    )
                )
                break
            taken[day] = row.name or str(n)
    seen: set[date] = set()
    for row in filled:
        for day in row.makeup:
            key = f"makeup_{row.number}"
            if day.year != year:
                problems.append(Problem(key, _outside(day, year)))
            elif day in seen:
                problems.append(
                    Problem(key, _("%(day)s is entered twice.") % {"day": day.isoformat()})
                )
            elif day in taken:
                problems.append(
                    Problem(
                        key,
                        _(
                            "%(day)s is a day of “%(name)s”: a day cannot be a holiday and a "
                            "make-up working day."
                        )
                        % {"day": day.isoformat(), "name": taken[day]},
                    )
                )
            elif day.weekday() < 5:
                problems.append(
                    Problem(
                        key,
                        _(
                            "%(day)s is a weekday, a working day anyway: a make-up working day is "
                            "a Saturday or a Sunday."
                        )
                        % {"day": day.isoformat()},
                    )
                )
            seen.add(day)
    if not filled:
        problems.append(Problem(None, _("Enter at least one holiday of the year.")))
    return problems


def _span() -> dict[str, int]:
    return {"first": FIRST_YEAR, "last": LAST_YEAR}


def _outside(day: date, year: int) -> str:
    return _("%(day)s is not in %(year)s: enter it under its own year.") % {
        "day": day.isoformat(),
        "year": year,
    }


def rows_of(year: int, calendar: Calendar | None = None) -> list[HolidayRow]:
    """The year's holidays as rows (consecutive days of one name make a row; each make-up day
    goes with the nearest row of its holiday's name): what the edit page starts from."""
    from jingwang.lib.workdays import holiday_ranges

    calendar = calendar if calendar is not None else current_calendar()
    holidays = {d: n for d, n in calendar.holidays.items() if d.year == year}
    makeup = {d: n for d, n in calendar.makeup.items() if d.year == year}
    ranges = holiday_ranges(holidays)
    rows = [
        HolidayRow(number, name, first, last)
        for number, (first, last, name) in enumerate(ranges, start=1)
    ]
    for day in sorted(makeup):

        def distance(k: int, day: date = day) -> tuple[bool, int]:
            first, last, name = ranges[k]
            return (name != makeup[day], min(abs((day - first).days), abs((day - last).days)))

        if ranges:  # with the nearest holiday of its name (of any name if none has it)
            rows[min(range(len(ranges)), key=distance)].makeup.append(day)
        else:
            rows.append(HolidayRow(len(rows) + 1, makeup[day], None, None, [day]))
    return rows


class InvalidYear(Exception):
    """``check_year`` refused the year: ``problems`` name the fields."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


class StaleYear(Exception):
    """Someone else saved this year since the page was opened: nothing was written."""

    def __str__(self) -> str:
        return _(
            "Someone else changed this year's calendar while you were editing. "
            "Reload the page to see their changes, then edit again."
        )


def save_year(
    actor: Any, year: int, rows: Sequence[HolidayRow], version: int
) -> CalendarYear | None:
    """Save a year's holidays and make-up days into the table, replacing what it had.

    ``version`` is the one the editor saw (0: the year was not in the table: a package year or
    an unknown one); if the row moved on since, ``StaleYear`` and nothing is written. Nothing
    different from what the calendar already says of the year: nothing is written (None for a
    year not in the table). The audit event ``update_calendar_year`` lists the days added and
    removed. Raises ``InvalidYear`` when ``check_year`` finds problems.
    """
    problems = check_year(year, rows)
    if problems:
        raise InvalidYear(problems)
    wanted: dict[date, tuple[str, str]] = {}
    for row in rows:
        if row.blank:
            continue
        for day in row.days():
            wanted[day] = (CalendarDay.Kind.HOLIDAY, row.name)
        for day in row.makeup:
            wanted[day] = (CalendarDay.Kind.MAKEUP, row.name)
    creating = False
    try:
        with transaction.atomic():
            current = CalendarYear.objects.select_for_update().filter(year=year).first()
            if (current.version if current is not None else 0) != version:
                raise StaleYear()
            before = _days_of(year, current)
            if before == wanted:
                return current
            if current is None:
                creating = True
                current = CalendarYear.objects.create(
                    year=year, changed_by=_user(actor), changed_at=timezone.now()
                )
            else:
                current.version += 1
                current.changed_at = timezone.now()
                current.changed_by = _user(actor)
                current.save(update_fields=["version", "changed_at", "changed_by"])
                current.days.all().delete()
            CalendarDay.objects.bulk_create(
                CalendarDay(year=current, day=day, kind=kind, name=name)
                for day, (kind, name) in sorted(wanted.items())
            )
            record(
                actor,
                "update_calendar_year",
                current,
                detail={
                    "year": year,
                    "version": current.version,
                    "from_package": creating and package_calendar().knows(year),
                    "added": _listed(wanted, before),
                    "removed": _listed(before, wanted),
                },
            )
    except IntegrityError as exc:
        if creating:  # another editor saved this year's first row at the same moment
            raise StaleYear() from exc
        raise
    return current


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _days_of(year: int, row: CalendarYear | None) -> dict[date, tuple[str, str]]:
    """What the calendar says of ``year`` now: the table's row, else the package."""
    if row is not None:
        return {day.day: (day.kind, day.name) for day in row.days.all()}
    package = package_calendar()
    days = {d: (CalendarDay.Kind.HOLIDAY.value, n) for d, n in package.holidays.items()}
    days |= {d: (CalendarDay.Kind.MAKEUP.value, n) for d, n in package.makeup.items()}
    return {d: value for d, value in days.items() if d.year == year}


def _listed(these: dict[date, tuple[str, str]], but_not: dict[date, tuple[str, str]]) -> list[str]:
    return [
        f"{day.isoformat()} {kind} {name}"
        for day, (kind, name) in sorted(these.items())
        if but_not.get(day) != (kind, name)
    ]
