from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from jingwang.accounts.idempotency import idempotent
from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.accounts.types import AuthedRequest
from jingwang.lib import pii
from jingwang.people import actions
from jingwang.people.models import Person
from jingwang.people.queries import access_person, people_visible_to
from jingwang.territory.queries import access_station

router = Router(tags=["people"])


class AssignmentOut(Schema):
    grid_id: int
    grid_code: str
    role: str


class PersonOut(Schema):
    id: int
    station_id: int
    name: str
    kind: str
    badge_number: str
    id_number: str
    phone: str
    is_active: bool
    version: int


class PersonIn(Schema):
    station: str
    name: str
    kind: Person.Kind
    badge_number: str = ""
    id_number: str = ""
    phone: str = ""

    @field_validator("name")
    @classmethod
    def name_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("A name is required."))
        return value.strip()

    @field_validator("id_number")
    @classmethod
    def id_valid(cls, value: str) -> str:
        value = pii.normalise_id_number(value)
        if value and pii.id_number_error(value):
            raise ValueError(_("Not a valid ID number (GB 11643)."))
        return value

    @field_validator("phone")
    @classmethod
    def phone_valid(cls, value: str) -> str:
        value = pii.normalise_phone(value)
        if value and pii.phone_error(value):
            raise ValueError(_("A mobile number has 11 digits and starts with 1."))
        return value


def _masked(person: Person) -> dict[str, object]:
    return {
        "id": person.id,
        "station_id": person.station_id,
        "name": person.name,
        "kind": person.kind,
        "badge_number": person.badge_number,
        "id_number": person.id_number_masked,
        "phone": person.phone_masked,
        "is_active": person.is_active,
        "version": person.version,
    }


@router.get("/", response=list[PersonOut])
def people(
    request: AuthedRequest, station: str | None = None, kind: Person.Kind | None = None
) -> list[dict[str, object]]:
    require(request.user, Perm.PEOPLE_VIEW)
    rows = people_visible_to(request.user)
    if station:
        rows = rows.filter(station=access_station(request.user, station))
    if kind:
        rows = rows.filter(kind=kind)
    return [_masked(person) for person in rows.order_by("name", "id")[:1000]]


@router.get("/{person_id}", response=PersonOut)
def person(request: AuthedRequest, person_id: int) -> dict[str, object]:
    return _masked(access_person(request.user, person_id))


@router.post("/{person_id}/unmask", response=PersonOut)
def unmask(request: AuthedRequest, person_id: int) -> dict[str, object]:
    found = access_person(request.user, person_id)
    require(request.user, Perm.PII_UNMASK)
    revealed = actions.unmask_person(request.user, found)
    return {**_masked(found), **revealed}


@router.post("/", response={201: PersonOut})
def create(request: AuthedRequest, payload: PersonIn) -> Status:
    """Add a person. Send an Idempotency-Key header to make retries safe."""
    require(request.user, Perm.PEOPLE_MANAGE)
    return idempotent(request, lambda: _create(request, payload))


def _create(request: AuthedRequest, payload: PersonIn) -> Status:
    station = access_station(request.user, payload.station, perm=Perm.PEOPLE_MANAGE)
    if (
        payload.id_number
        and Person.objects.filter(
            station=station, id_number_hash=pii.lookup_hash(payload.id_number)
        ).exists()
    ):
        raise HttpError(409, _("A person with this ID number already exists in this station."))
    created = actions.create_person(
        request.user,
        station,
        name=payload.name,
        kind=payload.kind,
        badge_number=payload.badge_number,
        id_number=payload.id_number,
        phone=payload.phone,
    )
    return Status(201, _masked(created))
