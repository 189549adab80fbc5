"""Pure rules of the dispute loop: no database, no Django settings, no clock.

Triage, the exclusions and deadlines of the legal tracks, and repeat complaints, as plain
functions over plain data. The working-day arithmetic is passed in (``jingwang.core.workdays``
in the app, ``jingwang.lib.workdays.Calendar`` in tests), so every rule is tested alone,
exhaustively. The sentences (``describe``, ``exclusion_label``, ``police_refusals``) go
through gettext: they come out in the active language.

Decisions
=========

Triage (the source article's three tiers; thresholds are the bureau's ``DisputeSettings``):

- Each rule that applies gives a ``Reason`` with the tier it asks for; the dispute's tier is the
  **highest** of them, so one serious sign is enough and signs never add up to more than
  tier 3. When no rule applies the reason is ``general``: tier 1, the workstation (most
  disputes between neighbours are settled there).
- **People involved**: ``tier3_people`` or more → tier 3 (``people_many``: a group that large
  needs the mediation room and the departments); else ``tier2_people`` or more → tier 2
  (``people``: the harmony team's community weight is needed). Only the higher of the two is
  given.
- **Amount at stake** (yuan, cents count): ``tier3_amount`` or more → tier 3 (``amount_large``:
  the judicial office and law-enforcement departments are in the room); else ``tier2_amount``
  or more → tier 2 (``amount``). No amount, no amount rule.
- **Risk flags**: violence (``risk_violence``), likely to turn criminal (``risk_criminal``) and a
  group dispute (``risk_group``) → tier 3: these are the disputes that turn into cases or mass
  incidents, and the room has the departments that can act at once. Repeated petitions
  (``risk_petitions``) and a vulnerable party (``risk_vulnerable``) → tier 2: they need the
  weight and care of the harmony team (deputies, CPPCC members, the community) more than the
  powers of the departments.
- **Repeat complaints**: a party who has made ``repeat_complaints`` or more complaints within
  the bureau's window (this one included; counted by the caller across disputes and
  incidents, matched by the keyed hash of the ID or phone number) → tier 2 (``repeat``): one
  story told ten times needs the harmony team, as the article's leaking pipe did.
- **Departments**: ``tier3_departments`` or more departments involved → tier 3
  (``departments``): only the mediation room brings them to one table.
- A threshold of 0 turns its rule off (a bureau that does not want it), rather than putting
  every dispute in that tier.

Police mediation of a minor public-order case (治安调解, 公安机关治安调解工作规范):

- It is refused when any exclusion of the rules applies (``POLICE_EXCLUSIONS``): 雇凶伤害他人的;
  结伙斗殴或者其他寻衅滋事的; 多次实施违反治安管理行为的; 当事人明确表示不愿意调解处理的;
  当事人在治安调解过程中又针对对方实施违反治安管理行为的; 调解案件的违反治安管理行为人不能亲自
  参加调解的; 其他不宜调解处理的. A party under 16 takes part with a guardian
  (``needs_guardian``); the age comes from the ID number's birth date (``age_on``) when there
  is one.
- It is done within ``police_days`` (3) working days **from acceptance**: counted from the day
  after the day it was accepted, so accepted on a Monday it is due on Thursday, and accepted on
  a Saturday the count starts with Monday. At most ``MAX_POLICE_SESSIONS`` (2) sessions; the
  second within ``police_second_days`` (7) working days of the first (counted the same way
  from the first session's day). Both deadlines are working days, never the acceptance day.

People's mediation (人民调解):

- Closed within ``people_months`` (1) month of acceptance: the same day of the month
  ``months`` later, clamped to the month's end (accepted Jan 31 → Feb 28, or 29), and moved to
  the first working day on or after it when that day is not one (a weekend or a holiday; a
  make-up working day counts as a working day). Only ``next_working_day`` is passed in: the
  first working day on or after a day ``d`` is ``next_working_day(d - 1 day)``.

Follow-up:

- An agreement's follow-up visit is due ``followup_days`` working days after its performance
  date (at least one: the visit checks a date that has passed).

Repeat complainants:

- A party is a repeat complainant when at least ``threshold`` of their complaints (one date per
  dispute or incident) fall within the last ``months`` months: from the same day ``months``
  earlier (clamped to the month's end) to ``today``, both included. Dates after ``today`` do
  not count. A threshold of 0 turns the flag off.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

AddWorkingDays = Callable[[date, int], date]
NextWorkingDay = Callable[[date], date]

MAX_POLICE_SESSIONS = 2
LOWEST_TIER, HIGHEST_TIER = 1, 3

# Which tier each risk flag asks for (the names of Dispute.RISKS).
RISK_TIERS: Mapping[str, int] = {
    "risk_violence": 3,
    "risk_criminal": 3,
    "risk_group": 3,
    "risk_petitions": 2,
    "risk_vulnerable": 2,
}


RISK_LABELS: Mapping[str, str | Promise] = {
    "risk_violence": gettext_lazy("Risk of violence"),
    "risk_criminal": gettext_lazy("Likely to turn criminal"),
    "risk_group": gettext_lazy("Group dispute"),
    "risk_petitions": gettext_lazy("Repeated petitions"),
    "risk_vulnerable": gettext_lazy("A vulnerable party"),
}


@dataclass(frozen=True)
class Thresholds:
    """A bureau's triage thresholds (built from ``DisputeSettings`` by the caller)."""

    tier2_people: int = 5
    tier3_people: int = 20
    tier2_amount: int = 10000
    tier3_amount: int = 100000
    repeat_complaints: int = 3
    tier3_departments: int = 2


