"""Pure rules of the callback loop: no database, no Django settings, no clock.

The working-day arithmetic is passed in (``jingwang.core.workdays`` in the app,
``jingwang.lib.workdays.Calendar`` or a plain function in tests), so each rule can be tested
alone, exhaustively.

Decisions (docs/architecture.md, "The callback loop"):

- A callback is due ``callback_due_days`` working days after the day the incident closed
  (1: the next working day). A closing on a Friday evening is called back on Monday; one on
  the eve of the National Day holiday, on the first working day after it.
- Every failed attempt counts the same toward "unreachable": no answer, refused, wrong number
  and **call later**. A caller who asks to be called later and then cannot be reached, or asks
  again, has not answered the callback; the rule's span (the attempts must cover
  ``callback_attempt_days`` working days) is what protects a caller who is busy on one day.
  A callback closes as unreachable once it has ``callback_attempts`` failed attempts whose
  first and last fall on days at least ``callback_attempt_days - 1`` working days apart
  (three attempts over two working days: two on Monday and one on Tuesday, not three on
  Monday).
- A category is called only by an officer (never by SMS, never by an auxiliary) when it or its
  top-level category is flagged ``officer_only``, or the station added either to its own list.
- A survey link works once, until ``survey_hours`` after it was made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar

T = TypeVar("T")

SATISFIED, BASICALLY, DISSATISFIED = "satisfied", "basically", "dissatisfied"
RATINGS = (SATISFIED, BASICALLY, DISSATISFIED)
QUESTIONS = ("speed", "attitude", "handling")
FAILED_OUTCOMES = ("no_answer", "refused", "wrong_number", "call_later")

# Roles that may work a callback of an officer-only category (police officers, not auxiliaries).
OFFICER_ROLES = frozenset({"officer", "station_chief", "bureau_admin"})


def callback_due(closed_on: date, *, days: int, add_working_days: Callable[[date, int], T]) -> T:
    """When the callback of an incident closed on ``closed_on`` is due: ``days`` working days
    after it (at least one: never on the day it closed)."""
    return add_working_days(closed_on, max(1, days))


def closes_unreachable(
    attempt_days: Iterable[date],
    *,
    attempts: int,
    span_days: int,
    working_days_between: Callable[[date, date], int],
) -> bool:
    """Whether the failed attempts made on ``attempt_days`` (one date per attempt, any order)
    close the callback as unreachable: at least ``attempts`` of them, spanning at least
    ``span_days`` working days (``working_days_between(a, b)`` counts the working days in
    (a, b], so two consecutive working days are 1 apart and span 2)."""
    days = list(attempt_days)
    if not days or len(days) < max(1, attempts):
        return False
    if span_days <= 1:
        return True
    return 1 + working_days_between(min(days), max(days)) >= span_days


def rectification_due(
    opened_on: date, *, days: int, add_working_days: Callable[[date, int], T]
) -> T:
    """The deadline of a rectification opened on ``opened_on``: ``days`` working days later."""
    return add_working_days(opened_on, max(0, days))


def officer_only(
    *,
    category_id: int,
    flagged: bool,
    parent_id: int | None,
    parent_flagged: bool,
    station_extra: Collection[int],
) -> bool:
    """Whether a callback of this category is worked only by an officer and never by SMS: the
    category or its top-level category is flagged, or the station listed either."""
    if flagged or parent_flagged:
        return True
    if category_id in station_extra:
        return True
    return parent_id is not None and parent_id in station_extra


def may_work(role: str | None, is_officer_only: bool) -> bool:
    """Whether a user of ``role`` (who may work callbacks at all) may work this one."""
    return not is_officer_only or role in OFFICER_ROLES


def dissatisfied(*ratings: str) -> bool:
    """Any 不满意 among the answers opens a rectification."""
    return DISSATISFIED in ratings


def survey_expires_at(made_at: datetime, hours: int) -> datetime:
    return made_at + timedelta(hours=hours)


SurveyState = Literal["open", "used", "expired"]


def survey_state(expires_at: datetime, used_at: datetime | None, now: datetime) -> SurveyState:
    """A survey link is open until it is used or ``expires_at`` comes, whichever is first."""
    if used_at is not None:
        return "used"
    if now >= expires_at:
        return "expired"
    return "open"


def token_hash(token: str) -> str:
    """What is stored of a survey token (the token itself only travels in the SMS)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
