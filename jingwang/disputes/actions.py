"""Every change to a dispute and to the mediation bodies; each writes its audit event in the same
transaction, with the dispute as the event's subject (so a dispute's timeline is one).

Registering (``register_dispute``: the phone form, the desk, an incident, the API), editing
(``update_dispute``), the tier (``override_tier``, ``change_tier``), the members called
(``call_member``, ``set_lead``), mediation (``choose_track``, ``extend_mediation``,
``record_session``), the outcome (``record_agreement``, ``record_followup``, ``refer_dispute``,
``withdraw_dispute``) and the rosters (``ensure_bodies``, ``add_member``, ``end_membership``).

A refusal is an ``InvalidDispute`` naming the field (parties as ``parties.<i>.<field>``), a
``Refused`` (the dispute's state does not allow the step: the message says why) or a
``StaleEdit`` (someone else saved the dispute since it was opened: nothing was written). Every
versioned step locks the dispute row, checks its version and adds one.

Numbers: a dispute is ``<station code>-<year>-<4-digit seq>``, per station and year of
registration. The next one is computed inside the transaction from the highest of the year;
two registrations at once may compute the same one: the unique constraint refuses the second,
which takes the next number (a savepoint, a few tries). An agreement is
``<dispute number>-X<n>``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.accounts.roles import GRID_ROLES
from jingwang.audit.actions import record
from jingwang.core import workdays
from jingwang.core.config import settings_for
from jingwang.core.personal import ADDRESS, ID_NUMBER, MESSAGES, NORMALISE, PHONE, problem
from jingwang.disputes import rules
from jingwang.disputes.models import (
    Agreement,
    Body,
    Call,
    Category,
    Dispute,
    DisputeSettings,
    FollowUp,
    Member,
    Party,
    Referral,
    Session,
    Tier,
    TierChange,
)
from jingwang.territory import placement
from jingwang.territory.models import Grid, Station

# A time "now" on a phone or another server may run a little ahead of ours.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(480))
NUMBER_TRIES = 10
MAX_AMOUNT = Decimal("999999999999.99")
MAX_PEOPLE = 1_000_000
MAX_DEPARTMENTS = 50
MAX_COPIES = 20

# The names of the three bodies, as the source article calls them (pages show Tier's labels).
BODY_NAMES = {1: "警民联调工作站", 2: "警民和谐工作队", 3: "矛盾纠纷调解室"}


class InvalidDispute(Exception):
    """Input refused, naming the field at fault (a form field, an API field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


class Refused(InvalidDispute):
    """A step the dispute's state (or the actor's part in it) does not allow."""


class StaleEdit(Exception):
    """Someone else saved this dispute since it was opened: nothing was written."""

    def __str__(self) -> str:
        return _(
            "Someone else changed this dispute while you were working on it. "
            "Reload the page to see their changes, then make yours again."
        )


@dataclass
class PartyInput:
    role: str
    name: str
    kind: str = "person"
    id_number: str = ""
    phone: str = ""
    age: int | None = None
    guardian_name: str = ""
    guardian_phone: str = ""


# ---------------------------------------------------------------------------------------------
# Checks


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidDispute(field, _("This field is required."))
    if len(text) > limit:
        raise InvalidDispute(
            field,
            _("At most %(limit)s characters are allowed (this has %(length)s).")
            % {"limit": limit, "length": len(text)},
        )
    if "\x00" in text:
        raise InvalidDispute(field, _("Text may not contain the NUL character (U+0000)."))
    return text


def _personal(kind: str, value: Any, field: str) -> str:
    text = NORMALISE[kind]("" if value is None else str(value))
    code = problem(kind, text) if text else None
    if code:
        raise InvalidDispute(field, str(MESSAGES[(kind, code)]))
    return text


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidDispute(field, _("This is not a whole number."))
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise InvalidDispute(field, _("This is not a whole number.")) from None
    if not low <= number <= high:
        raise InvalidDispute(
            field,
            _("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high},
        )
    return number


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidDispute("amount", _("This is not an amount of money."))
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidDispute("amount", _("This is not an amount of money.")) from None
    if not amount.is_finite():
        raise InvalidDispute("amount", _("This is not an amount of money."))
    if amount < 0:
        raise InvalidDispute("amount", _("The amount at stake cannot be negative."))
    if amount > MAX_AMOUNT:
        raise InvalidDispute("amount", _("This amount is too large: check the number."))
    return amount.quantize(Decimal("0.01"))


def _aware(value: Any, field: str, *, required: bool = True) -> datetime | None:
    if value is None or value == "":
        if required:
            raise InvalidDispute(field, _("This field is required."))
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidDispute(field, _("This is not a date and time.")) from None
    if not isinstance(value, datetime):
        raise InvalidDispute(field, _("This is not a date and time."))
    if value.tzinfo is None:
        if value.year < 1900:
            raise InvalidDispute(field, _("This time is before 2000: check the year."))
        value = timezone.make_aware(value)
    try:
        if value < EARLIEST:
            raise InvalidDispute(field, _("This time is before 2000: check the year."))
    except OverflowError:
        raise InvalidDispute(field, _("This time is before 2000: check the year.")) from None
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise InvalidDispute(field, _("This time is in the future: check the date and time."))
    return value


def _date(value: Any, field: str, *, required: bool = True) -> date | None:
    if value is None or value == "":
        if required:
            raise InvalidDispute(field, _("This field is required."))
        return None
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidDispute(field, _("This is not a date.")) from None
    if not isinstance(value, date):
        raise InvalidDispute(field, _("This is not a date."))
    if value.year < 2000 or value.year > 2100:
        raise InvalidDispute(field, _("This date is not between 2000 and 2100: check the year."))
    return value


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _choice(value: Any, field: str, values: Collection[str], message: str) -> str:
    if not isinstance(value, str) or value not in values:
        raise InvalidDispute(field, message)
    return value


def _category(station: Station, category: Any) -> Category:
    if isinstance(category, str) and category:
        from jingwang.disputes.queries import categories_for

        found = categories_for(station).filter(code=category).first()
        if found is None:
            raise InvalidDispute("category", _("Choose a category."))
        category = found
    if not isinstance(category, Category):
        raise InvalidDispute("category", _("Choose a category."))
    if category.bureau_id != station.bureau_id:
        raise InvalidDispute("category", _("This category is not one of this bureau's."))
    if not category.is_active:
        raise InvalidDispute("category", _("This category is no longer in use: choose another."))
    return category


def _risks(risks: Any) -> frozenset[str]:
    if risks is None:
        return frozenset()
    if isinstance(risks, str) or not isinstance(risks, Collection):
        raise InvalidDispute("risks", _("Choose risk flags from the list."))
    found = frozenset(str(r) for r in risks)
    if not found <= set(Dispute.RISKS):
        raise InvalidDispute("risks", _("Choose risk flags from the list."))
    return found


def _point(lon: Any, lat: Any, coords: str) -> tuple[float | None, float | None]:
    from jingwang.incidents.actions import InvalidIncident, point

    try:
        return point(lon, lat, coords or "wgs84")
    except InvalidIncident as exc:
        raise InvalidDispute("coords" if exc.field == "crs" else exc.field, exc.message) from None


def _party(index: int, given: Any) -> Party:
    def field(name: str) -> str:
        return f"parties.{index}.{name}"

    if isinstance(given, dict):
        try:
            given = PartyInput(**given)
        except TypeError:
            raise InvalidDispute(f"parties.{index}", _("This party is not complete.")) from None
    if not isinstance(given, PartyInput):
        raise InvalidDispute(f"parties.{index}", _("This party is not complete."))
    kind = _choice(
        given.kind, field("kind"), Party.Kind.values, _("Choose a person or an organisation.")
    )
    party = Party(
        kind=kind,
        role=_choice(given.role, field("role"), Party.Role.values, _("Choose the party's role.")),
        name=_text(given.name, field("name"), 80, required=True),
        guardian_name=_text(given.guardian_name, field("guardian_name"), 50),
        order=index,
    )
    if given.age is not None and given.age != "":
        if kind != Party.Kind.PERSON:
            raise InvalidDispute(field("age"), _("Only a person has an age."))
        party.age = _int(given.age, field("age"), 0, 150)
    id_number = _personal(ID_NUMBER, given.id_number, field("id_number"))
    if id_number and kind != Party.Kind.PERSON:
        raise InvalidDispute(
            field("id_number"), _("An organisation has no ID number: give a contact phone.")
        )
    party.id_number = id_number
    party.phone = _personal(PHONE, given.phone, field("phone"))
    party.guardian_phone = _personal(PHONE, given.guardian_phone, field("guardian_phone"))
    return party


def _parties(given: Any) -> list[Party]:
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        raise InvalidDispute("parties", _("Give at least one party."))
    if not given:
        raise InvalidDispute("parties", _("Give at least one party."))
    if len(given) > 200:
        raise InvalidDispute("parties", _("At most 200 parties can be given."))
    return [_party(i, p) for i, p in enumerate(given)]


def _people_involved(value: Any, parties: list[Party]) -> int:
    persons = sum(1 for p in parties if p.kind == Party.Kind.PERSON)
    if value is None or value == "":
        return max(2, persons)
    number = _int(value, "people_involved", 1, MAX_PEOPLE)
    if number < len(parties):
        raise InvalidDispute(
            "people_involved",
            _("At least as many people are involved as there are parties (%(count)s).")
            % {"count": len(parties)},
        )
    return number


def _settings(bureau_id: int) -> DisputeSettings:
    return settings_for(bureau_id, DisputeSettings)


def _thresholds(s: DisputeSettings) -> rules.Thresholds:
    return rules.Thresholds(
        tier2_people=s.tier2_people,
        tier3_people=s.tier3_people,
        tier2_amount=s.tier2_amount,
        tier3_amount=s.tier3_amount,
        repeat_complaints=s.repeat_complaints,
        tier3_departments=s.tier3_departments,
    )


class _Days:
    """The working-day functions the rules take, remembering whether a count was an estimate
    (a year not in the calendar): the dispute's ``deadline_uncertain``."""

    def __init__(self) -> None:
        self.uncertain = False

    def add(self, day: date, n: int) -> date:
        found = workdays.add_working_days(day, n)
        self.uncertain |= found.uncertain
        return found.on

    def next(self, day: date) -> date:
        found = workdays.next_working_day(day)
        self.uncertain |= found.uncertain
        return found.on


def _grid_code(grid_id: int | None) -> str | None:
    if grid_id is None:
        return None
    return Grid.objects.filter(pk=grid_id).values_list("code", flat=True).first()


def _locked(dispute: Dispute, version: Any) -> Dispute:
    current = Dispute.objects.select_for_update().select_related("station").get(pk=dispute.pk)
    if isinstance(version, bool) or not isinstance(version, int) or current.version != version:
        raise StaleEdit()
    return current


def _open(dispute: Dispute) -> None:
    if dispute.status != Dispute.Status.OPEN:
        raise Refused(
            "status",
            _("This dispute is %(status)s: this step is only for a dispute being mediated.")
            % {"status": dispute.get_status_display()},
        )


def _not_closed(dispute: Dispute) -> None:
    if dispute.is_closed:
        raise Refused(
            "status",
            _("This dispute is closed (%(status)s): it can no longer be changed.")
            % {"status": dispute.get_status_display()},
        )


def _mediating(actor: Any, dispute: Dispute) -> None:
    """Grid workers mediate general disputes only: tier 1, the workstation's."""
    if getattr(actor, "role", None) in GRID_ROLES and dispute.tier != Tier.WORKSTATION:
        raise Refused(
            "tier",
            _(
                "This dispute is in tier %(tier)s: grid workers mediate tier-1 disputes only. "
                "The members of its body record its mediation."
            )
            % {"tier": dispute.tier},
        )


def _save(current: Dispute, fields: list[str]) -> None:
    current.version += 1
    current.save(update_fields=[*dict.fromkeys(fields), "version"])


def _event(actor: Any, action: str, current: Dispute, obj: Any = None, **detail: Any) -> None:
    record(
        actor,
        action,
        obj if obj is not None else current,
        station_id=current.station_id,
        subject=current,
        detail={"number": current.number, **detail},
    )


# ---------------------------------------------------------------------------------------------
# Registering


def _next_number(station: Station, year: int) -> str:
    prefix = f"{station.code}-{year}-"
    rows = Dispute.objects.filter(station=station, number__startswith=prefix)
    last = (
        rows.annotate(size=Length("number"))
        .order_by("-size", "-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = 0
    if last is not None:
        tail = last[len(prefix) :]
        seq = int(tail) if tail.isdigit() else rows.count()
    return f"{prefix}{seq + 1:04d}"


def _hashes(parties: Sequence[Party]) -> list[tuple[str, str]]:
    return [(p.id_number_hash, p.phone_hash) for p in parties if p.id_number_hash or p.phone_hash]


def _complaints(
    station: Station,
    parties: Sequence[Party],
    s: DisputeSettings,
    *,
    today: date,
    exclude_dispute: int | None = None,
    exclude_incident: int | None = None,
) -> int:
    """The most complaints any party made within the window, this one included."""
    from jingwang.disputes.queries import complaints_by

    since = rules.months_before(today, s.repeat_months)
    most = 0
    for id_hash, phone_hash in _hashes(parties):
        most = max(
            most,
            complaints_by(
                station,
                id_hashes=[id_hash] if id_hash else [],
                phone_hashes=[phone_hash] if phone_hash else [],
                since=since,
                exclude_dispute=exclude_dispute,
                exclude_incident=exclude_incident,
            ),
        )
    return most + 1


def _triage(dispute: Dispute, parties: Sequence[Party], s: DisputeSettings) -> rules.Triage:
    today = _local_day(dispute.registered_at)
    complaints = _complaints(
        dispute.station,
        parties,
        s,
        today=today,
        exclude_dispute=dispute.pk,
        exclude_incident=dispute.incident_id,
    )
    facts = rules.Facts(
        people_involved=dispute.people_involved,
        amount=dispute.amount,
        risks=frozenset(r for r in Dispute.RISKS if getattr(dispute, r)),
        complaints=complaints,
        departments=dispute.departments,
    )
    return rules.triage(facts, _thresholds(s))


def register_dispute(
    actor: Any,
    *,
    station: Station,
    category: Any,
    source: str,
    facts: str,
    parties: Sequence[PartyInput],
    amount: Any = None,
    people_involved: Any = None,
    departments: Any = 1,
    address: str = "",
    lon: Any = None,
    lat: Any = None,
    coords: str = "wgs84",
    risks: Collection[str] = (),
    incident: Any = None,
    registered_at: Any = None,
) -> Dispute:
    """Register a dispute with its parties, number it, place it in its grid and triage it.

    Raises InvalidDispute naming the field. Nothing is written unless everything is."""
    if not isinstance(station, Station):
        raise InvalidDispute("station", _("Choose a station."))
    if incident is not None:
        from jingwang.incidents.models import Incident

        if not isinstance(incident, Incident) or incident.station_id != station.pk:
            raise InvalidDispute("incident", _("Choose an incident of this station."))
        source = Dispute.Source.INCIDENT
    source = _choice(source, "source", Dispute.Source.values, _("Choose a source."))
    chosen = _category(station, category)
    text = _text(facts, "facts", 4000, required=True)
    rows = _parties(parties)
    flags = _risks(risks)
    wlon, wlat = _point(lon, lat, coords)
    dispute = Dispute(
        station=station,
        source=source,
        category=chosen,
        facts=text,
        amount=_amount(amount),
        people_involved=_people_involved(people_involved, rows),
        departments=_int(
            departments if departments not in (None, "") else 1, "departments", 1, MAX_DEPARTMENTS
        ),
        lon=wlon,
        lat=wlat,
        incident=incident,
        registered_at=_aware(registered_at, "registered_at", required=False) or timezone.now(),
        registered_by=actor if getattr(actor, "is_authenticated", False) else None,
        **{risk: risk in flags for risk in Dispute.RISKS},
    )
    dispute.address = _personal(ADDRESS, address, "address")
    placement.place(dispute, station.pk)
    s = _settings(station.bureau_id)
    found = _triage(dispute, rows, s)
    dispute.tier = found.tier
    dispute.tier_reasons = [r.as_dict() for r in found.reasons]
    year = _local_day(dispute.registered_at).year
    with transaction.atomic():
        for attempt in range(NUMBER_TRIES):
            dispute.number = _next_number(station, year)
            try:
                with transaction.atomic():  # a savepoint: a taken number is tried again
                    dispute.save(force_insert=True)
                break
            except IntegrityError:
                dispute.pk = None
                dispute._state.adding = True
                taken = Dispute.objects.filter(station=station, number=dispute.number).exists()
                if not taken or attempt == NUMBER_TRIES - 1:
                    raise
        for party in rows:
            party.dispute = dispute
        Party.objects.bulk_create(rows)
        TierChange.objects.create(
            dispute=dispute,
            kind=TierChange.Kind.TRIAGE,
            from_tier=None,
            to_tier=found.tier,
            reasons=dispute.tier_reasons,
            actor=dispute.registered_by,
        )
        _event(
            actor,
            "register_dispute",
            dispute,
            source=source,
            category=chosen.code,
            tier=found.tier,
            parties=len(rows),
            grid=_grid_code(dispute.grid_id),
            incident=incident.pk if incident is not None else None,
        )
    return dispute


def initial_from_incident(incident: Any) -> dict[str, Any]:
    """A registration form's initial values from an incident: its facts, place and caller."""
    parties: list[dict[str, Any]] = []
    if incident.caller_name or incident.caller_phone:
        parties.append(
            {
                "role": Party.Role.APPLICANT,
                "kind": Party.Kind.PERSON,
                "name": incident.caller_name,
                "phone": incident.caller_phone.plaintext if incident.caller_phone else "",
            }
        )
    return {
        "incident": incident.pk,
        "station": incident.station_id,
        "source": Dispute.Source.INCIDENT,
        "category": "other",
        "facts": incident.summary,
        "lon": incident.lon,
        "lat": incident.lat,
        "coords": "wgs84",
        "address": incident.address.plaintext if incident.address else "",
        "parties": parties,
    }


# ---------------------------------------------------------------------------------------------
# Editing and the tier

EDITABLE = (
    "facts",
    "amount",
    "people_involved",
    "departments",
    "risks",
    "category",
    "source",
    "address",
    "lon",
    "lat",
    "coords",
    "parties",
)


def update_dispute(actor: Any, dispute: Dispute, *, version: int, **fields: Any) -> Dispute:
    """Save what changed (parties are replaced when given) and triage again, unless an officer
    set the tier. A stale ``version`` raises StaleEdit and nothing is written."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidDispute(sorted(unknown)[0], _("This field cannot be changed."))
    with transaction.atomic():
        current = _locked(dispute, version)
        _not_closed(current)
        station = current.station
        changed: list[str] = []
        shown: list[str] = []

        def put(name: str, value: Any) -> None:
            if getattr(current, name) != value:
                setattr(current, name, value)
                changed.append(name)
                shown.append(name)

        if "facts" in fields:
            put("facts", _text(fields["facts"], "facts", 4000, required=True))
        if "amount" in fields:
            put("amount", _amount(fields["amount"]))
        if "departments" in fields:
            put("departments", _int(fields["departments"], "departments", 1, MAX_DEPARTMENTS))
        if "category" in fields:
            chosen = _category(station, fields["category"])
            if chosen.pk != current.category_id:
                current.category = chosen
                changed.append("category")
                shown.append("category")
        if "source" in fields:
            put(
                "source",
                _choice(fields["source"], "source", Dispute.Source.values, _("Choose a source.")),
            )
        if "risks" in fields:
            flags = _risks(fields["risks"])
            for risk in Dispute.RISKS:
                if getattr(current, risk) != (risk in flags):
                    setattr(current, risk, risk in flags)
                    changed.append(risk)
                    if "risks" not in shown:
                        shown.append("risks")
        new_parties: list[Party] | None = None
        if "parties" in fields:
            new_parties = _parties(fields["parties"])
            shown.append("parties")
        parties = new_parties if new_parties is not None else list(current.parties.all())
        if "people_involved" in fields or new_parties is not None:
            value = fields.get("people_involved", current.people_involved)
            number = _people_involved(value, parties)
            if number != current.people_involved:
                current.people_involved = number
                changed.append("people_involved")
                shown.append("people_involved")
        if "lon" in fields or "lat" in fields:
            wlon, wlat = _point(
                fields.get("lon"), fields.get("lat"), fields.get("coords") or "wgs84"
            )
            if (wlon, wlat) != (current.lon, current.lat):
                current.lon, current.lat = wlon, wlat
                placement.place(current, current.station_id)
                changed += ["lon", "lat", "grid", "grid_at_time", "placed_by_hand"]
                shown.append("point")
        if "address" in fields:
            value = _personal(ADDRESS, fields["address"], "address")
            if value and current.address != value:
                current.address = value
                changed += ["address_encrypted", "address_hash"]
                shown.append("address")
        if new_parties is not None:
            current.parties.all().delete()
            for party in new_parties:
                party.dispute = current
            Party.objects.bulk_create(new_parties)
        if not shown:
            return current
        detail: dict[str, Any] = {"fields": sorted(set(shown))}
        if not current.tier_overridden:
            found = _triage(current, parties, _settings(station.bureau_id))
            reasons = [r.as_dict() for r in found.reasons]
            if reasons != current.tier_reasons:
                current.tier_reasons = reasons
                changed.append("tier_reasons")
            if found.tier != current.tier:
                TierChange.objects.create(
                    dispute=current,
                    kind=TierChange.Kind.TRIAGE,
                    from_tier=current.tier,
                    to_tier=found.tier,
                    reasons=reasons,
                    actor=_user(actor),
                )
                detail["tier"] = {"from": current.tier, "to": found.tier}
                current.tier = found.tier
                changed.append("tier")
        _save(current, changed)
        _event(actor, "update_dispute", current, **detail)
    return current


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _tier(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidDispute("tier", _("Choose tier 1, 2 or 3."))
    try:
        tier = int(value)
    except (TypeError, ValueError):
        raise InvalidDispute("tier", _("Choose tier 1, 2 or 3.")) from None
    if tier not in Tier.values:
        raise InvalidDispute("tier", _("Choose tier 1, 2 or 3."))
    return tier


def _set_tier(
    actor: Any, dispute: Dispute, *, version: int, tier: Any, reason: Any, kind: str | None
) -> Dispute:
    to = _tier(tier)
    why = _text(reason, "reason", 1000, required=True)
    with transaction.atomic():
        current = _locked(dispute, version)
        _not_closed(current)
        if to == current.tier:
            raise Refused("tier", _("This dispute is already in tier %(tier)s.") % {"tier": to})
        if kind is None:
            kind = TierChange.Kind.ESCALATE if to > current.tier else TierChange.Kind.DEESCALATE
        reasons = [rules.Reason("override", to, {"reason": why}).as_dict()]
        TierChange.objects.create(
            dispute=current,
            kind=kind,
            from_tier=current.tier,
            to_tier=to,
            reasons=reasons,
            reason=why,
            actor=_user(actor),
        )
        before = current.tier
        current.tier, current.tier_reasons, current.tier_overridden = to, reasons, True
        fields = ["tier", "tier_reasons", "tier_overridden"]
        # The lead mediator is a member of the old tier's body: the new body names its own.
        if current.lead_id is not None:
            current.lead = None
            fields.append("lead")
        _save(current, fields)
        _event(
            actor,
            "override_tier"
            if kind == TierChange.Kind.OVERRIDE
            else "escalate_dispute"
            if kind == TierChange.Kind.ESCALATE
            else "deescalate_dispute",
            current,
            **{"from": before, "to": to, "reason": why},
        )
    return current


def override_tier(actor: Any, dispute: Dispute, *, version: int, tier: Any, reason: Any) -> Dispute:
    """An officer sets the tier by hand, with a reason; triage no longer moves it."""
    return _set_tier(
        actor, dispute, version=version, tier=tier, reason=reason, kind=TierChange.Kind.OVERRIDE
    )


def change_tier(actor: Any, dispute: Dispute, *, version: int, tier: Any, reason: Any) -> Dispute:
    """Escalate (a higher tier) or de-escalate (a lower one), with a reason; the history stays
    in the tier changes and the calls of the old body's members stay."""
    return _set_tier(actor, dispute, version=version, tier=tier, reason=reason, kind=None)


# ---------------------------------------------------------------------------------------------
# Members called, the lead


def _offered(dispute: Dispute, member: Any, field: str = "member") -> Member:
    if (
        not isinstance(member, Member)
        or member.body.station_id != dispute.station_id
        or member.body.tier != dispute.tier
        or not member.is_active
        or member.role not in Member.TIER_ROLES[dispute.tier]
    ):
        raise InvalidDispute(
            field,
            _("Choose an active member of this station's tier-%(tier)s body.")
            % {"tier": dispute.tier},
        )
    return member


def _call(actor: Any, dispute: Dispute, member: Member) -> tuple[Call, bool]:
    return Call.objects.get_or_create(
        dispute=dispute, member=member, defaults={"called_by": _user(actor)}
    )


def call_member(actor: Any, dispute: Dispute, member: Any) -> Call:
    """Call a member of the body of the dispute's tier: they see it from then on (an outside
    member too). Calling the same member again is no error and writes nothing."""
    with transaction.atomic():
        current = Dispute.objects.select_for_update().get(pk=dispute.pk)
        _not_closed(current)
        chosen = _offered(current, member)
        call, created = _call(actor, current, chosen)
        if created:
            _event(
                actor,
                "call_member",
                current,
                call,
                member=chosen.pk,
                person=chosen.person_id,
                role=chosen.role,
            )
    return call


def set_lead(actor: Any, dispute: Dispute, *, version: int, member: Any) -> Dispute:
    """Name the lead mediator among the members of the dispute's body (they are called too)."""
    with transaction.atomic():
        current = _locked(dispute, version)
        _not_closed(current)
        chosen = _offered(current, member)
        _call(actor, current, chosen)
        current.lead = chosen
        _save(current, ["lead"])
        _event(actor, "set_lead_mediator", current, member=chosen.pk, person=chosen.person_id)
    return current


# ---------------------------------------------------------------------------------------------
# The legal track and its deadline


def _exclusions(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, Collection):
        raise InvalidDispute("exclusions", _("Choose exclusions from the list."))
    return [str(v) for v in values]


def _track_deadline(track: str, start: date, s: DisputeSettings) -> tuple[date, bool]:
    days = _Days()
    if track == Dispute.Track.POLICE:
        due = rules.police_deadline(start, s.police_days, days.add)
    else:
        due = rules.people_deadline(start, s.people_months, days.next)
    return due, days.uncertain


def choose_track(
    actor: Any,
    dispute: Dispute,
    *,
    version: int,
    track: Any,
    exclusions: Collection[str] = (),
    accepted_on: Any = None,
) -> Dispute:
    """Choose police mediation (治安调解: refused when an exclusion applies; a party under 16
    needs a guardian) or people's mediation (人民调解); the deadline follows from the track."""
    chosen = _choice(
        track,
        "track",
        (Dispute.Track.POLICE, Dispute.Track.PEOPLE),
        _("Choose police mediation or people's mediation."),
    )
    excluded = _exclusions(exclusions)
    with transaction.atomic():
        current = _locked(dispute, version)
        _open(current)
        _mediating(actor, current)
        if current.track and current.track != chosen and current.sessions.exists():
            raise Refused(
                "track",
                _("A session has been recorded: the legal track can no longer be changed."),
            )
        start = _date(accepted_on, "accepted_on", required=False) or timezone.localdate()
        if start > timezone.localdate():
            raise InvalidDispute("accepted_on", _("This date is in the future."))
        if start < _local_day(current.registered_at):
            raise InvalidDispute(
                "accepted_on", _("Mediation cannot be accepted before the dispute was registered.")
            )
        if chosen == Dispute.Track.POLICE:
            refusals = rules.police_refusals(excluded)
            if refusals:
                raise Refused("exclusions", " ".join(refusals))
            for index, party in enumerate(current.parties.all()):
                if party.kind != Party.Kind.PERSON or party.guardian_name:
                    continue
                age = party.age
                if age is None and party.id_number:
                    age = rules.age_on(party.id_number.plaintext, start)
                if rules.needs_guardian(age):
                    raise Refused(
                        f"parties.{index}.guardian_name",
                        _(
                            "%(name)s is under 16: police mediation needs their guardian. "
                            "Give the guardian's name first."
                        )
                        % {"name": party.name},
                    )
        due, uncertain = _track_deadline(chosen, start, _settings(current.station.bureau_id))
        current.track, current.track_started = chosen, start
        current.deadline, current.deadline_uncertain = due, uncertain
        current.extended = False
        _save(current, ["track", "track_started", "deadline", "deadline_uncertain", "extended"])
        _event(
            actor,
            "choose_track",
            current,
            track=chosen,
            accepted_on=start,
            deadline=due,
            exclusions=excluded,
        )
    return current


def extend_mediation(actor: Any, dispute: Dispute, *, version: int, reason: Any) -> Dispute:
    """People's mediation, once, both parties agreeing: the deadline moves by another period."""
    why = _text(reason, "reason", 1000, required=True)
    with transaction.atomic():
        current = _locked(dispute, version)
        _open(current)
        if current.track != Dispute.Track.PEOPLE:
            raise Refused("track", _("Only a people's mediation can be extended."))
        if current.extended:
            raise Refused("status", _("This mediation has already been extended once."))
        s = _settings(current.station.bureau_id)
        days = _Days()
        start = current.deadline or current.track_started or timezone.localdate()
        current.deadline = rules.people_deadline(start, s.people_months, days.next)
        current.deadline_uncertain = days.uncertain
        current.extended = True
        _save(current, ["deadline", "deadline_uncertain", "extended"])
        _event(actor, "extend_mediation", current, deadline=current.deadline, reason=why)
    return current


# ---------------------------------------------------------------------------------------------
# Sessions


def _participants(dispute: Dispute, given: Any) -> list[Member]:
    if given is None:
        return []
    if isinstance(given, str) or not isinstance(given, Collection):
        raise InvalidDispute("participants", _("Choose members of this station's bodies."))
    found: list[Member] = []
    for member in given:
        if (
            not isinstance(member, Member)
            or member.body.station_id != dispute.station_id
            or not member.is_active
        ):
            raise InvalidDispute("participants", _("Choose members of this station's bodies."))
        if member not in found:
            found.append(member)
    return found


def record_session(
    actor: Any,
    dispute: Dispute,
    *,
    version: int,
    held_at: Any,
    result: Any,
    place: str = "",
    participants: Collection[Member] = (),
    others: str = "",
    said: str = "",
    offered: str = "",
) -> Session:
    """Record a mediation session. Police mediation: at most two sessions, the second within
    the further working days of the first (after a first session without agreement the
    deadline moves there)."""
    moment = _aware(held_at, "held_at")
    assert moment is not None
    outcome = _choice(result, "result", Session.Result.values, _("Choose the session's result."))
    texts = {
        "place": _text(place, "place", 100),
        "others": _text(others, "others", 500),
        "said": _text(said, "said", 4000),
        "offered": _text(offered, "offered", 4000),
    }
    with transaction.atomic():
        current = _locked(dispute, version)
        _open(current)
        _mediating(actor, current)
        if not current.track:
            raise Refused("track", _("Choose the legal track before recording a session."))
        if moment < current.registered_at - FUTURE_TOLERANCE:
            raise InvalidDispute(
                "held_at", _("A session cannot be held before the dispute was registered.")
            )
        members = _participants(current, participants)
        s = _settings(current.station.bureau_id)
        earlier = list(current.sessions.order_by("held_at", "id"))
        fields: list[str] = []
        if current.track == Dispute.Track.POLICE:
            if len(earlier) >= rules.MAX_POLICE_SESSIONS:
                raise Refused(
                    "held_at",
                    _(
                        "Police mediation allows at most %(count)s sessions: refer the dispute "
                        "or change the way it is handled."
                    )
                    % {"count": rules.MAX_POLICE_SESSIONS},
                )
            if earlier:
                first = _local_day(earlier[0].held_at)
                days = _Days()
                last_day = rules.police_second_deadline(first, s.police_second_days, days.add)
                if _local_day(moment) > last_day:
                    raise Refused(
                        "held_at",
                        _(
                            "Police mediation allows a further session only within "
                            "%(days)s working days of the first (by %(day)s)."
                        )
                        % {"days": s.police_second_days, "day": last_day.isoformat()},
                    )
            elif outcome != Session.Result.AGREED:
                days = _Days()
                current.deadline = rules.police_second_deadline(
                    _local_day(moment), s.police_second_days, days.add
                )
                current.deadline_uncertain = days.uncertain
                fields += ["deadline", "deadline_uncertain"]
        session = Session.objects.create(
            dispute=current,
            tier=current.tier,
            held_at=moment,
            result=outcome,
            created_by=_user(actor),
            **texts,
        )
        for member in members:
            _call(actor, current, member)
        session.participants.set(members)
        _save(current, fields)
        _event(
            actor,
            "record_session",
            current,
            session,
            held_at=moment,
            result=outcome,
            tier=current.tier,
            participants=[m.pk for m in members],
        )
    return session


# ---------------------------------------------------------------------------------------------
# The outcome: agreement, follow-up, referral, withdrawal


def _signatories(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [line for line in value.splitlines()]
    if not isinstance(value, Collection):
        raise InvalidDispute("signatories", _("Give the names of the parties who signed."))
    names = [_text(name, "signatories", 80) for name in value]
    return [name for name in names if name]


def record_agreement(
    actor: Any,
    dispute: Dispute,
    *,
    version: int,
    form: Any,
    facts: Any,
    terms: Any,
    performance: Any,
    perform_by: Any,
    signed_on: Any,
    signatories: Sequence[str],
    copies: Any = 3,
) -> Agreement:
    """Record the agreement reached in a session (written: signed by at least two parties; or
    oral); the dispute is then "agreement reached" and its follow-up falls due."""
    kind = _choice(form, "form", Agreement.Form.values, _("Choose a written or an oral agreement."))
    values = {
        "facts": _text(facts, "facts", 4000, required=True),
        "terms": _text(terms, "terms", 4000, required=True),
        "performance": _text(performance, "performance", 2000, required=True),
    }
    signed = _date(signed_on, "signed_on")
    by = _date(perform_by, "perform_by")
    assert signed is not None and by is not None
    if signed > timezone.localdate():
        raise InvalidDispute("signed_on", _("This date is in the future."))
    if by < signed:
        raise InvalidDispute("perform_by", _("The agreement cannot be due before it was signed."))
    names = _signatories(signatories)
    count = _int(copies, "copies", 0, MAX_COPIES)
    if kind == Agreement.Form.WRITTEN:
        if len(names) < 2:
            raise InvalidDispute(
                "signatories", _("A written agreement is signed by at least two parties.")
            )
        if count < 1:
            raise InvalidDispute(
                "copies",
                _("A written agreement has copies: one for each party and one kept."),
            )
    elif not names:
        raise InvalidDispute("signatories", _("Give the names of the parties who agreed."))
    with transaction.atomic():
        current = _locked(dispute, version)
        _open(current)
        _mediating(actor, current)
        if not current.sessions.filter(result=Session.Result.AGREED).exists():
            raise Refused(
                "status",
                _("Record the session in which the parties agreed before the agreement."),
            )
        if signed < _local_day(current.registered_at):
            raise InvalidDispute(
                "signed_on", _("An agreement cannot be signed before the dispute was registered.")
            )
        s = _settings(current.station.bureau_id)
        days = _Days()
        n = current.agreements.count() + 1
        agreement = Agreement.objects.create(
            dispute=current,
            number=f"{current.number}-X{n}",
            form=kind,
            perform_by=by,
            signed_on=signed,
            signatories=names,
            copies=count,
            followup_due=rules.followup_due(by, s.followup_days, days.add),
            created_by=_user(actor),
            **values,
        )
        current.status = Dispute.Status.AGREED
        _save(current, ["status"])
        _event(
            actor,
            "record_agreement",
            current,
            agreement,
            agreement=agreement.number,
            form=kind,
            perform_by=by,
            signed_on=signed,
        )
    return agreement


def record_followup(
    actor: Any,
    agreement: Agreement,
    *,
    version: int,
    visited_at: Any,
    method: Any,
    result: Any,
    notes: str = "",
) -> FollowUp:
    """A follow-up visit of an agreement (``version`` is the dispute's). Carried out: the
    dispute is done. Not carried out: it is open again with a new deadline. Partly: the next
    visit falls due later."""
    moment = _aware(visited_at, "visited_at")
    assert moment is not None
    how = _choice(method, "method", FollowUp.Method.values, _("Choose a visit or a phone call."))
    outcome = _choice(result, "result", FollowUp.Result.values, _("Choose the result."))
    text = _text(notes, "notes", 2000)
    with transaction.atomic():
        current = _locked(agreement.dispute, version)
        deal = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if deal.status != Agreement.Status.PENDING or current.status != Dispute.Status.AGREED:
            raise Refused(
                "status",
                _("This agreement's follow-up is concluded: %(status)s.")
                % {"status": deal.get_status_display()},
            )
        if _local_day(moment) < deal.signed_on:
            raise InvalidDispute(
                "visited_at", _("A follow-up visit cannot come before the agreement was signed.")
            )
        visit = FollowUp.objects.create(
            agreement=deal,
            visited_at=moment,
            method=how,
            result=outcome,
            notes=text,
            created_by=_user(actor),
        )
        s = _settings(current.station.bureau_id)
        fields: list[str] = []
        reopen = False
        if outcome == FollowUp.Result.PERFORMED:
            deal.status = Agreement.Status.PERFORMED
            deal.save(update_fields=["status"])
            current.status, current.closed_at = Dispute.Status.PERFORMED, timezone.now()
            fields += ["status", "closed_at"]
        elif outcome == FollowUp.Result.NOT_PERFORMED:
            deal.status = Agreement.Status.UNPERFORMED
            deal.save(update_fields=["status"])
            current.status = Dispute.Status.OPEN
            current.reopened += 1
            fields += ["status", "reopened"]
            if current.track:
                today = timezone.localdate()
                current.deadline, current.deadline_uncertain = _track_deadline(
                    current.track, today, s
                )
                current.track_started = today
                current.extended = False
                fields += ["deadline", "deadline_uncertain", "track_started", "extended"]
            reopen = True
        else:
            days = _Days()
            deal.followup_due = rules.followup_due(_local_day(moment), s.followup_days, days.add)
            deal.save(update_fields=["followup_due"])
        _save(current, fields)
        _event(
            actor,
            "record_followup",
            current,
            visit,
            agreement=deal.number,
            result=outcome,
            method=how,
        )
        if reopen:
            _event(
                actor,
                "reopen_dispute",
                current,
                agreement=deal.number,
                reopened=current.reopened,
                deadline=current.deadline,
            )
    return visit


def refer_dispute(
    actor: Any, dispute: Dispute, *, version: int, to: Any, told: Any, department: Any = ""
) -> Referral:
    """Mediation failed: the dispute goes to a court, arbitration, the letters and visits
    office or another department, and the parties are told how to go on."""
    where = _choice(to, "to", Referral.To.values, _("Choose where the dispute is referred."))
    said = _text(told, "told", 2000, required=True)
    named = _text(department, "department", 80, required=where == Referral.To.DEPARTMENT)
    with transaction.atomic():
        current = _locked(dispute, version)
        _open(current)
        referral = Referral.objects.create(
            dispute=current, to=where, department=named, told=said, created_by=_user(actor)
        )
        current.status, current.closed_at = Dispute.Status.REFERRED, timezone.now()
        _save(current, ["status", "closed_at"])
        _event(actor, "refer_dispute", current, referral, to=where, department=named)
    return referral


def withdraw_dispute(actor: Any, dispute: Dispute, *, version: int, reason: Any) -> Dispute:
    """The parties withdrew (or settled between themselves): the dispute is closed."""
    why = _text(reason, "reason", 1000, required=True)
    with transaction.atomic():
        current = _locked(dispute, version)
        _open(current)
        current.status, current.closed_at = Dispute.Status.WITHDRAWN, timezone.now()
        _save(current, ["status", "closed_at"])
        _event(actor, "withdraw_dispute", current, reason=why)
    return current


# ---------------------------------------------------------------------------------------------
# The bodies and their rosters


def ensure_bodies(station: Station) -> list[Body]:
    """The station's three bodies, one per tier, made on first use (safe when two requests
    make them at once: the constraint keeps one of each)."""
    existing = set(Body.objects.filter(station=station).values_list("tier", flat=True))
    missing = [tier for tier in Tier.values if tier not in existing]
    if missing:
        with transaction.atomic():
            Body.objects.bulk_create(
                [Body(station=station, tier=tier, name=BODY_NAMES[tier]) for tier in missing],
                ignore_conflicts=True,
            )
            record(
                None,
                "seed_mediation_bodies",
                station_id=station.pk,
                object_type="territory.station",
                object_id=str(station.pk),
                detail={"tiers": missing},
            )
    return list(Body.objects.filter(station=station).order_by("tier"))


def add_member(actor: Any, body: Body, person: Any, *, role: Any, department: Any = "") -> Member:
    """Put a person of the body's station on its roster, in a role the body's tier offers."""
    from jingwang.people.models import Person

    if not isinstance(person, Person) or person.station_id != body.station_id:
        raise InvalidDispute("person", _("Choose a person of this station."))
    if not person.is_active:
        raise InvalidDispute("person", _("This person is no longer active."))
    chosen = _choice(
        role,
        "role",
        Member.TIER_ROLES[body.tier],
        _("Choose a role this tier's body has."),
    )
    named = _text(department, "department", 80, required=chosen == Member.Role.DEPARTMENT)
    taken = _("%(name)s is already a member of this body.") % {"name": person.name}
    with transaction.atomic():
        if Member.objects.filter(body=body, person=person, is_active=True).exists():
            raise InvalidDispute("person", taken)
        try:
            with transaction.atomic():
                member = Member.objects.create(
                    body=body, person=person, role=chosen, department=named
                )
        except IntegrityError:
            raise InvalidDispute("person", taken) from None
        record(
            actor,
            "add_body_member",
            member,
            station_id=body.station_id,
            detail={"body": body.tier, "person": person.pk, "role": chosen},
        )
    return member


def end_membership(actor: Any, member: Member) -> Member:
    """Take a member off the roster (their calls and sessions stay, as history)."""
    with transaction.atomic():
        current = Member.objects.select_for_update().select_related("body").get(pk=member.pk)
        if not current.is_active:
            raise Refused("person", _("This membership has already ended."))
        current.is_active = False
        current.save(update_fields=["is_active"])
        record(
            actor,
            "end_body_membership",
            current,
            station_id=current.body.station_id,
            detail={"body": current.body.tier, "person": current.person_id, "role": current.role},
        )
    return current
