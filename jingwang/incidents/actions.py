"""Every change to an incident; each writes its audit event in the same transaction.

Recording (``record_incident``: the form, the API; ``write_imported``: the 110 import), editing
(``update_incident``, version checked), working (``dispatch``, ``arrive``, ``close_incident``,
version checked) and placing by hand (``place_incident_by_hand``). A refusal is an
``InvalidIncident`` naming the field, a ``DuplicateNumber`` (the station already has this
number: also when two requests race, the constraint decides) or a ``StaleEdit``.

Times: received ≤ dispatched ≤ arrived ≤ closed, none later than now (a few minutes of clock
difference allowed). The status follows from the times given. A point may come in GCJ-02 (Amap,
Tencent and other Chinese map apps): it is stored in WGS-84, and the incident is placed in the
finest current grid covering it (``territory.placement``); one without a point, or outside
every grid, is unplaced until an officer places it by hand.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.audit.actions import record, record_many
from jingwang.core.personal import ADDRESS, NORMALISE, PHONE, personal_fields, problem
from jingwang.core.personal import MESSAGES as PERSONAL_MESSAGES
from jingwang.incidents.models import Category, Incident
from jingwang.lib.geo import gcj02_to_wgs84
from jingwang.territory import placement
from jingwang.territory.models import Grid, Station

# A time "now" on a phone or another server may run a little ahead of ours.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Times before this are typing errors (and far-off years break time-zone arithmetic).
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(480))
WGS84, GCJ02 = "wgs84", "gcj02"
TIMES = ("received_at", "dispatched_at", "arrived_at", "closed_at")


class InvalidIncident(Exception):
    """Input refused, naming the field at fault (a form field, an API field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


class DuplicateNumber(InvalidIncident):
    """Another incident of the station already has this number."""

    def __init__(self) -> None:
        super().__init__(
            "number", _("An incident with this number already exists in this station.")
        )


class StaleEdit(Exception):
    """Someone else saved this incident since it was opened: nothing was written."""

    def __str__(self) -> str:
        return _(
            "Someone else changed this incident while you were editing. "
            "Reload the page to see their changes, then make yours again."
        )


def time_labels() -> dict[str, str]:
    return {
        "received_at": _("received"),
        "dispatched_at": _("dispatched"),
        "arrived_at": _("arrived"),
        "closed_at": _("closed"),
    }


# ---------------------------------------------------------------------------------------------
# Checks


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidIncident(field, _("This field is required."))
    if len(text) > limit:
        raise InvalidIncident(
            field,
            _("At most %(limit)s characters are allowed (this has %(length)s).")
            % {"limit": limit, "length": len(text)},
        )
    if "\x00" in text:
        raise InvalidIncident(field, _("Text may not contain the NUL character (U+0000)."))
    return text


def number_problem(number: str) -> bool:
    """An incident number has no whitespace and no control characters."""
    return any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in number)


def _number(value: Any) -> str:
    number = _text(value, "number", 32, required=True)
    if number_problem(number):
        raise InvalidIncident(
            "number", _("An incident number has no spaces or control characters.")
        )
    return number


def _personal(kind: str, value: Any, field: str) -> str:
    text = NORMALISE[kind]("" if value is None else str(value))
    code = problem(kind, text) if text else None
    if code:
        raise InvalidIncident(field, str(PERSONAL_MESSAGES[(kind, code)]))
    return text


