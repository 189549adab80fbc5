"""The dispute loop's figures (issue 8, item 6): registered, mediated, succeeded, failed,
referred, open and overdue; the success and carried-out rates; the median duration; by tier,
category, grid, lead mediator and month.

What is counted, for the disputes **registered in the period** (a cohort: their sessions,
agreements and follow-ups as they stand today), and only the disputes the reader may see
(``disputes_visible_to``, applied by the caller):

- **registered**: how many were registered;
- **mediated**: registered, with at least one session recorded;
- **succeeded**: mediated, and an agreement reached (status agreed or carried out, or any
  agreement recorded: an agreement not carried out reopens the dispute, and it still succeeded
  in reaching one);
- **failed**: mediated, no agreement, and mediation has ended without one: referred, or
  withdrawn after a failed session (a dispute withdrawn with no failed session was dropped by the
  parties: it counts in neither);
- **referred**: status referred (mediated or not); **withdrawn**: status withdrawn;
- **success rate** = succeeded ÷ (succeeded + failed): over the mediated disputes whose
  mediation has ended (an agreement, or referred / withdrawn after a failure). Open ones are
  not counted yet;
- **carried-out rate** = agreements carried out ÷ agreements whose follow-up has concluded
  (carried out, or not carried out), over the agreements of these disputes;
- **median duration** (days): from the day of registration to the first agreement's signing
  day, or else the referral's day, or else the day it was closed (withdrawn); disputes still
  being mediated have none;
- **open now**: not closed (being mediated, or agreed and waiting to be carried out);
  **overdue now**: being mediated and past the deadline (``deadline`` < today).

Grouped by a grid level, a dispute counts for the grid of that level at or above its grid; by
mediator, for the person of its lead mediator; by month, for the month (local time) it was
registered in, every month of the period listed. Everything is counted in the database: per
grouping one grouped query over the disputes (the session and agreement conditions are
uncorrelated ``IN (SELECT ...)`` subqueries, each read once into a hash), and one over their
agreements; each dispute and agreement is in exactly one group, so the total adds the groups
up. A median does not add up: on PostgreSQL one query counts the medians of every group, every
month and the whole selection (``percentile_cont`` over grouping sets, each dispute's first
agreement and referral hash-joined; 60,000 disputes: under a second on a busy 2-core
machine); SQLite has no such aggregate, so there three flat reads of the ended disputes'
dates give them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jingwang.disputes import rules
from jingwang.disputes.models import Agreement, Category, Dispute, Referral, Session, Tier
from jingwang.incidents.figures import (
    LEVELS,
    Period,
    PeriodError,
    group_key,
    median,
    parse_period,
    ratio,
)
from jingwang.territory.models import Grid

__all__ = [
    "GROUPS",
    "GROUP_LABELS",
    "LEVELS",
    "Figures",
    "Period",
    "PeriodError",
    "Row",
    "Table",
    "default_period",
    "figures",
    "period_from",
]

GROUPS = ("tier", "category", *LEVELS, "mediator")
GROUP_LABELS = {
    "tier": gettext_lazy("Tier"),
    "category": gettext_lazy("Category"),
    "district": gettext_lazy("District"),
    "sector": gettext_lazy("Sector"),
    "block": gettext_lazy("Block"),
    "cluster": gettext_lazy("Cluster"),
    "mediator": gettext_lazy("Lead mediator"),
    "month": gettext_lazy("Month"),
}

# ── the period: from and to, by default the last 12 months ─────────────────────────────────


def default_period(today: date) -> Period:
    """The last 12 months: from the first day of the month 11 months ago to today (twelve
    month rows, the current one partial)."""
    return Period(rules.months_before(today.replace(day=1), 11), today, "custom")


def period_from(start: str, end: str, today: date) -> Period:
    """The period asked for (``start``/``end`` as 2026-03-01), the default when neither is
    given; ``PeriodError`` names the field at fault (the incident figures' rules: the last
    day not after today, at most about three years)."""
    if not start.strip() and not end.strip():
        return default_period(today)
    return parse_period("custom", start, end, today)


# ── the conditions (see the module's definitions) ──────────────────────────────────────────

S = Dispute.Status
HAS_SESSION = Q(pk__in=Session.objects.order_by().values("dispute_id"))
HAS_FAILED_SESSION = Q(
    pk__in=Session.objects.filter(result=Session.Result.FAILED).order_by().values("dispute_id")
)
HAS_AGREEMENT = Q(pk__in=Agreement.objects.order_by().values("dispute_id"))
AGREED = Q(status__in=[S.AGREED, S.PERFORMED]) | HAS_AGREEMENT
SUCCEEDED = HAS_SESSION & AGREED
FAILED = (
    HAS_SESSION & ~AGREED & (Q(status=S.REFERRED) | (Q(status=S.WITHDRAWN) & HAS_FAILED_SESSION))
)
OPEN = Q(status__in=[S.OPEN, S.AGREED])


def overdue_q(today: date) -> Q:
    return Q(status=S.OPEN, deadline__lt=today)


def in_database() -> bool:
    """Whether the medians are counted by the database (PostgreSQL's percentile_cont)."""
    return connection.vendor == "postgresql"


def counters(today: date) -> dict[str, Any]:
    return {
        "registered": Count("id"),
        "mediated": Count("id", filter=HAS_SESSION),
        "succeeded": Count("id", filter=SUCCEEDED),
        "failed": Count("id", filter=FAILED),
        "referred": Count("id", filter=Q(status=S.REFERRED)),
        "withdrawn": Count("id", filter=Q(status=S.WITHDRAWN)),
        "open": Count("id", filter=OPEN),
        "overdue": Count("id", filter=overdue_q(today)),
    }


COUNTS = ("registered", "mediated", "succeeded", "failed", "referred", "withdrawn", "open")
COUNTS_ALL = (*COUNTS, "overdue", "performed", "concluded")


@dataclass
class Row:
    """The figures of one group (a tier, a category, a grid, a mediator, a month) or of all."""

    key: Any
    label: str = ""
    registered: int = 0
    mediated: int = 0
    succeeded: int = 0
    failed: int = 0
    referred: int = 0
    withdrawn: int = 0
    open: int = 0
    overdue: int = 0
    performed: int = 0  # agreements carried out
    concluded: int = 0  # agreements whose follow-up concluded (carried out or not)
    durations: list[int] = field(default_factory=list, repr=False)  # SQLite: each ended one's
    median_found: float | None = None  # PostgreSQL: the median counted in the database
    url: str = ""

    @property
    def success_rate(self) -> float | None:
        return ratio(self.succeeded, self.succeeded + self.failed)

    @property
    def carried_out_rate(self) -> float | None:
        return ratio(self.performed, self.concluded)

    @property
    def median_days(self) -> float | None:
        if self.median_found is not None:
            return self.median_found
        return median(self.durations)

    @property
    def median_text(self) -> str:
        days = self.median_days
        return "—" if days is None else f"{days:g}"

    @property
    def success_text(self) -> str:
        return percent_1(self.success_rate)

    @property
    def carried_out_text(self) -> str:
        return percent_1(self.carried_out_rate)

    @property
    def cells(self) -> list[object]:
        """The table's cells after the label, as the page shows them."""
        return [
            self.registered,
            self.mediated,
            self.succeeded,
            self.failed,
            self.success_text,
            self.referred,
            self.withdrawn,
            self.performed,
            self.concluded,
            self.carried_out_text,
            self.median_text,
            self.open,
            self.overdue,
        ]


def percent_1(value: float | None) -> str:
    """A rate with one decimal where it has one (99.6%: the article's figure needs it; 60%),
    "—" when there is none."""
    if value is None:
        return "—"
    text = f"{value * 100:.1f}"
    return f"{text.removesuffix('.0')}%"


@dataclass
class Table:
    group: str
    rows: list[Row]


@dataclass
class Figures:
    period: Period
    total: Row
    groups: Table
    months: Table
    # Every dispute in scope (whatever its registration date) open or overdue now.
    open_now: int = 0
    overdue_now: int = 0


# ── the queries ─────────────────────────────────────────────────────────────────────────────


def key_of(group: str) -> Any:
    """The expression a dispute is grouped by."""
    if group in LEVELS:
        return group_key(group)
    if group == "tier":
        return F("tier")
    if group == "category":
        return F("category_id")
    if group == "mediator":
        return F("lead__person_id")
    if group == "month":
        return TruncMonth("registered_at", tzinfo=timezone.get_current_timezone())
    raise ValueError(f"unknown group {group!r}")


def _key(value: Any) -> Any:
    """A month key as a date (the database gives a datetime)."""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def compute(disputes: QuerySet[Dispute], group: str, today: date) -> dict[Any, Row]:
    """The counts of ``disputes`` per group: two queries whatever the number of groups (the
    durations come from ``add_durations``)."""
    rows: dict[Any, Row] = {}

    def row(key: Any) -> Row:
        if key not in rows:
            rows[key] = Row(key)
        return rows[key]

    base = disputes.order_by()
    key = key_of(group)
    for found in base.annotate(k=key).values("k").annotate(**counters(today)).order_by():
        r = row(_key(found["k"]))
        for name in (*COUNTS, "overdue"):
            setattr(r, name, found[name])
    # Agreements: joined from their side, so a dispute with two counts both.
    agreements = (
        Agreement.objects.filter(dispute__in=base.values("pk"))
        .annotate(k=_prefixed(group))
        .values("k")
        .annotate(
            performed=Count("id", filter=Q(status=Agreement.Status.PERFORMED)),
            concluded=Count(
                "id",
                filter=Q(status__in=[Agreement.Status.PERFORMED, Agreement.Status.UNPERFORMED]),
            ),
        )
        .order_by()
    )
    for found in agreements:
        r = row(_key(found["k"]))
        r.performed, r.concluded = found["performed"], found["concluded"]
    return rows


def _prefixed(group: str) -> Any:
    """``key_of`` reached from an agreement (through its dispute)."""
    if group in LEVELS:
        return group_key(group, "dispute__")
    if group == "month":
        return TruncMonth("dispute__registered_at", tzinfo=timezone.get_current_timezone())
    field_name = {"tier": "tier", "category": "category_id", "mediator": "lead__person_id"}[group]
    return F(f"dispute__{field_name}")


def durations(disputes: QuerySet[Dispute], group: str) -> Iterable[tuple[Any, date, int]]:
    """(group key, month, days) of each dispute whose mediation ended: registration to the
    first agreement's signing, or the referral, or the closing (local days).

    Three flat reads (the ended disputes; the signing days and referral times of their
    agreements and referrals), joined here by dispute: grouping the disputes by id with their
    agreements joined costs more than reading the rows."""
    ended = disputes.order_by().filter(
        HAS_AGREEMENT | Q(status=S.REFERRED) | Q(closed_at__isnull=False)
    )
    ids = ended.values("pk")
    signed: dict[int, date] = {}
    for pk, day in Agreement.objects.filter(dispute__in=ids).values_list("dispute_id", "signed_on"):
        if pk not in signed or day < signed[pk]:
            signed[pk] = day
    referred: dict[int, datetime] = {}
    for pk, when in Referral.objects.filter(dispute__in=ids).values_list(
        "dispute_id", "referred_at"
    ):
        if pk not in referred or when < referred[pk]:
            referred[pk] = when
    local = timezone.get_current_timezone()
    rows = ended.annotate(k=key_of(group), m=key_of("month")).values_list(
        "pk", "k", "m", "registered_at", "closed_at"
    )
    for pk, k, month, registered_at, closed_at in rows:
        start = registered_at.astimezone(local).date()
        if pk in signed:
            end = signed[pk]
        elif pk in referred:
            end = referred[pk].astimezone(local).date()
        elif closed_at is not None:
            end = closed_at.astimezone(local).date()
        else:  # referred with no referral row (not written by the actions)
            continue
        yield k, _key(month), (end - start).days


MEDIANS = """
WITH d AS ({disputes}),
a AS (SELECT dispute_id, MIN(signed_on) AS signed FROM {agreement}
      WHERE dispute_id IN (SELECT id FROM d) GROUP BY dispute_id),
r AS (SELECT dispute_id, MIN(referred_at) AS referred FROM {referral}
      WHERE dispute_id IN (SELECT id FROM d) GROUP BY dispute_id)
SELECT d.k, d.m, GROUPING(d.k), GROUPING(d.m),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY
           COALESCE(a.signed, (r.referred AT TIME ZONE %s)::date,
                    (d.closed_at AT TIME ZONE %s)::date)
           - (d.registered_at AT TIME ZONE %s)::date)
FROM d LEFT JOIN a ON a.dispute_id = d.id LEFT JOIN r ON r.dispute_id = d.id
GROUP BY GROUPING SETS ((d.k), (d.m), ())
"""


def medians_in_database(
    disputes: QuerySet[Dispute],
    group: str,
    by_group: dict[Any, Row],
    by_month: dict[Any, Row],
    total: Row,
) -> None:
    """PostgreSQL: the median days of every group, every month and the whole selection, in
    one query (grouping sets; each dispute's first agreement and referral are hash-joined,
    never looked up one dispute at a time)."""
    inner = (
        disputes.order_by()
        .annotate(k=key_of(group), m=key_of("month"))
        .values("id", "k", "m", "registered_at", "closed_at")
    )
    sql, params = inner.query.sql_with_params()
    zone = timezone.get_current_timezone_name()
    query = MEDIANS.format(
        disputes=sql,
        agreement=Agreement._meta.db_table,
        referral=Referral._meta.db_table,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner cannot estimate the joins on the CTE (it guesses 10⁸ rows) and would
        # JIT-compile the query: seconds of compiling for a query that runs in tenths.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(query, [*params, zone, zone, zone])
        found = cursor.fetchall()
    for k, month, k_rolled, month_rolled, days in found:
        if k_rolled and month_rolled:
            total.median_found = days
        elif month_rolled:  # grouped by k
            if _key(k) in by_group:
                by_group[_key(k)].median_found = days
        elif _key(month) in by_month:
            by_month[_key(month)].median_found = days


def add_durations(
    disputes: QuerySet[Dispute], group: str, by_group: dict[Any, Row], by_month: dict[Any, Row]
) -> None:
    """Each group's and each month's durations (SQLite: read, then counted here)."""
    for k, month, days in durations(disputes, group):
        for rows, key in ((by_group, _key(k)), (by_month, month)):
            if key not in rows:
                rows[key] = Row(key)
            rows[key].durations.append(days)


def selection(
    disputes: QuerySet[Dispute],
    period: Period,
    *,
    grid_ids: Iterable[int] | None = None,
    tier: int | None = None,
    category_id: int | None = None,
) -> QuerySet[Dispute]:
    """The disputes counted: of an already-scoped queryset, registered in ``period``, within
    the grids given (a grid and those below it), of a tier and a category."""
    start, end = period.bounds()
    return filtered(
        disputes.filter(registered_at__gte=start, registered_at__lt=end),
        grid_ids=grid_ids,
        tier=tier,
        category_id=category_id,
    )


def filtered(
    disputes: QuerySet[Dispute],
    *,
    grid_ids: Iterable[int] | None = None,
    tier: int | None = None,
    category_id: int | None = None,
) -> QuerySet[Dispute]:
    if grid_ids is not None:
        disputes = disputes.filter(grid_id__in=list(grid_ids))
    if tier is not None:
        disputes = disputes.filter(tier=tier)
    if category_id is not None:
        disputes = disputes.filter(category_id=category_id)
    return disputes


def total_of(rows: Iterable[Row]) -> Row:
    """The whole selection: each dispute (and agreement) is in one group of any grouping."""
    total = Row(None, label=_("All"))
    for r in rows:
        for name in COUNTS_ALL:
            setattr(total, name, getattr(total, name) + getattr(r, name))
    return total


def months_of(period: Period) -> list[date]:
    """The first day of every month the period touches."""
    first = period.start.replace(day=1)
    months = []
    while first <= period.end:
        months.append(first)
        first = rules.add_months(first, 1)
    return months


def figures(
    disputes: QuerySet[Dispute],
    period: Period,
    group: str,
    *,
    grid_id: int | None = None,
    tier: int | None = None,
    category_id: int | None = None,
    today: date | None = None,
) -> Figures:
    """What the page shows, from an already-scoped queryset (``disputes_visible_to(user)``,
    and the station chosen): the total, one row per ``group`` and one per month."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    today = today or timezone.localdate()
    grids = Grid.with_descendants({grid_id}) if grid_id is not None else None
    chosen = selection(disputes, period, grid_ids=grids, tier=tier, category_id=category_id)
    by_group = compute(chosen, group, today)
    by_month = compute(chosen, "month", today)
    total = total_of(by_month.values())
    if in_database():
        medians_in_database(chosen, group, by_group, by_month, total)
    else:
        add_durations(chosen, group, by_group, by_month)
        total.durations = [days for r in by_month.values() for days in r.durations]
    months = [by_month.get(m) or Row(m) for m in months_of(period)]
    for m in months:
        m.label = f"{m.key:%Y-%m}"
    now = filtered(disputes, grid_ids=grids, tier=tier, category_id=category_id).aggregate(
        open=Count("id", filter=OPEN), overdue=Count("id", filter=overdue_q(today))
    )
    return Figures(
        period=period,
        total=total,
        groups=Table(group, _labelled(group, by_group)),
        months=Table("month", months),
        open_now=now["open"],
        overdue_now=now["overdue"],
    )


# ── labels ──────────────────────────────────────────────────────────────────────────────────


def _labelled(group: str, found: dict[Any, Row]) -> list[Row]:
    labels = _labels(group, {k for k in found if k is not None})
    for key, r in found.items():
        r.label = none_label(group) if key is None else labels.get(key, (str(key), ""))[0]
    return sorted(found.values(), key=lambda r: (r.key is None, labels.get(r.key, ("", ""))[1]))


def _labels(group: str, keys: set[Any]) -> dict[Any, tuple[str, str]]:
    """Each key's label and sort key."""
    if not keys:
        return {}
    if group == "tier":
        return {k: (str(Tier(k).label), str(k)) for k in keys if k in Tier.values}
    if group in LEVELS:
        return {
            g.id: (f"{g.code} {g.name}", g.code)
            for g in Grid.objects.filter(id__in=keys).only("id", "code", "name")
        }
    if group == "mediator":
        from jingwang.people.models import Person

        return {
            p.id: (p.name, p.name) for p in Person.objects.filter(id__in=keys).only("id", "name")
        }
    return {
        c.id: (c.label, f"{c.order:05d}{c.code}")
        for c in Category.objects.filter(id__in=keys).only("id", "name", "name_en", "code", "order")
    }


def none_label(group: str) -> str:
    if group in LEVELS:
        return _("Not in a grid of this level")
    if group == "mediator":
        return _("No lead mediator")
    if group == "category":
        return _("No category")
    return "—"
