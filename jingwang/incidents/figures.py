"""The incident loop's figures: per grid, officer, category and period (issue 7, item 6).

What is counted, for the incidents *received* in the period (a cohort: the callbacks and
rectifications counted are those of these incidents, as they stand today), and only the
incidents the reader may see (``incidents_visible_to``):

- **incidents**: how many were received;
- **median arrival**: the median of arrival − dispatch over the incidents that have both (and
  arrived after they were dispatched), in minutes;
- **callback coverage** = done ÷ due: *due* is every callback whose due date has come
  (``due_on`` ≤ today), *done* those answered (by phone or the SMS survey). A callback closed as
  unreachable counts as due and not done;
- **reach rate** = reached ÷ attempted: *attempted* is every callback someone tried, that is
  done, closed as unreachable, or still open with at least one failed attempt; *reached* the
  done ones (the caller answered the questions);
- **satisfaction**, per question (speed, attitude, handling): the share of each rating
  (满意 / 基本满意 / 不满意) among the done callbacks that answered that question;
- **rectifications**: opened, still open, and overdue (open past their deadline, ``due_on`` <
  today).

A grid's figures include the grids below it: grouped by a grid level, an incident counts for
the grid of that level above (or at) the grid it is placed in. Everything is counted in the
database, three grouped queries whatever the number of groups; the median too on PostgreSQL
(``percentile_cont``), in Python on SQLite (which has no such aggregate).

Pure helpers (``median``, ``ratio``, ``parse_period``) are plain functions, tested without a
database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jingwang.incidents.models import Callback, Incident, Rating, Rectification
from jingwang.incidents.queries import incidents_visible_to
from jingwang.territory.models import Grid

QUESTIONS = ("speed", "attitude", "handling")
RATINGS = (Rating.SATISFIED, Rating.BASICALLY, Rating.DISSATISFIED)
LEVELS = ("district", "sector", "block", "cluster")
GROUPS = (*LEVELS, "officer", "category")
QUESTION_LABELS = {
    "speed": gettext_lazy("Response speed"),
    "attitude": gettext_lazy("Attitude"),
    "handling": gettext_lazy("Handling"),
}
GROUP_LABELS = {
    "district": gettext_lazy("District"),
    "sector": gettext_lazy("Sector"),
    "block": gettext_lazy("Block"),
    "cluster": gettext_lazy("Cluster"),
    "officer": gettext_lazy("Handling officer"),
    "category": gettext_lazy("Category"),
}

# ── periods ─────────────────────────────────────────────────────────────────────────────────

DEFAULT_PRESET = "30d"
PRESETS = {
    "7d": gettext_lazy("Last 7 days"),
    "30d": gettext_lazy("Last 30 days"),
    "90d": gettext_lazy("Last 90 days"),
    "365d": gettext_lazy("Last 365 days"),
    "this_month": gettext_lazy("This month"),
    "last_month": gettext_lazy("Last month"),
    "this_year": gettext_lazy("This year"),
    "custom": gettext_lazy("Custom range"),
}
# A custom range may span at most this many days (about three years).
MAX_DAYS = 1100


@dataclass(frozen=True)
class Period:
    """The days from ``start`` to ``end``, both included (local dates)."""

    start: date
    end: date
    preset: str = DEFAULT_PRESET

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """From the start of ``start`` to the start of the day after ``end``, in local time."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