def point(lon: Any, lat: Any, crs: str = WGS84) -> tuple[float | None, float | None]:
    """A point in WGS-84 from what was given (both or neither), or InvalidIncident."""
    if lon is None and lat is None:
        return None, None
    if lon is None or lat is None:
        field = "lat" if lat is None else "lon"
        raise InvalidIncident(field, _("Give both longitude and latitude, or neither."))
    values = []
    for name, value, limit in (("lon", lon, 180), ("lat", lat, 90)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidIncident(name, _("This is not a number.")) from None
        if not math.isfinite(number) or abs(number) > limit:
            raise InvalidIncident(
                name,
                _("Longitude is within ±180 and latitude within ±90 degrees.")
                if name == "lon"
                else _("Latitude is within ±90 and longitude within ±180 degrees."),
            )
        values.append(number)
    if crs == GCJ02:
        converted = gcj02_to_wgs84(values[0], values[1])
        return round(converted[0], 7), round(converted[1], 7)
    if crs != WGS84:
        raise InvalidIncident("crs", _("Use WGS-84 or GCJ-02."))
    return values[0], values[1]


def _aware(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        raise InvalidIncident(field, _("This is not a date and time."))
    if value.tzinfo is None:
        if value.year < 1900:
            raise InvalidIncident(field, _("This time is before 2000: check the year."))
        value = timezone.make_aware(value)
    try:
        if value < EARLIEST:
            raise InvalidIncident(field, _("This time is before 2000: check the year."))
    except OverflowError:
        raise InvalidIncident(field, _("This time is before 2000: check the year.")) from None
    return value


def check_times(times: dict[str, datetime | None], now: datetime | None = None) -> None:
    """Received ≤ dispatched ≤ arrived ≤ closed, none in the future (beyond the tolerance); an
    arrival needs a dispatch. InvalidIncident names the first field at fault."""
    now = now or timezone.now()
    labels = time_labels()
    if times.get("received_at") is None:
        raise InvalidIncident("received_at", _("This field is required."))
    for name in TIMES:
        value = times.get(name)
        if value is not None and value > now + FUTURE_TOLERANCE:
            raise InvalidIncident(
                name,
                _("The time %(what)s is in the future: check the date and time.")
                % {"what": labels[name]},
            )
    if times.get("arrived_at") is not None and times.get("dispatched_at") is None:
        raise InvalidIncident(
            "dispatched_at", _("An arrival needs the dispatch time: give it first.")
        )
    previous = "received_at"
    for name in TIMES[1:]:
        value = times.get(name)
        if value is None:
            continue
        before = times[previous]
        assert before is not None
        if value < before:
            raise InvalidIncident(
                name,
                _("The time %(what)s is before the time %(before)s: times must be in order.")
                % {"what": labels[name], "before": labels[previous]},
            )
        previous = name


def status_of(times: dict[str, datetime | None]) -> str:
    if times.get("closed_at"):
        return Incident.Status.CLOSED
    if times.get("arrived_at"):
        return Incident.Status.ARRIVED
    if times.get("dispatched_at"):
        return Incident.Status.DISPATCHED
    return Incident.Status.RECEIVED


def _category(station: Station, category: Any) -> Category:
    if not isinstance(category, Category):
        raise InvalidIncident("category", _("Choose a category."))
    if category.bureau_id != station.bureau_id:
        raise InvalidIncident("category", _("This category is not one of this bureau's."))
    if not category.is_active:
        raise InvalidIncident("category", _("This category is no longer in use: choose another."))
    return category


def _officer(station: Station, officer: Any) -> Any:
    from jingwang.people.models import Person

    if officer is None:
        return None
    if not isinstance(officer, Person) or officer.station_id != station.pk:
        raise InvalidIncident("officer", _("Choose an officer of this station."))
    if officer.kind not in (Person.Kind.OFFICER, Person.Kind.AUXILIARY) or not officer.is_active:
        raise InvalidIncident("officer", _("Choose an active police or auxiliary officer."))
    return officer


def _taken(station_id: int, number: str, exclude: int | None = None) -> bool:
    rows = Incident.objects.filter(station_id=station_id, number=number)
    return rows.exclude(pk=exclude).exists() if exclude else rows.exists()


def _actor_name(actor: Any) -> str:
    if getattr(actor, "is_authenticated", False):
        return str(actor.get_username())[:150]
    return "system"


# ---------------------------------------------------------------------------------------------
# Recording


def record_incident(
    actor: Any,
    station: Station,
    *,
    number: str,
    received_at: datetime,
    source: str,
    category: Category,
    summary: str = "",
    address: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    officer: Any = None,
    lon: Any = None,
    lat: Any = None,
    crs: str = WGS84,
    dispatched_at: datetime | None = None,
    arrived_at: datetime | None = None,
    closed_at: datetime | None = None,
    result: str = "",
) -> Incident:
    """Record an incident and place it in its grid. Raises InvalidIncident (naming the field),
    DuplicateNumber (the number is the station's already, also when two requests race)."""
    number = _number(number)
    if source not in Incident.Source.values:
        raise InvalidIncident("source", _("Choose a source."))
    times = {
        "received_at": _aware(received_at, "received_at"),
        "dispatched_at": _aware(dispatched_at, "dispatched_at"),
        "arrived_at": _aware(arrived_at, "arrived_at"),
        "closed_at": _aware(closed_at, "closed_at"),
    }
    check_times(times)
    wlon, wlat = point(lon, lat, crs)
    incident = Incident(
        station=station,
        number=number,
        source=source,
        category=_category(station, category),
        summary=_text(summary, "summary", 2000),
        caller_name=_text(caller_name, "caller_name", 50),
        officer=_officer(station, officer),
        result=_text(result, "result", 2000),
        lon=wlon,
        lat=wlat,
        status=status_of(times),
        created_by=_actor_name(actor),
        **times,
    )
    incident.address = _personal(ADDRESS, address, "address")
    incident.caller_phone = _personal(PHONE, caller_phone, "caller_phone")
    placement.place(incident, station.pk)
    try:
        # The number's uniqueness is the constraint's: a taken number fails the insert.
        with transaction.atomic():
            incident.save()
            record(
                actor,
                "record_incident",
                incident,
                detail={
                    "number": number,
                    "source": source,
                    "category": incident.category.code,
                    "status": incident.status,
                    "grid": _grid_code(incident.grid_id),
                },
            )
    except IntegrityError as exc:
        if _taken(station.pk, number):
            raise DuplicateNumber() from exc
        raise
    return incident


def _grid_code(grid_id: int | None) -> str | None:
    """A grid's code for an audit detail (its shape is not read)."""
    if grid_id is None:
        return None
    return Grid.objects.filter(pk=grid_id).values_list("code", flat=True).first()


EDITABLE = (
    "number",
    "received_at",
    "source",
    "category",
    "summary",
    "caller_name",
    "officer",
    "dispatched_at",
    "arrived_at",
    "closed_at",
    "result",
)


def _locked(incident: Incident, version: int) -> Incident:
    current = Incident.objects.select_for_update().select_related("station").get(pk=incident.pk)
    if current.version != version:
        raise StaleEdit()
    return current


def _clean(station: Station, name: str, value: Any) -> Any:
    if name == "number":
        return _number(value)
    if name == "source":
        if value not in Incident.Source.values:
            raise InvalidIncident("source", _("Choose a source."))
        return value
    if name == "category":
        return _category(station, value)
    if name == "officer":
        return _officer(station, value)
    if name in TIMES:
        return _aware(value, name)
    if name in ("summary", "result"):
        return _text(value, name, 2000)
    if name == "caller_name":
        return _text(value, name, 50)
    raise InvalidIncident(name, _("This field cannot be changed."))


def update_incident(actor: Any, incident: Incident, *, version: int, **fields: Any) -> Incident:
    """Save what changed; a stale ``version`` raises StaleEdit and nothing is written.

    ``lon``/``lat`` (with ``crs``) move the point and re-place the incident; the caller's
    phone and the address change only when a new value is given (empty keeps the old one).
    """
    unknown = set(fields) - {*EDITABLE, "lon", "lat", "crs", "address", "caller_phone"}
    if unknown:
        raise InvalidIncident(sorted(unknown)[0], _("This field cannot be changed."))
    try:
        with transaction.atomic():
            current = _locked(incident, version)
            station = current.station
            cleaned = {
                name: _clean(station, name, fields[name]) for name in EDITABLE if name in fields
            }
            changed = [n for n, v in cleaned.items() if getattr(current, n) != v]
            for name in changed:
                setattr(current, name, cleaned[name])
            if "received_at" in cleaned and cleaned["received_at"] is None:
                raise InvalidIncident("received_at", _("This field is required."))
            times = {name: getattr(current, name) for name in TIMES}
            check_times(times)
            shown = list(changed)
            if "lon" in fields or "lat" in fields:
                wlon, wlat = point(fields.get("lon"), fields.get("lat"), fields.get("crs") or WGS84)
                if (wlon, wlat) != (current.lon, current.lat):
                    current.lon, current.lat = wlon, wlat
                    placement.place(current, current.station_id)
                    changed += ["lon", "lat", "grid", "grid_at_time", "placed_by_hand"]
                    shown.append("point")
            for name, kind in (("address", ADDRESS), ("caller_phone", PHONE)):
                value = _personal(kind, fields.get(name), name)
                if value and getattr(current, name) != value:
                    setattr(current, name, value)
                    changed += personal_fields(Incident)[name].columns()
                    shown.append(name)
            status = status_of(times)
            if status != current.status:
                current.status = status
                changed.append("status")
            if changed:
                current.version += 1
                current.save(update_fields=[*dict.fromkeys(changed), "version"])
                record(actor, "update_incident", current, detail={"fields": sorted(set(shown))})
    except IntegrityError as exc:
        if fields.get("number") and _taken(
            incident.station_id, str(fields["number"]).strip(), incident.pk
        ):
            raise DuplicateNumber() from exc
        raise
    return current


# ---------------------------------------------------------------------------------------------
# Working an incident


def _step(
    actor: Any,
    incident: Incident,
    action: str,
    field: str,
    *,
    version: int,
    at: datetime | None,
    extra: dict[str, Any] | None = None,
) -> Incident:
    with transaction.atomic():
        current = _locked(incident, version)
        moment = _aware(at, field) if at is not None else timezone.now()
        times = {name: getattr(current, name) for name in TIMES} | {field: moment}
        check_times(times)
        setattr(current, field, moment)
        changed = [field]
        for name, value in (extra or {}).items():
            setattr(current, name, value)
            changed.append(name)
        current.status = status_of(times)
        current.version += 1
        current.save(update_fields=[*changed, "status", "version"])
        detail: dict[str, Any] = {field: moment}
        if extra and "officer" in extra:
            detail["officer"] = extra["officer"].pk if extra["officer"] else None
        if extra and "result" in extra:
            detail["result"] = True
        record(actor, action, current, detail=detail)
    return current


def dispatch(
    actor: Any,
    incident: Incident,
    *,
    version: int,
    at: datetime | None = None,
    officer: Any = None,
) -> Incident:
    """Record the dispatch (now, or ``at``), perhaps naming the handling officer."""
    extra = {"officer": _officer(incident.station, officer)} if officer is not None else None
    return _step(
        actor, incident, "dispatch_incident", "dispatched_at", version=version, at=at, extra=extra
    )


def arrive(actor: Any, incident: Incident, *, version: int, at: datetime | None = None) -> Incident:
    """Record the arrival on scene (now, or ``at``); the dispatch must be recorded first."""
    return _step(actor, incident, "arrive_incident", "arrived_at", version=version, at=at)


def close_incident(
    actor: Any,
    incident: Incident,
    *,
    version: int,
    at: datetime | None = None,
    result: str | None = None,
) -> Incident:
    """Close the incident (now, or ``at``) with its result. A closed incident whose caller
    can be reached gets its callback from the daily queue job (``incidents.tasks``)."""
    extra = {"result": _text(result, "result", 2000)} if result is not None else None
    return _step(
        actor, incident, "close_incident", "closed_at", version=version, at=at, extra=extra
    )


def place_incident_by_hand(actor: Any, incident: Incident, grid: Grid, *, version: int) -> Incident:
    """An officer puts the incident in one of its station's current grids."""
    if grid.station_id != incident.station_id or not grid.version.is_current:
        raise InvalidIncident("grid", _("Choose a current grid of this incident's station."))
    with transaction.atomic():
        current = _locked(incident, version)
        before = current.grid.code if current.grid_id and current.grid else None
        placement.place_by_hand(current, grid)
        current.version += 1
        current.save(update_fields=["grid", "grid_at_time", "placed_by_hand", "version"])
        record(actor, "place_incident", current, detail={"from": before, "to": grid.code})
    return current


# ---------------------------------------------------------------------------------------------
# The 110 import


def write_imported(
    actor: Any,
    station: Station,
    rows: Sequence[dict[str, Any]],
    *,
    filename: str = "",
    batch: int = 500,
) -> tuple[int, int]:
    """Create or update incidents from checked rows (the import's write, in its transaction).

    A row whose number the station already has updates that incident with the values the row
    gives (an empty cell keeps the current value); the others are created. Every incident
    touched gets an ``import_incident`` event on its timeline. Returns (created, updated).
    """
    from jingwang.core.imports import update_many

    numbers = [row["number"] for row in rows]
    existing: dict[str, Incident] = {}
    for start in range(0, len(numbers), batch):
        chunk = numbers[start : start + batch]
        existing.update(
            (i.number, i) for i in Incident.objects.filter(station=station, number__in=chunk)
        )
    created: list[Incident] = []
    updated: list[Incident] = []
    name = _actor_name(actor)
    for row in rows:
        incident = existing.get(row["number"])
        if incident is None:
            incident = Incident(station=station, number=row["number"], created_by=name)
            created.append(incident)
            defaults = {"source": Incident.Source.CALL_110}
        else:
            updated.append(incident)
            incident.version += 1
            defaults = {}
        for key in EDITABLE:
            if key == "number":
                continue
            value = row.get(key)
            if value is None or value == "":
                value = defaults.get(key)
            if value is not None:
                setattr(incident, key, value)
        if row.get("address"):
            incident.address = row["address"]
        if row.get("caller_phone"):
            incident.caller_phone = row["caller_phone"]
        if row.get("lon") is not None and row.get("lat") is not None:
            incident.lon, incident.lat = row["lon"], row["lat"]
        incident.status = status_of({name: getattr(incident, name) for name in TIMES})
        placement.place(incident, station.pk)
    Incident.objects.bulk_create(created, batch_size=batch)
    fields = [
        "received_at",
        "source",
        "category",
        "summary",
        "caller_name",
        "officer",
        "dispatched_at",
        "arrived_at",
        "closed_at",
        "result",
        "status",
        "version",
        "lon",
        "lat",
        "grid",
        "grid_at_time",
        "placed_by_hand",
        "address_encrypted",
        "address_hash",
        "caller_phone_encrypted",
        "caller_phone_hash",
    ]
    update_many(Incident, updated, fields)
    touched: Iterable[Incident] = [*created, *updated]
    record_many(
        actor,
        "import_incident",
        list(touched),
        station_id=station.pk,
        detail=lambda i: {"number": i.number, "file": filename, "status": i.status},
    )
    return len(created), len(updated)
