"""The incidents' API: record (with ``Idempotency-Key``), list, read, change.

Mounted at ``/api/v1/incidents``. The caller's phone and the address are always masked here.
"""

from __future__ import annotations

import re
from datetime import datetime
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
from jingwang.core.personal import ADDRESS, PHONE, validated
from jingwang.incidents import actions, categories
from jingwang.incidents.models import Incident
from jingwang.incidents.queries import access_incident, incidents_visible_to
from jingwang.people.queries import people_visible_to
from jingwang.territory.models import Grid
from jingwang.territory.queries import access_station, grids_visible_to

router = Router(tags=["incidents"])

EARLIEST = datetime(2000, 1, 1)
LATEST = datetime(2100, 1, 1)


def _moment(value: datetime | None) -> datetime | None:
    """A time from 2000 on, in the server's time zone when it has no offset (ISO 8601)."""
    if value is None:
        return None
    naive = value.replace(tzinfo=None)
    if not EARLIEST <= naive < LATEST:
        raise ValueError(_("Give a time from the year 2000 on: check the year."))
    return timezone.make_aware(value) if value.tzinfo is None else value


def _bound(value: datetime) -> datetime:
    """A filter's time: years before 2000 or from 2100 on mean "from the start", "to the end"."""
    naive = value.replace(tzinfo=None)
    if naive < EARLIEST or naive >= LATEST:
        value = EARLIEST if naive < EARLIEST else LATEST
    return timezone.make_aware(value) if value.tzinfo is None else value


def _iso(value: Any) -> Any:
    """ISO 8601 text only (pydantic would also read a number as a Unix time)."""
    if not isinstance(value, str) or len(value) > 40 or not ISO.match(value):
        raise ValueError(_("Give a date and time such as 2026-03-05T14:30:00+08:00."))
    return value


ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
TIME_TEXT = Field(json_schema_extra={"maxLength": 40, "pattern": ISO.pattern + r"[^\x00]*$"})
Moment = Annotated[datetime, TIME_TEXT, BeforeValidator(_iso), AfterValidator(_moment)]
Bound = Annotated[datetime, TIME_TEXT, BeforeValidator(_iso), AfterValidator(_bound)]
Number = Annotated[
    str,
    Field(
        min_length=1, max_length=32, json_schema_extra={"pattern": r"^[^\s\x00-\x1f\x7f-\x9f]+$"}
    ),
    AfterValidator(no_nul),
]
CategoryCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        description="a category code of the bureau's list (criminal.theft, help.other, ...)",
        json_schema_extra={"pattern": r"^[^\x00]+$"},
    ),
    AfterValidator(no_nul),
]
Crs = Literal["wgs84", "gcj02"]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class IncidentOut(Schema):
    id: int
    station_id: int
    number: str
    received_at: datetime
    source: str
    category: str = Field(description="the category's code")
    status: str
    summary: str
    address: str = Field(description="masked (the first third shown)")
    caller_name: str
    caller_phone: str = Field(description="masked (138****5678)")
    officer_id: int | None
    lon: float | None = Field(description="WGS-84")
    lat: float | None = Field(description="WGS-84")
    grid_id: int | None = Field(description="null: not placed in a grid yet")
    grid: str | None = Field(description="the grid's code")
    placed_by_hand: bool
    dispatched_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    result: str
    version: int


class IncidentPage(Schema):
    count: int = Field(description="incidents matching the filters")
    offset: int
    limit: int
    items: list[IncidentOut]


class Personal(Schema):
    """Personal data, validated as the page does (masked in every answer)."""

    address: Text = Field("", max_length=200)
    caller_phone: str = Field(
        "",
        max_length=20,
        description="mobile number: 11 digits starting with 1, +86 allowed, spaces and hyphens"
        " ignored; empty for none",
        json_schema_extra={"pattern": PHONE_PATTERN},
    )

    @field_validator("caller_phone")
    @classmethod
    def phone_valid(cls, value: str) -> str:
        return validated(PHONE, value, ascii_only=True)

    @field_validator("address")
    @classmethod
    def address_valid(cls, value: str) -> str:
        return validated(ADDRESS, value)


