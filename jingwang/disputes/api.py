"""The disputes' API: register (with ``Idempotency-Key``), list, read, edit, and the mediation
steps a client records from the field: a session, a tier change, the legal track.

Mounted at ``/api/v1/disputes``. Parties' ID and phone numbers and the address are always
masked here. Every write goes through ``disputes.actions``; every read through the doors of
``disputes.queries`` (missing and not yours alike: 404 and a ``denied`` event).

Answers: 422 for a body the rules refuse (naming the field; a party's field as
``parties.<i>.<field>``); 409 for a stale ``version`` (field ``version``) and for a step the
dispute's state does not allow (its message says why).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, BeforeValidator, field_validator

from jingwang.accounts.idempotency import idempotent
from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.accounts.types import AuthedRequest
from jingwang.api import ERRORS, IDEMPOTENCY_KEY, PHONE_PATTERN, Text, error, no_nul
from jingwang.core.personal import ADDRESS, ID_NUMBER, PHONE, validated
from jingwang.disputes import actions, rules
from jingwang.disputes.models import Dispute, Member
from jingwang.disputes.queries import (
    access_dispute,
    categories_for,
    disputes_visible_to,
    station_members,
)
from jingwang.incidents.api import Bound, Lat, Lon, Moment
from jingwang.incidents.queries import incidents_visible_to
from jingwang.people.api import ID_NUMBER_PATTERN, NAME_PATTERN
from jingwang.territory.models import Grid
from jingwang.territory.queries import access_station, grids_visible_to

router = Router(tags=["disputes"])

MAX_ID = 2**63 - 1
# A text that must say something: not blank, no NUL.
FILLED = NAME_PATTERN
Filled = Annotated[str, AfterValidator(no_nul), Field(json_schema_extra={"pattern": FILLED})]


def _filled(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError(_("This field is required."))
    return value if value is None else value.strip()


DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _date_text(value: Any) -> Any:
    """ISO 8601 dates only (pydantic would also read a number as a Unix time)."""
    if not isinstance(value, str) or not DATE.match(value):
        raise ValueError(_("Give a date such as 2026-03-05."))
    return value


def _day(value: date) -> date:
    if not 2000 <= value.year < 2100:
        raise ValueError(_("Give a date from the year 2000 on: check the year."))
    return value


Day = Annotated[
    date,
    Field(json_schema_extra={"maxLength": 10, "pattern": DATE.pattern}),
    BeforeValidator(_date_text),
    AfterValidator(_day),
]
CategoryCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        description="a category code of the bureau's list of dispute categories (neighbours, ...)",
        json_schema_extra={"pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"},
    ),
    AfterValidator(no_nul),
]
Coords = Literal["wgs84", "gcj02"]
# The models' choices as literals: an enum would be a schema component named after its class
# (``Status``, ``Kind``, ...), which other apps' enums of the same name would overwrite.
# tests/test_api.py checks that they stay the models' values.
DisputeStatus = Literal["open", "agreed", "performed", "referred", "withdrawn"]
DisputeSource = Literal["walk_in", "grid_worker", "incident", "phone", "referral", "other"]
PartyRole = Literal["applicant", "respondent", "third_party"]
PartyKind = Literal["person", "organisation"]
SessionResult = Literal["agreed", "adjourned", "failed"]
TierNumber = Literal[1, 2, 3]
Risk = Literal["risk_violence", "risk_criminal", "risk_group", "risk_petitions", "risk_vulnerable"]
Exclusion = Literal[
    "hired_assault",
    "group_fight",
    "picking_quarrels",
    "repeat_offender",
    "unwilling",
    "reoffended_during",
    "cannot_attend",
    "other_unsuitable",
]
# Amounts in yuan; what is sent is rounded to the fen.
Amount = Annotated[float, Field(ge=0, le=999_999_999_999, allow_inf_nan=False)]


# ── answers ────────────────────────────────────────────────────────────────────────────────


class ReasonOut(Schema):
    code: str = Field(description="the rule (people, amount, risk_violence, override, ...)")
    tier: int = Field(description="the tier this rule asks for")
    sentence: str = Field(description="the reason in the user's language")


class PartyOut(Schema):
    id: int
    role: str
    kind: str
    name: str
    id_number: str = Field(description="masked (510722********1234)")
    phone: str = Field(description="masked (138****5678)")
    age: int | None
    guardian_name: str
    guardian_phone: str = Field(description="masked (138****5678)")


class SessionOut(Schema):
    id: int
    tier: int
    held_at: datetime
    result: str
    place: str
    participants: list[int] = Field(description="member ids")
    others: str
    said: str
    offered: str


class DisputeOut(Schema):
    id: int
    station_id: int
    number: str
    registered_at: datetime
    source: str
    category: str = Field(description="the category's code")
    status: str
    tier: int
    tier_overridden: bool
    tier_reasons: list[ReasonOut] = Field(description="why the dispute is in its tier")
    facts: str
    amount: float | None = Field(description="yuan")
    people_involved: int
    departments: int
    risks: list[str]
    address: str = Field(description="masked (the first third shown)")
    lon: float | None = Field(description="WGS-84")
    lat: float | None = Field(description="WGS-84")
    grid_id: int | None = Field(description="null: not placed in a grid yet")
    grid: str | None = Field(description="the grid's code")
    incident_id: int | None
    track: str = Field(description="police, people, or empty: not chosen yet")
    deadline: date | None
    overdue: bool = Field(description="open and its deadline passed")
    reopened: int
    closed_at: datetime | None
    parties: list[PartyOut]
    sessions: list[SessionOut]
    version: int


class DisputePage(Schema):
    count: int = Field(description="disputes matching the filters")
    offset: int
    limit: int
    items: list[DisputeOut]


# ── bodies ─────────────────────────────────────────────────────────────────────────────────

PHONE_TEXT = (
    "mobile number: 11 digits starting with 1, +86 allowed, spaces and hyphens ignored;"
    " empty for none"
)


class PartyIn(Schema):
    """A party. ID and phone numbers are personal data (stored encrypted, answered masked). A
    person under 16 needs a guardian before police mediation."""

    role: PartyRole
    kind: PartyKind = "person"
    name: Annotated[
        str,
        Field(min_length=1, max_length=80, json_schema_extra={"pattern": NAME_PATTERN}),
        AfterValidator(no_nul),
    ]
    id_number: str = Field(
        "",
        max_length=18,
        description="18-digit resident ID number (GB 11643: 17 digits, then a check digit or X);"
        " empty for none",
        json_schema_extra={"pattern": ID_NUMBER_PATTERN},
    )
    phone: str = Field(
        "", max_length=20, description=PHONE_TEXT, json_schema_extra={"pattern": PHONE_PATTERN}
    )
    age: int | None = Field(None, ge=0, le=150, description="when no ID number tells it")
    guardian_name: Text = Field("", max_length=50)
    guardian_phone: str = Field(
        "", max_length=20, description=PHONE_TEXT, json_schema_extra={"pattern": PHONE_PATTERN}
    )

    @field_validator("name")
    @classmethod
    def name_present(cls, value: str) -> str:
        return _filled(value) or ""

    @field_validator("id_number")
    @classmethod
    def id_valid(cls, value: str) -> str:
        return validated(ID_NUMBER, value, ascii_only=True)

    @field_validator("phone", "guardian_phone")
    @classmethod
    def phone_valid(cls, value: str) -> str:
        return validated(PHONE, value, ascii_only=True)


class Place(Schema):
    address: Text = Field("", max_length=200)

    @field_validator("address")
    @classmethod
    def address_valid(cls, value: str) -> str:
        return validated(ADDRESS, value)


PARTIES_TEXT = "at least one; people_involved may not be fewer than the parties"
RISKS_TEXT = "the risk flags that apply"


class DisputeIn(Place):
    station: Text | None = Field(
        None, min_length=1, max_length=32, description="station code or id; default: your own"
    )
    category: CategoryCode
    source: DisputeSource = "walk_in"
    facts: Filled = Field(..., min_length=1, max_length=4000)
    parties: list[PartyIn] = Field(..., min_length=1, max_length=50, description=PARTIES_TEXT)
    amount: Amount | None = Field(None, description="yuan at stake (rounded to the fen)")
    people_involved: int | None = Field(
        None, ge=1, le=1_000_000, description="default: the person parties, at least 2"
    )
    departments: int = Field(1, ge=1, le=50, description="departments involved")
    lon: Lon | None = None
    lat: Lat | None = None
    coords: Coords = Field("wgs84", description="the coordinate system of lon/lat")
    risks: list[Risk] = Field(default_factory=list, max_length=5, description=RISKS_TEXT)
    incident: int | None = Field(
        None, ge=1, le=MAX_ID, description="the id of an incident you can see, of this station"
    )
    registered_at: Moment | None = Field(
        None, description="ISO 8601; without an offset: Asia/Shanghai; default: now"
    )

    @field_validator("facts")
    @classmethod
    def facts_present(cls, value: str) -> str:
        return _filled(value) or ""


class DisputePatch(Place):
    """Send the ``version`` you read: a stale one is refused (409) and nothing changes. Fields
    left out keep their value, an empty address too; ``parties``, when sent, replace the
    parties; ``amount: null`` clears the amount; ``lon`` and ``lat`` go together."""

    version: int = Field(..., ge=1, le=2**31 - 1)
    category: CategoryCode | None = None
    facts: Filled | None = Field(None, min_length=1, max_length=4000)
    parties: list[PartyIn] | None = Field(
        None, min_length=1, max_length=50, description=PARTIES_TEXT
    )
    amount: Amount | None = None
    people_involved: int | None = Field(None, ge=1, le=1_000_000)
    departments: int | None = Field(None, ge=1, le=50)
    source: DisputeSource | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    coords: Coords = Field("wgs84", description="the coordinate system of lon/lat")
    risks: list[Risk] | None = Field(None, max_length=5, description=RISKS_TEXT)

    @field_validator("facts")
    @classmethod
    def facts_present(cls, value: str | None) -> str | None:
        return _filled(value)


class SessionIn(Schema):
    """A mediation session. Needs a legal track chosen first (else 409); police mediation
    allows at most two sessions, the second within its working days (else 409)."""

    version: int = Field(..., ge=1, le=2**31 - 1, description="the dispute's version you read")
    held_at: Moment = Field(description="ISO 8601, not in the future")
    result: SessionResult
    place: Text = Field("", max_length=100)
    participants: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list,
        max_length=50,
        description="member ids of the station's mediation bodies",
    )
    others: Text = Field("", max_length=500, description="others taking part")
    said: Text = Field("", max_length=4000, description="what was said")
    offered: Text = Field("", max_length=4000, description="what was offered")


class TierIn(Schema):
    """Escalate (a higher tier) or de-escalate (a lower one), with the reason; the history
    keeps every step. The dispute's own tier is a 409."""

    version: int = Field(..., ge=1, le=2**31 - 1, description="the dispute's version you read")
    tier: TierNumber
    reason: Filled = Field(..., min_length=1, max_length=1000)

    @field_validator("reason")
    @classmethod
    def reason_present(cls, value: str) -> str:
        return _filled(value) or ""