class PeriodError(ValueError):
    """A period that does not parse; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_date(text: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(
            field,
            _("“%(field)s” must be a date like 2026-03-01, not “%(value)s”.")
            % {"field": label, "value": text.strip()[:20]},
        ) from None


def parse_period(preset: str | None, start: str | None, end: str | None, today: date) -> Period:
    """The period a user asked for: a preset, or a custom range from ``start`` to ``end``."""
    preset = (preset or "").strip() or DEFAULT_PRESET
    if preset not in PRESETS:
        raise PeriodError("period", _("Choose one of the periods offered."))
    if preset.endswith("d"):
        return Period(today - timedelta(days=int(preset[:-1]) - 1), today, preset)
    if preset == "this_month":
        return Period(today.replace(day=1), today, preset)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, preset)
    if preset == "this_year":
        return Period(today.replace(month=1, day=1), today, preset)
    if not (start or "").strip():
        raise PeriodError("start", _("Give the first day of the range."))
    if not (end or "").strip():
        raise PeriodError("end", _("Give the last day of the range."))
    first = parse_date(start or "", "start", _("From"))
    last = parse_date(end or "", "end", _("To"))
    if last > today:
        raise PeriodError("end", _("The last day cannot be after today."))
    if first > last:
        raise PeriodError("start", _("The first day must not be after the last day."))
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(
            "start", _("A range may span at most %(days)d days.") % {"days": MAX_DAYS}
        )
    return Period(first, last, "custom")


# ── pure helpers ────────────────────────────────────────────────────────────────────────────


def median(values: Iterable[float]) -> float | None:
    """The median (the mean of the two middle values for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole, or None when there is nothing to divide by."""
    return part / whole if whole else None


def percent(value: float | None) -> str:
    """A share as a whole percentage (half up), "—" when there is none."""
    if value is None:
        return "—"
    return f"{math.floor(value * 100 + 0.5)}%"


# ── the figures of one group ────────────────────────────────────────────────────────────────


def _no_ratings() -> dict[str, dict[str, int]]:
    return {q: {str(r): 0 for r in RATINGS} for q in QUESTIONS}


@dataclass
class Row:
    """The figures of one group (a grid, an officer, a category) or of the whole selection."""

    key: int | None
    label: str = ""
    incidents: int = 0
    arrival_seconds: float | None = None  # median arrival − dispatch
    callbacks: int = 0  # every callback of the incidents
    callbacks_due: int = 0  # due_on ≤ today
    callbacks_done: int = 0
    callbacks_unreachable: int = 0
    callbacks_attempted: int = 0
    ratings: dict[str, dict[str, int]] = field(default_factory=_no_ratings)
    rectifications: int = 0
    rectifications_open: int = 0
    rectifications_overdue: int = 0
    url: str = ""  # where the row's own figures are (a grid's page)

    @property
    def arrival_minutes(self) -> float | None:
        return None if self.arrival_seconds is None else self.arrival_seconds / 60

    @property
    def coverage(self) -> float | None:
        return ratio(self.callbacks_done, self.callbacks_due)

    @property
    def reach_rate(self) -> float | None:
        return ratio(self.callbacks_done, self.callbacks_attempted)

    def answered(self, question: str) -> int:
        return sum(self.ratings[question].values())

    def share(self, question: str, rating: str) -> float | None:
        return ratio(self.ratings[question][rating], self.answered(question))

    def shares(self) -> list[tuple[str, list[float | None]]]:
        """Per question, the shares of 满意, 基本满意, 不满意 (for tables)."""
        return [(q, [self.share(q, str(r)) for r in RATINGS]) for q in QUESTIONS]

    # What a page shows.

    @property
    def arrival_text(self) -> str:
        minutes = self.arrival_minutes
        return "—" if minutes is None else f"{minutes:.1f}"

    @property
    def coverage_text(self) -> str:
        return percent(self.coverage)

    @property
    def reach_text(self) -> str:
        return percent(self.reach_rate)

    @property
    def share_texts(self) -> list[str]:
        """满意, 基本满意, 不满意 of speed, then attitude, then handling."""
        return [percent(self.share(q, str(r))) for q in QUESTIONS for r in RATINGS]

    @property
    def cells(self) -> list[object]:
        """The grouped table's cells after the label, as the page shows them."""
        return [
            self.incidents,
            self.arrival_text,
            self.callbacks_due,
            self.callbacks_done,
            self.coverage_text,
            self.callbacks_unreachable,
            self.reach_text,
            *(percent(self.share(q, str(Rating.DISSATISFIED))) for q in QUESTIONS),
            self.rectifications_open,
            self.rectifications_overdue,
        ]

    @property
    def satisfaction(self) -> list[tuple[str, int, list[tuple[int, str]]]]:
        """Per question: its label, how many answered, and each rating's count and share."""
        return [
            (
                str(QUESTION_LABELS[q]),
                self.answered(q),
                [(self.ratings[q][str(r)], percent(self.share(q, str(r)))) for r in RATINGS],
            )
            for q in QUESTIONS
        ]


@dataclass
class Table:
    group: str
    total: Row
    rows: list[Row]
    period: Period


# ── grouping keys (set-based: an expression the database groups by) ─────────────────────────


def _level_key(level: str, prefix: str = "") -> Case:
    """The id of the grid of ``level`` at or above the row's grid (None if there is none)."""
    whens = []
    path = f"{prefix}grid"
    for _depth in range(len(LEVELS)):
        whens.append(When(**{f"{path}__level": level}, then=F(f"{path}_id")))
        path += "__parent"
    return Case(*whens, default=None)


def group_key(group: str, prefix: str = "") -> Any:
    """The expression an incident (reached through ``prefix``) is grouped by."""
    if group in LEVELS:
        return _level_key(group, prefix)
    if group == "officer":
        return F(f"{prefix}officer_id")
    if group == "category":
        return Coalesce(f"{prefix}category__parent_id", f"{prefix}category_id")
    raise ValueError(f"unknown group {group!r}")


class Median(Aggregate):
    """PostgreSQL's median of a number: percentile_cont(0.5)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


ARRIVED = Q(
    dispatched_at__isnull=False, arrived_at__isnull=False, arrived_at__gte=F("dispatched_at")
)


# ── the queries ─────────────────────────────────────────────────────────────────────────────


def selection(
    user: Any,
    period: Period,
    *,
    station_id: int | None = None,
    grid_ids: Iterable[int] | None = None,
) -> QuerySet[Incident]:
    """The incidents the figures count: visible to ``user``, received in ``period``, of the
    station and within the grids given (a grid and the grids below it)."""
    start, end = period.bounds()
    rows = incidents_visible_to(user).filter(received_at__gte=start, received_at__lt=end)
    if station_id is not None:
        rows = rows.filter(station_id=station_id)
    if grid_ids is not None:
        rows = rows.filter(grid_id__in=list(grid_ids))
    return rows


def counters(today: date) -> dict[str, Any]:
    """Everything counted per group, over incidents joined to their callback and its
    rectification (both one-to-one, so no incident counts twice)."""
    callback = "callback__"
    rect = "callback__rectification__"
    done = Q(callback__status=Callback.Status.DONE)
    is_open = Q(**{f"{rect}status": Rectification.Status.OPEN})
    counts: dict[str, Any] = {
        "n": Count("id"),
        "cb_all": Count(f"{callback}id"),
        "cb_due": Count(f"{callback}id", filter=Q(callback__due_on__lte=today)),
        "cb_done": Count(f"{callback}id", filter=done),
        "cb_unreachable": Count(
            f"{callback}id", filter=Q(callback__status=Callback.Status.UNREACHABLE)
        ),
        "cb_attempted": Count(
            f"{callback}id",
            filter=Q(callback__status__in=[Callback.Status.DONE, Callback.Status.UNREACHABLE])
            | Q(callback__failed_attempts__gt=0),
        ),
        "rect_all": Count(f"{rect}id"),
        "rect_open": Count(f"{rect}id", filter=is_open),
        "rect_overdue": Count(f"{rect}id", filter=is_open & Q(**{f"{rect}due_on__lt": today})),
    }
    for q in QUESTIONS:
        for r in RATINGS:
            counts[f"{q}__{r}"] = Count(f"{callback}id", filter=done & Q(**{f"callback__{q}": r}))
    return counts


def _fill(r: Row, found: Mapping[str, Any]) -> None:
    r.incidents = found["n"]
    r.callbacks = found["cb_all"]
    r.callbacks_due = found["cb_due"]
    r.callbacks_done = found["cb_done"]
    r.callbacks_unreachable = found["cb_unreachable"]
    r.callbacks_attempted = found["cb_attempted"]
    for q in QUESTIONS:
        for rating in RATINGS:
            r.ratings[q][str(rating)] = found[f"{q}__{rating}"]
    r.rectifications = found["rect_all"]
    r.rectifications_open = found["rect_open"]
    r.rectifications_overdue = found["rect_overdue"]


def compute(
    incidents: QuerySet[Incident], group: str | None, today: date | None = None
) -> dict[int | None, Row]:
    """The figures of ``incidents`` per group (one row, key None, when ``group`` is None).

    One grouped query counts the incidents, their callbacks and rectifications (and, on
    PostgreSQL, the median arrival); on SQLite a second one reads the arrival times.
    """
    today = today or timezone.localdate()
    rows: dict[int | None, Row] = {}

    def row(key: int | None) -> Row:
        if key not in rows:
            rows[key] = Row(key)
        return rows[key]

    postgres = connection.vendor == "postgresql"
    base = incidents.order_by()
    key = group_key(group) if group else None
    aggregates = counters(today)
    if postgres:
        aggregates["arrival"] = Median(
            EpochSeconds(F("arrived_at") - F("dispatched_at")), filter=ARRIVED
        )
    if key is not None:
        for found in base.annotate(k=key).values("k").annotate(**aggregates).order_by():
            r = row(found["k"])
            _fill(r, found)
            r.arrival_seconds = found.get("arrival")
    else:
        found = base.aggregate(**aggregates)
        r = row(None)
        _fill(r, found)
        r.arrival_seconds = found.get("arrival")
    if not postgres:
        durations: dict[int | None, list[float]] = defaultdict(list)
        timed = base.filter(ARRIVED)
        values = (
            timed.annotate(k=key).values_list("k", "dispatched_at", "arrived_at")
            if key is not None
            else timed.values_list("pk", "dispatched_at", "arrived_at")
        )
        for k, dispatched, arrived in values:
            durations[k if key is not None else None].append(_seconds(dispatched, arrived))
        for k, seconds in durations.items():
            row(k).arrival_seconds = median(seconds)
    return rows


def _seconds(start: Any, end: Any) -> float:
    return float((end - start).total_seconds())


@contextmanager
def ssd_costs() -> Iterator[None]:
    """On PostgreSQL, plan the figures' queries for solid-state storage: a random page read
    costs about a sequential one (``random_page_cost`` 1.1 instead of the default 4, which
    assumes spinning disks). With the default, the planner scans every callback of the
    station rather than reading, for each incident of the period, its callback through the
    one-to-one's index: three times slower for the last 30 days of a county
    (bench/RESULTS.md). ``SET LOCAL`` holds for this transaction only.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        yield


def total_of(rows: Iterable[Row], incidents: QuerySet[Incident]) -> Row:
    """The whole selection: the groups' counts added up (each incident is in one group), and
    the median arrival of them all (a median does not add up: one more query)."""
    total = Row(None)
    for r in rows:
        for name in (
            "incidents", "callbacks", "callbacks_due", "callbacks_done",
            "callbacks_unreachable", "callbacks_attempted", "rectifications",
            "rectifications_open", "rectifications_overdue",
        ):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(r, name))
        for q in QUESTIONS:
            for rating in RATINGS:
                total.ratings[q][str(rating)] += r.ratings[q][str(rating)]
    base = incidents.order_by().filter(ARRIVED)
    if connection.vendor == "postgresql":
        total.arrival_seconds = base.aggregate(
            m=Median(EpochSeconds(F("arrived_at") - F("dispatched_at")))
        )["m"]
    else:
        total.arrival_seconds = median(
            _seconds(dispatched, arrived)
            for dispatched, arrived in base.values_list("dispatched_at", "arrived_at")
        )
    return total