class IncidentIn(Personal):
    station: Text = Field(..., min_length=1, max_length=32, description="station code or id")
    number: Number
    received_at: Moment = Field(description="ISO 8601; without an offset: Asia/Shanghai")
    source: Incident.Source = Incident.Source.CALL_110
    category: CategoryCode
    summary: Text = Field("", max_length=2000)
    caller_name: Text = Field("", max_length=50)
    officer: int | None = Field(None, ge=1, le=2**63 - 1, description="a person id")
    lon: Lon | None = None
    lat: Lat | None = None
    crs: Crs = Field("wgs84", description="the coordinate system of lon/lat")
    dispatched_at: Moment | None = None
    arrived_at: Moment | None = None
    closed_at: Moment | None = None
    result: Text = Field("", max_length=2000)


class IncidentPatch(Personal):
    """Send the ``version`` you read: a stale one is refused (409) and nothing changes. Fields
    left out keep their value; an empty caller's phone or address too."""

    version: int = Field(..., ge=1, le=2**31 - 1)
    number: Number | None = None
    received_at: Moment | None = None
    source: Incident.Source | None = None
    category: CategoryCode | None = None
    summary: Text | None = Field(None, max_length=2000)
    caller_name: Text | None = Field(None, max_length=50)
    officer: int | None = Field(None, ge=1, le=2**63 - 1)
    lon: Lon | None = None
    lat: Lat | None = None
    crs: Crs = Field("wgs84", description="the coordinate system of lon/lat")
    dispatched_at: Moment | None = None
    arrived_at: Moment | None = None
    closed_at: Moment | None = None
    result: Text | None = Field(None, max_length=2000)


def _out(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "station_id": incident.station_id,
        "number": incident.number,
        "received_at": incident.received_at,
        "source": incident.source,
        "category": incident.category.code,
        "status": incident.status,
        "summary": incident.summary,
        "address": incident.address.masked,
        "caller_name": incident.caller_name,
        "caller_phone": incident.caller_phone.masked,
        "officer_id": incident.officer_id,
        "lon": incident.lon,
        "lat": incident.lat,
        "grid_id": incident.grid_id,
        "grid": incident.grid.code if incident.grid_id and incident.grid else None,
        "placed_by_hand": incident.placed_by_hand,
        "dispatched_at": incident.dispatched_at,
        "arrived_at": incident.arrived_at,
        "closed_at": incident.closed_at,
        "result": incident.result,
        "version": incident.version,
    }


def _category(bureau_id: int, code: str) -> Any:
    found = categories.find(bureau_id, code.strip())
    if found is None:
        raise error(
            422, _("There is no category with this code in the bureau's list."), field="category"
        )
    return found


def _officer(request: AuthedRequest, station: Any, person_id: int | None) -> Any:
    if person_id is None:
        return None
    found = people_visible_to(request.user).filter(station=station, pk=person_id).first()
    if found is None:
        raise error(422, _("Choose an officer of this station."), field="officer")
    return found


def _refused(exc: actions.InvalidIncident) -> Any:
    status = 409 if isinstance(exc, actions.DuplicateNumber) else 422
    return error(status, exc.message, field=exc.field)


# The list's parameters (module-level: a call in a default is evaluated once anyway).
STATION = Query(None, min_length=1, max_length=64, description="station code or id")
GRID = Query(None, ge=1, le=2**63 - 1, description="a grid id: it and the grids below")
CATEGORY = Query(None, description="a category code (a top-level one: with its sub-categories)")
OFFICER = Query(None, ge=1, le=2**63 - 1, description="a person id")
UNPLACED = Query(False, description="only incidents not placed in a grid")
OFFSET = Query(0, ge=0, le=10**9)
LIMIT = Query(100, ge=1, le=500)


