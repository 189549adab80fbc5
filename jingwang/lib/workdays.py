"""Working days on the Chinese calendar: weekends, public holidays and make-up working days
(调休上班). Django-free.

The State Council publishes each year's public holidays late in the year before, and a holiday
usually borrows a weekend: some Saturdays and Sundays become working days (make-up days) so that
the holiday can span a whole week. So whether a day is a working day is data, not arithmetic,
and the data exists only for the years someone has entered — the ``chinese-calendar`` package
knows the years it was released for, the platform's table (``core.models.CalendarYear``) the
years the system admin typed in.

A ``Calendar`` holds that data: the holidays (date → name), the make-up days (date → name of
the holiday they make up for) and the set of years it *knows*. In a known year a day is a
working day when it is a make-up day, or a Monday to Friday that is not a holiday. A year it does
not know has no answer:

* the calendar's own methods are strict: asked about a day of an unknown year, they raise
  ``UnknownYear(year)``;
* ``Calendar.estimating()`` gives an ``Estimator`` with the same methods, which counts the days
  of unknown years by weekends only (Monday to Friday work) and remembers which years it had to
  guess (``guessed``), so the caller can say the answer is an estimate instead of guessing
  silently::

      calendar = from_chinese_calendar()
      calendar.next_working_day(date(2026, 9, 30))       # 2026-10-08 (National Day)
      calendar.add_working_days(date(2026, 12, 30), 3)   # UnknownYear(2027)
      estimate = calendar.estimating()
      estimate.add_working_days(date(2026, 12, 30), 3)   # 2027-01-04, by weekends only
      estimate.guessed                                   # frozenset({2027})

The operations, on both:

* ``is_working_day(d)``;
* ``next_working_day(d)``: the first working day strictly after ``d`` (``d`` itself need not be
  a working day, nor in a known year);
* ``add_working_days(d, n)``: ``n`` working days after ``d`` (``n >= 0``; 0 gives ``d`` itself,
  1 the next working day);
* ``working_days_between(a, b)``: how many working days lie in ``(a, b]`` (0 when ``b <= a``),
  so ``working_days_between(d, add_working_days(d, n)) == n``.

Only the days an operation looks at matter: ``next_working_day(date(2026, 12, 30))`` answers
2026-12-31 without knowing 2027.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

_DAY = timedelta(days=1)


class UnknownYear(LookupError):
    """The calendar does not know the holidays and make-up days of ``year``."""

    def __init__(self, year: int) -> None:
        super().__init__(year)
        self.year = year

    def __str__(self) -> str:
        return f"the holidays and make-up working days of {self.year} are not in the calendar"


def _weekday_rule(day: date) -> bool:
    """Monday to Friday: the rule of a year without holidays (an estimate)."""
    return day.weekday() < 5


def _weekdays_in(a: date, b: date) -> int:
    """Mondays to Fridays in (a, b], for a <= b, by arithmetic."""
    days = (b - a).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    start = a.weekday()  # the days a+1 .. a+rest have weekdays start+1 .. start+rest (mod 7)
    count += sum(1 for k in range(1, rest + 1) if (start + k) % 7 < 5)
    return count


class Calendar:
    """Holidays and make-up working days of the years it knows (immutable once built)."""

    def __init__(
        self,
        holidays: Mapping[date, str],
        makeup: Mapping[date, str],
        known_years: Iterable[int],
    ) -> None:
        """``holidays``: day → holiday name; ``makeup``: day → name of the holiday it makes up
        for; ``known_years``: the years whose holidays and make-up days are all given.

        Raises ``ValueError`` when a day is both, or is in a year not declared known (data of a
        year half-entered would make its other days look like ordinary working days)."""
        self.holidays: dict[date, str] = dict(holidays)
        self.makeup: dict[date, str] = dict(makeup)
        self.known_years: frozenset[int] = frozenset(known_years)
        both = sorted(self.holidays.keys() & self.makeup.keys())
        if both:
            raise ValueError(f"{both[0]} is both a holiday and a make-up working day")
        stray = sorted(
            day for day in [*self.holidays, *self.makeup] if day.year not in self.known_years
        )
        if stray:
            raise ValueError(f"{stray[0]} is in {stray[0].year}, a year not declared known")
        # For counting: the exceptions to the weekday rule, sorted, with their effect.
        self._holiday_weekdays = sorted(day for day in self.holidays if day.weekday() < 5)
        self._makeup_weekends = sorted(day for day in self.makeup if day.weekday() >= 5)

    def __repr__(self) -> str:
        years = sorted(self.known_years)
        span = f"{years[0]}–{years[-1]}" if years else "none"
        return f"<Calendar years {span} ({len(years)}), {len(self.holidays)} holidays>"

    def knows(self, year: int) -> bool:
        """Whether the holidays and make-up days of ``year`` are in the calendar."""
        return year in self.known_years

    def replacing_years(
        self, years: Mapping[int, tuple[Mapping[date, str], Mapping[date, str]]]
    ) -> Calendar:
        """A calendar where each given year's holidays and make-up days are replaced by the
        given ones (and the year becomes known): the admin's table over the package."""
        holidays = {d: n for d, n in self.holidays.items() if d.year not in years}
        makeup = {d: n for d, n in self.makeup.items() if d.year not in years}
        for year_holidays, year_makeup in years.values():
            holidays.update(year_holidays)
            makeup.update(year_makeup)
        return Calendar(holidays, makeup, self.known_years | set(years))

    def estimating(self) -> Estimator:
        """The same questions, answered by weekends only in the years it does not know."""
        return Estimator(self)

    # -- the strict answers: UnknownYear for a day of a year the calendar does not know --------

    def is_working_day(self, day: date) -> bool:
        return self._is_working(day, None)

    def next_working_day(self, day: date) -> date:
        return self._next(day, None)

    def add_working_days(self, day: date, n: int) -> date:
        return self._add(day, n, None)

    def working_days_between(self, a: date, b: date) -> int:
        return self._between(a, b, None)

    # -- shared by both: ``guessed`` is None (strict) or the years an estimate guessed ---------

    def _is_working(self, day: date, guessed: set[int] | None) -> bool:
        if day.year not in self.known_years:
            if guessed is None:
                raise UnknownYear(day.year)
            guessed.add(day.year)
            return _weekday_rule(day)
        if day in self.makeup:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def _next(self, day: date, guessed: set[int] | None) -> date:
        day += _DAY
        while not self._is_working(day, guessed):
            day += _DAY
        return day

    def _add(self, day: date, n: int, guessed: set[int] | None) -> date:
        if n < 0:
            raise ValueError(f"add_working_days counts forward: n must be >= 0, not {n}")
        for _ in range(n):
            day = self._next(day, guessed)
        return day

    def _between(self, a: date, b: date, guessed: set[int] | None) -> int:
        if b <= a:
            return 0
        first = a + _DAY
        for year in range(first.year, b.year + 1):
            if year not in self.known_years:
                if guessed is None:
                    raise UnknownYear(year)
                guessed.add(year)
        # Mondays to Fridays, less the holidays on them, plus the make-up days on weekends (the
        # exceptions exist only in known years, so unknown ones count by weekends only).
        count = _weekdays_in(a, b)
        count -= _count_in(self._holiday_weekdays, a, b)
        count += _count_in(self._makeup_weekends, a, b)
        return count