# ── labels and the table ────────────────────────────────────────────────────────────────────


def _labels(group: str, keys: set[int]) -> dict[int, tuple[str, str]]:
    """Each key's label and sort key."""
    if not keys:
        return {}
    if group in LEVELS:
        return {
            g.id: (f"{g.code} {g.name}", g.code)
            for g in Grid.objects.filter(id__in=keys).only("id", "code", "name")
        }
    if group == "officer":
        from jingwang.people.models import Person

        return {
            p.id: (f"{p.name} {p.badge_number}".strip(), p.name)
            for p in Person.objects.filter(id__in=keys).only("id", "name", "badge_number")
        }
    from jingwang.incidents.models import Category

    return {
        c.id: (c.label, f"{c.order:05d}{c.code}")
        for c in Category.objects.filter(id__in=keys).only("id", "name", "name_en", "code", "order")
    }


def none_label(group: str) -> str:
    if group in LEVELS:
        return _("Not in a grid of this level")
    if group == "officer":
        return _("No handling officer")
    return _("No category")


def table(
    user: Any,
    period: Period,
    group: str,
    *,
    station_id: int | None = None,
    grid_id: int | None = None,
    today: date | None = None,
) -> Table:
    """The figures a page shows: the whole selection, and one row per group."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    today = today or timezone.localdate()
    grids = Grid.with_descendants({grid_id}) if grid_id is not None else None
    incidents = selection(user, period, station_id=station_id, grid_ids=grids)
    with ssd_costs():
        found = compute(incidents, group, today)
        total = total_of(found.values(), incidents)
    total.label = _("All")
    labels = _labels(group, {k for k in found if k is not None})
    rows = []
    for key, r in found.items():
        if key is None:
            r.label = none_label(group)
        else:
            r.label = labels.get(key, (str(key), ""))[0]
        rows.append(r)
    rows.sort(key=lambda r: (r.key is None, labels.get(r.key, ("", ""))[1] if r.key else ""))
    return Table(group, total, rows, period)