@dataclass(frozen=True)
class Facts:
    """What triage looks at."""

    people_involved: int
    amount: Decimal | None
    risks: frozenset[str]  # a subset of Dispute.RISKS
    complaints: int = 1  # the most complaints any party made within the window (this one too)
    departments: int = 1


@dataclass(frozen=True)
class Reason:
    """One rule that applied: its code, the tier it asks for, and what it saw."""

    code: str
    tier: int
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """As stored in ``Dispute.tier_reasons`` and ``TierChange.reasons`` (JSON)."""
        return {"code": self.code, "tier": self.tier, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        params = data.get("params") or {}
        tier = data.get("tier")
        return cls(
            code=str(data.get("code", "")),
            tier=tier if isinstance(tier, int) else LOWEST_TIER,
            params=dict(params) if isinstance(params, Mapping) else {},
        )


@dataclass(frozen=True)
class Triage:
    tier: int
    reasons: tuple[Reason, ...]


def _on(threshold: int, value: int | Decimal) -> bool:
    """Whether a threshold rule applies (a threshold of 0 or less turns the rule off)."""
    return threshold > 0 and value >= threshold


def _amount_text(amount: Decimal) -> str:
    """An amount as a reason keeps it: whole yuan without decimals, else two decimals."""
    whole = amount.to_integral_value()
    return str(int(whole)) if amount == whole else str(amount.quantize(Decimal("0.01")))


def triage(facts: Facts, thresholds: Thresholds) -> Triage:
    """The tier of a dispute and every reason for it (see the module's decisions)."""
    t = thresholds
    reasons: list[Reason] = []
    people = facts.people_involved
    if _on(t.tier3_people, people):
        reasons.append(Reason("people_many", 3, {"threshold": t.tier3_people, "value": people}))
    elif _on(t.tier2_people, people):
        reasons.append(Reason("people", 2, {"threshold": t.tier2_people, "value": people}))
    if facts.amount is not None:
        value = _amount_text(facts.amount)
        if _on(t.tier3_amount, facts.amount):
            reasons.append(Reason("amount_large", 3, {"threshold": t.tier3_amount, "value": value}))
        elif _on(t.tier2_amount, facts.amount):
            reasons.append(Reason("amount", 2, {"threshold": t.tier2_amount, "value": value}))
    for risk, tier in RISK_TIERS.items():  # in the order of Dispute.RISKS
        if risk in facts.risks:
            reasons.append(Reason(risk, tier, {}))
    if _on(t.repeat_complaints, facts.complaints):
        reasons.append(
            Reason("repeat", 2, {"threshold": t.repeat_complaints, "value": facts.complaints})
        )
    if _on(t.tier3_departments, facts.departments):
        reasons.append(
            Reason("departments", 3, {"threshold": t.tier3_departments, "value": facts.departments})
        )
    if not reasons:
        reasons.append(Reason("general", LOWEST_TIER, {}))
    return Triage(max(r.tier for r in reasons), tuple(reasons))


def describe(reason: Reason | Mapping[str, Any]) -> str:
    """The reason as a sentence in the active language: "7 people involved (5 or more) →
    tier 2"."""
    r = reason if isinstance(reason, Reason) else Reason.from_dict(reason)
    p = r.params
    value, threshold = p.get("value", ""), p.get("threshold", "")
    count = value if isinstance(value, int) else 0
    named = {"value": value, "threshold": threshold, "tier": r.tier}
    if r.code == "general":
        text = _("No rule for a higher tier applies → tier %(tier)s")
    elif r.code in ("people", "people_many"):
        text = ngettext(
            "%(value)s person involved (%(threshold)s or more) → tier %(tier)s",
            "%(value)s people involved (%(threshold)s or more) → tier %(tier)s",
            count,
        )
    elif r.code in ("amount", "amount_large"):
        text = _("%(value)s yuan at stake (%(threshold)s or more) → tier %(tier)s")
    elif r.code == "repeat":
        text = ngettext(
            "A party has complained %(value)s time recently (%(threshold)s or more) → "
            "tier %(tier)s",
            "A party has complained %(value)s times recently (%(threshold)s or more) → "
            "tier %(tier)s",
            count,
        )
    elif r.code == "departments":
        text = ngettext(
            "%(value)s department involved (%(threshold)s or more) → tier %(tier)s",
            "%(value)s departments involved (%(threshold)s or more) → tier %(tier)s",
            count,
        )
    elif r.code in RISK_LABELS:
        text = _("%(risk)s → tier %(tier)s")
        named["risk"] = str(RISK_LABELS[r.code])
    elif r.code == "override":
        text = _("Set by an officer: %(reason)s → tier %(tier)s")
        named["reason"] = p.get("reason", "")
    else:  # a code of a later version: still readable
        text = _("%(code)s → tier %(tier)s")
        named["code"] = r.code
    return text % named


# ── police mediation (治安调解) ───────────────────────────────────────────────────────────────

POLICE_EXCLUSIONS: tuple[str, ...] = (
    "hired_assault",
    "group_fight",
    "picking_quarrels",
    "repeat_offender",
    "unwilling",
    "reoffended_during",
    "cannot_attend",
    "other_unsuitable",
)
# The wording of 公安机关治安调解工作规范 (the Chinese is in the catalogue).
EXCLUSION_LABELS: Mapping[str, str | Promise] = {
    "hired_assault": gettext_lazy("Hiring someone to injure another"),
    "group_fight": gettext_lazy("A gang fight"),
    "picking_quarrels": gettext_lazy("Picking quarrels and provoking trouble"),
    "repeat_offender": gettext_lazy("Repeated violations of public-order administration"),
    "unwilling": gettext_lazy("A party has clearly said they do not want mediation"),
    "reoffended_during": gettext_lazy(
        "A party violated public-order administration against the other during mediation"
    ),
    "cannot_attend": gettext_lazy("The offender cannot take part in the mediation in person"),
    "other_unsuitable": gettext_lazy("Otherwise unsuitable for mediation"),
}


def exclusion_label(code: str) -> str:
    """An exclusion's label in the active language (the code itself when unknown)."""
    label = EXCLUSION_LABELS.get(code)
    return code if label is None else str(label)


def police_refusals(exclusions: Collection[str]) -> list[str]:
    """Why police mediation is refused, one message per exclusion given (in the order of the
    rules; an unknown code is a message too); empty when it is allowed."""
    messages = [
        _("Police mediation is excluded: %(label)s.") % {"label": exclusion_label(code)}
        for code in POLICE_EXCLUSIONS
        if code in exclusions
    ]
    messages += [
        _("“%(code)s” is not one of the exclusions of police mediation.") % {"code": code}
        for code in sorted(str(c) for c in exclusions if c not in EXCLUSION_LABELS)
    ]
    return messages


_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
GUARDIAN_AGE = 16


def age_on(id_number: str, on: date) -> int | None:
    """The age on ``on`` of the holder of an 18-digit ID number (GB 11643: the birth date is
    digits 7–14, YYYYMMDD), or None when it cannot be read (wrong shape, no such date, born
    after ``on``). The check digit is not verified here: only the birth date is read."""
    if not isinstance(id_number, str):
        return None
    text = id_number.strip().upper()
    if not _ID_NUMBER.fullmatch(text):
        return None
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None
    if born > on:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def needs_guardian(age: int | None) -> bool:
    """A party under 16 takes part in police mediation with a guardian."""
    return age is not None and age < GUARDIAN_AGE


# ── deadlines ───────────────────────────────────────────────────────────────────────────────


def police_deadline(accepted_on: date, days: int, add_working_days: AddWorkingDays) -> date:
    """Police mediation is done within ``days`` working days of acceptance (at least one)."""
    return add_working_days(accepted_on, max(1, days))


def police_second_deadline(
    first_session_on: date, days: int, add_working_days: AddWorkingDays
) -> date:
    """The last day of the one further session: ``days`` working days after the first."""
    return add_working_days(first_session_on, max(1, days))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (earlier when negative), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the month's end (May 31 − 3 → Feb 28)."""
    return add_months(day, -months)


def people_deadline(accepted_on: date, months: int, next_working_day: NextWorkingDay) -> date:
    """People's mediation is closed within ``months`` months of acceptance: that day (clamped
    to the month's end), or the first working day after it when it is not one."""
    due = add_months(accepted_on, max(0, months))
    return next_working_day(due - timedelta(days=1))


def followup_due(perform_by: date, days: int, add_working_days: AddWorkingDays) -> date:
    """The follow-up visit of an agreement: ``days`` working days after its performance date
    (at least one)."""
    return add_working_days(perform_by, max(1, days))


def is_repeat(complaint_days: Collection[date], today: date, months: int, threshold: int) -> bool:
    """Whether ``threshold`` or more complaints fall within the last ``months`` months (from
    ``months_before(today, months)`` to ``today``, both included)."""
    if threshold <= 0:
        return False
    since = months_before(today, months)
    return sum(1 for day in complaint_days if since <= day <= today) >= threshold