def _count_in(days: list[date], a: date, b: date) -> int:
    """How many of the sorted ``days`` lie in (a, b]."""
    return bisect.bisect_right(days, b) - bisect.bisect_right(days, a)


@dataclass
class Estimator:
    """A calendar's answers where the days of an unknown year count by weekends only.

    ``guessed`` collects, over every question asked of this estimator, the years it had to
    guess: empty means every answer so far is exact."""

    calendar: Calendar

    def __post_init__(self) -> None:
        self._guessed: set[int] = set()

    @property
    def guessed(self) -> frozenset[int]:
        return frozenset(self._guessed)

    def is_working_day(self, day: date) -> bool:
        return self.calendar._is_working(day, self._guessed)

    def next_working_day(self, day: date) -> date:
        return self.calendar._next(day, self._guessed)

    def add_working_days(self, day: date, n: int) -> date:
        return self.calendar._add(day, n, self._guessed)

    def working_days_between(self, a: date, b: date) -> int:
        return self.calendar._between(a, b, self._guessed)


def from_chinese_calendar() -> Calendar:
    """The calendar of the ``chinese-calendar`` package: every year from its first to its last
    (2004–2026 in 1.11.0), with the holidays' official Chinese names (国庆节), as a person
    entering a year would type them."""
    from chinese_calendar import constants

    chinese = {holiday.value: holiday.chinese for holiday in constants.Holiday}
    holidays = {day: chinese.get(name, name) for day, name in constants.holidays.items()}
    makeup = {day: chinese.get(name, name) for day, name in constants.workdays.items()}
    first = min(holidays).year
    last = max(holidays).year
    return Calendar(holidays, makeup, range(first, last + 1))


def holiday_ranges(holidays: Mapping[date, str]) -> list[tuple[date, date, str]]:
    """Consecutive days of the same holiday as ``(first, last, name)``, in date order (the way a
    person reads and types a year's holidays)."""
    ranges: list[tuple[date, date, str]] = []
    for day in sorted(holidays):
        name = holidays[day]
        if ranges and ranges[-1][2] == name and ranges[-1][1] + _DAY == day:
            ranges[-1] = (ranges[-1][0], day, name)
        else:
            ranges.append((day, day, name))
    return ranges