@router.get("", response={200: IncidentPage, **ERRORS})
def incidents(
    request: AuthedRequest,
    station: Text | None = STATION,
    status: Incident.Status | None = None,
    grid: int | None = GRID,
    category: CategoryCode | None = CATEGORY,
    officer: int | None = OFFICER,
    received_from: Bound | None = None,
    received_to: Bound | None = None,
    unplaced: bool = UNPLACED,
    offset: int = OFFSET,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """Incidents within your scope, newest first, masked."""
    require(request.user, Perm.INCIDENTS_VIEW)
    rows = incidents_visible_to(request.user)
    if station:
        rows = rows.filter(station=access_station(request.user, station, perm=Perm.INCIDENTS_VIEW))
    if status:
        rows = rows.filter(status=status)
    if grid:
        found = grids_visible_to(request.user).filter(id=grid).first()
        rows = rows.filter(grid_id__in=Grid.with_descendants({found.id})) if found else rows.none()
    if category:
        code = category.strip()
        rows = rows.filter(Q(category__code=code) | Q(category__parent__code=code))
    if officer:
        rows = rows.filter(officer_id=officer)
    if received_from:
        rows = rows.filter(received_at__gte=received_from)
    if received_to:
        rows = rows.filter(received_at__lt=received_to)
    if unplaced:
        rows = rows.filter(grid__isnull=True)
    rows = rows.select_related("category", "grid").order_by("-received_at", "-id")
    return {
        "count": rows.count(),
        "offset": offset,
        "limit": limit,
        "items": [_out(i) for i in rows[offset : offset + limit]],
    }


@router.get("/{incident_id}", response={200: IncidentOut, **ERRORS})
def incident(request: AuthedRequest, incident_id: int) -> dict[str, Any]:
    return _out(access_incident(request.user, incident_id))


@router.post("", response={201: IncidentOut, **ERRORS}, openapi_extra=IDEMPOTENCY_KEY)
def create(request: AuthedRequest, payload: IncidentIn) -> Status:
    """Record an incident; it is placed in its grid by its point. Send an Idempotency-Key
    header to make retries safe."""
    require(request.user, Perm.INCIDENTS_RECORD)
    return idempotent(request, lambda: _create(request, payload))


def _create(request: AuthedRequest, payload: IncidentIn) -> Status:
    station = access_station(request.user, payload.station, perm=Perm.INCIDENTS_RECORD)
    data = payload.dict()
    data.pop("station")
    data["category"] = _category(station.bureau_id, payload.category)
    data["officer"] = _officer(request, station, payload.officer)
    try:
        created = actions.record_incident(request.user, station, **data)
    except actions.InvalidIncident as exc:
        raise _refused(exc) from exc
    return Status(201, _out(created))


@router.patch("/{incident_id}", response={200: IncidentOut, **ERRORS})
def update(request: AuthedRequest, incident_id: int, payload: IncidentPatch) -> dict[str, Any]:
    """Change an incident: its details, its times (the status follows), its point."""
    found = access_incident(request.user, incident_id, write=True)
    fields = payload.dict(exclude_unset=True)
    version = fields.pop("version")
    for name in ("number", "source", "category", "summary", "caller_name", "result", "received_at"):
        if name in fields and fields[name] is None:
            del fields[name]
    if "category" in fields:
        fields["category"] = _category(found.station.bureau_id, fields["category"])
    if "officer" in fields:
        fields["officer"] = _officer(request, found.station, fields["officer"])
    if ("lon" in fields) != ("lat" in fields):
        missing = "lat" if "lon" in fields else "lon"
        raise error(422, _("Give both longitude and latitude, or neither."), field=missing)
    if "lon" not in fields:
        fields.pop("crs", None)
    try:
        changed = actions.update_incident(request.user, found, version=version, **fields)
    except actions.StaleEdit as exc:
        raise error(
            409,
            _("Someone else changed this incident since you read it: read it again, then retry."),
            field="version",
        ) from exc
    except actions.InvalidIncident as exc:
        raise _refused(exc) from exc
    return _out(changed)