class TrackIn(Schema):
    """The legal track: police mediation of a public-order case (治安调解; refused, 409, when an
    exclusion applies or a party under 16 has no guardian) or people's mediation (人民调解).
    The deadline follows in working days. It may change while no session is recorded."""

    version: int = Field(..., ge=1, le=2**31 - 1, description="the dispute's version you read")
    track: Literal["police", "people"]
    exclusions: list[Exclusion] = Field(
        default_factory=list,
        max_length=8,
        description="police mediation: the exclusions that apply (any one refuses it)",
    )
    accepted_on: Day | None = Field(
        None, description="YYYY-MM-DD, not in the future; default: today"
    )


# ── helpers ────────────────────────────────────────────────────────────────────────────────


def _reasons(dispute: Dispute) -> list[dict[str, Any]]:
    out = []
    for reason in dispute.tier_reasons or []:
        if not isinstance(reason, dict):
            continue
        found = rules.Reason.from_dict(reason)
        out.append({"code": found.code, "tier": found.tier, "sentence": rules.describe(found)})
    return out


def _out(dispute: Dispute) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": dispute.id,
        "station_id": dispute.station_id,
        "number": dispute.number,
        "registered_at": dispute.registered_at,
        "source": dispute.source,
        "category": dispute.category.code,
        "status": dispute.status,
        "tier": dispute.tier,
        "tier_overridden": dispute.tier_overridden,
        "tier_reasons": _reasons(dispute),
        "facts": dispute.facts,
        "amount": None if dispute.amount is None else float(dispute.amount),
        "people_involved": dispute.people_involved,
        "departments": dispute.departments,
        "risks": [name for name in Dispute.RISKS if getattr(dispute, name)],
        "address": dispute.address.masked,
        "lon": dispute.lon,
        "lat": dispute.lat,
        "grid_id": dispute.grid_id,
        "grid": dispute.grid.code if dispute.grid_id and dispute.grid else None,
        "incident_id": dispute.incident_id,
        "track": dispute.track,
        "deadline": dispute.deadline,
        "overdue": dispute.status == Dispute.Status.OPEN
        and dispute.deadline is not None
        and dispute.deadline < today,
        "reopened": dispute.reopened,
        "closed_at": dispute.closed_at,
        "parties": [
            {
                "id": party.id,
                "role": party.role,
                "kind": party.kind,
                "name": party.name,
                "id_number": party.id_number.masked,
                "phone": party.phone.masked,
                "age": party.age,
                "guardian_name": party.guardian_name,
                "guardian_phone": party.guardian_phone.masked,
            }
            for party in dispute.parties.all()
        ],
        "sessions": [
            {
                "id": session.id,
                "tier": session.tier,
                "held_at": session.held_at,
                "result": session.result,
                "place": session.place,
                "participants": sorted(m.id for m in session.participants.all()),
                "others": session.others,
                "said": session.said,
                "offered": session.offered,
            }
            for session in dispute.sessions.all()
        ],
        "version": dispute.version,
    }


def _rows(user: Any) -> Any:
    return (
        disputes_visible_to(user)
        .select_related("category", "grid")
        .prefetch_related("parties", "sessions__participants")
    )


def _answer(user: Any, dispute: Dispute) -> dict[str, Any]:
    found = _rows(user).filter(pk=dispute.pk).first()
    # Whoever just wrote a dispute sees it (a grid worker: the ones they registered, wherever
    # they are placed); should scope ever say otherwise, the answer is still the one written.
    return _out(found if found is not None else dispute)


def _category(station: Any, code: str) -> Any:
    found = categories_for(station).filter(code=code.strip(), is_active=True).first()
    if found is None:
        raise error(
            422,
            _("There is no category with this code in the bureau's list of dispute categories."),
            field="category",
        )
    return found


def _parties(parties: list[PartyIn]) -> list[actions.PartyInput]:
    return [actions.PartyInput(**party.dict()) for party in parties]


def _amount(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _refused(exc: actions.InvalidDispute) -> Any:
    status = 409 if isinstance(exc, actions.Refused) else 422
    return error(status, exc.message, field=exc.field)


def _stale() -> Any:
    return error(
        409,
        _("Someone else changed this dispute since you read it: read it again, then retry."),
        field="version",
    )


def _point(fields: dict[str, Any]) -> None:
    if ("lon" in fields) != ("lat" in fields) or (fields.get("lon") is None) != (
        fields.get("lat") is None
    ):
        missing = "lat" if fields.get("lon") is not None else "lon"
        raise error(422, _("Give both longitude and latitude, or neither."), field=missing)


# ── the list and one dispute ───────────────────────────────────────────────────────────────

STATION = Query(None, min_length=1, max_length=64, description="station code or id")
GRID = Query(None, ge=1, le=MAX_ID, description="a grid id: it and the grids below")
CATEGORY = Query(None, description="a category code")
TIER = Query(None, ge=1, le=3, description="1, 2 or 3")
OVERDUE = Query(False, description="only open disputes whose deadline has passed")
SINCE = Query(None, description="registered at or after (ISO 8601)")
UNTIL = Query(None, description="registered before (ISO 8601)")
OFFSET = Query(0, ge=0, le=10**9)
LIMIT = Query(100, ge=1, le=500)


@router.get("", response={200: DisputePage, **ERRORS})
def disputes(
    request: AuthedRequest,
    station: Text | None = STATION,
    status: DisputeStatus | None = None,
    tier: int | None = TIER,
    category: CategoryCode | None = CATEGORY,
    grid: int | None = GRID,
    since: Bound | None = SINCE,
    until: Bound | None = UNTIL,
    overdue: bool = OVERDUE,
    offset: int = OFFSET,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """Disputes within your scope, newest first, masked."""
    require(request.user, Perm.DISPUTES_VIEW)
    rows = disputes_visible_to(request.user)
    if station:
        rows = rows.filter(station=access_station(request.user, station, perm=Perm.DISPUTES_VIEW))
    if status:
        rows = rows.filter(status=status)
    if tier:
        rows = rows.filter(tier=tier)
    if category:
        rows = rows.filter(category__code=category.strip())
    if grid:
        found = grids_visible_to(request.user).filter(id=grid).first()
        rows = rows.filter(grid_id__in=Grid.with_descendants({found.id})) if found else rows.none()
    if since:
        rows = rows.filter(registered_at__gte=since)
    if until:
        rows = rows.filter(registered_at__lt=until)
    if overdue:
        rows = rows.filter(Q(status=Dispute.Status.OPEN, deadline__lt=timezone.localdate()))
    rows = (
        rows.select_related("category", "grid")
        .prefetch_related("parties", "sessions__participants")
        .order_by("-registered_at", "-id")
    )
    return {
        "count": rows.count(),
        "offset": offset,
        "limit": limit,
        "items": [_out(d) for d in rows[offset : offset + limit]],
    }


@router.get("/{dispute_id}", response={200: DisputeOut, **ERRORS})
def dispute(request: AuthedRequest, dispute_id: int) -> dict[str, Any]:
    found = access_dispute(request.user, dispute_id)
    return _answer(request.user, found)


# ── writes ─────────────────────────────────────────────────────────────────────────────────


@router.post("", response={201: DisputeOut, **ERRORS}, openapi_extra=IDEMPOTENCY_KEY)
def create(request: AuthedRequest, payload: DisputeIn) -> Status:
    """Register a dispute: it is placed in its grid by its point and triaged into its tier (the
    answer says why). Send an Idempotency-Key header to make retries safe."""
    require(request.user, Perm.DISPUTES_RECORD)
    return idempotent(request, lambda: _create(request, payload))


def _station(request: AuthedRequest, key: str | None) -> Any:
    if key is None:
        own = getattr(request.user, "station_id", None)
        if own is None:
            raise error(422, _("Name the station: you belong to none."), field="station")
        key = str(own)
    return access_station(request.user, key, perm=Perm.DISPUTES_RECORD)


def _incident(request: AuthedRequest, station: Any, incident_id: int | None) -> Any:
    if incident_id is None:
        return None
    found = incidents_visible_to(request.user).filter(pk=incident_id, station=station).first()
    if found is None:
        raise error(
            422, _("Choose an incident of this station that you can see."), field="incident"
        )
    return found


def _create(request: AuthedRequest, payload: DisputeIn) -> Status:
    station = _station(request, payload.station)
    data = payload.dict()
    data.pop("station")
    _point(data)
    data["category"] = _category(station, payload.category)
    data["incident"] = _incident(request, station, payload.incident)
    data["parties"] = _parties(payload.parties)
    data["amount"] = _amount(payload.amount)
    if data["registered_at"] is None:
        data.pop("registered_at")
    try:
        created = actions.register_dispute(request.user, station=station, **data)
    except actions.InvalidDispute as exc:
        raise _refused(exc) from exc
    return Status(201, _answer(request.user, created))


@router.patch("/{dispute_id}", response={200: DisputeOut, **ERRORS})
def update(request: AuthedRequest, dispute_id: int, payload: DisputePatch) -> dict[str, Any]:
    """Edit a dispute's facts, parties, amount, risks, category or place; it is triaged again
    unless an officer set its tier by hand."""
    found = access_dispute(request.user, dispute_id, write=True, perm=Perm.DISPUTES_RECORD)
    fields = payload.dict(exclude_unset=True)
    version = fields.pop("version")
    for name in (
        "category",
        "facts",
        "parties",
        "people_involved",
        "departments",
        "risks",
        "source",
    ):
        if name in fields and fields[name] is None:
            del fields[name]
    if "category" in fields:
        fields["category"] = _category(found.station, fields["category"])
    if "parties" in fields:
        fields["parties"] = _parties(payload.parties or [])
    if "amount" in fields:
        fields["amount"] = _amount(payload.amount)
    if "lon" in fields or "lat" in fields:
        _point(fields)
    else:
        fields.pop("coords", None)
    if "address" in fields and not fields["address"]:
        del fields["address"]  # an empty address keeps the one recorded
    try:
        changed = actions.update_dispute(request.user, found, version=version, **fields)
    except actions.StaleEdit as exc:
        raise _stale() from exc
    except actions.InvalidDispute as exc:
        raise _refused(exc) from exc
    return _answer(request.user, changed)


def _members(dispute: Dispute, ids: list[int]) -> list[Member]:
    found = {m.id: m for m in station_members(dispute).filter(pk__in=ids)}
    for index, member_id in enumerate(ids):
        if member_id not in found:
            raise error(
                422,
                _("Choose active members of this station's mediation bodies."),
                field=f"participants.{index}",
            )
    return [found[i] for i in dict.fromkeys(ids)]


@router.post(
    "/{dispute_id}/sessions", response={201: DisputeOut, **ERRORS}, openapi_extra=IDEMPOTENCY_KEY
)
def session(request: AuthedRequest, dispute_id: int, payload: SessionIn) -> Status:
    """Record a mediation session; the answer is the dispute with its sessions. Send an
    Idempotency-Key header to make retries safe."""
    found = access_dispute(request.user, dispute_id, write=True, perm=Perm.DISPUTES_MEDIATE)
    return idempotent(request, lambda: _session(request, found, payload))


def _session(request: AuthedRequest, found: Dispute, payload: SessionIn) -> Status:
    data = payload.dict()
    version = data.pop("version")
    data["participants"] = _members(found, payload.participants)
    try:
        actions.record_session(request.user, found, version=version, **data)
    except actions.StaleEdit as exc:
        raise _stale() from exc
    except actions.InvalidDispute as exc:
        raise _refused(exc) from exc
    return Status(201, _answer(request.user, found))


@router.post("/{dispute_id}/tier", response={200: DisputeOut, **ERRORS})
def tier(request: AuthedRequest, dispute_id: int, payload: TierIn) -> dict[str, Any]:
    """Escalate or de-escalate the dispute to another tier, with the reason."""
    found = access_dispute(request.user, dispute_id, write=True, perm=Perm.DISPUTES_TRIAGE)
    if found.version != payload.version:
        raise _stale()
    if int(payload.tier) == found.tier:
        raise error(409, _("The dispute is already in this tier."), field="tier")
    try:
        changed = actions.change_tier(
            request.user,
            found,
            version=payload.version,
            tier=int(payload.tier),
            reason=payload.reason,
        )
    except actions.StaleEdit as exc:
        raise _stale() from exc
    except actions.InvalidDispute as exc:
        raise _refused(exc) from exc
    return _answer(request.user, changed)


@router.post("/{dispute_id}/track", response={200: DisputeOut, **ERRORS})
def track(request: AuthedRequest, dispute_id: int, payload: TrackIn) -> dict[str, Any]:
    """Choose the dispute's legal track; the deadline follows."""
    found = access_dispute(request.user, dispute_id, write=True, perm=Perm.DISPUTES_MEDIATE)
    try:
        changed = actions.choose_track(
            request.user,
            found,
            version=payload.version,
            track=payload.track,
            exclusions=tuple(payload.exclusions),
            accepted_on=payload.accepted_on,
        )
    except actions.StaleEdit as exc:
        raise _stale() from exc
    except actions.InvalidDispute as exc:
        raise _refused(exc) from exc
    return _answer(request.user, changed)
