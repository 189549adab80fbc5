from __future__ import annotations

from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, field_validator

from jingwang.accounts.idempotency import idempotent
from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.accounts.types import AuthedRequest
from jingwang.api import ERRORS, IDEMPOTENCY_KEY, PHONE_PATTERN, Text, error, no_nul
from jingwang.core.personal import ID_NUMBER, PHONE, validated
from jingwang.core.personal import unmask as unmask_door
from jingwang.people import actions
from jingwang.people.models import Person
from jingwang.people.queries import access_person, people_visible_to
from jingwang.territory.queries import access_station

router = Router(tags=["people"])

StationKey = Query(None, min_length=1, max_length=64, description="station code or id")


class PersonOut(Schema):
    id: int
    station_id: int
    name: str
    kind: str
    badge_number: str
    id_number: str = Field(description="masked unless unmasked (510722********1234)")
    phone: str = Field(description="masked unless unmasked (138****5678)")
    is_active: bool
    version: int


# The formats as the schema states them for clients (spaces around an ID number, and spaces and
# hyphens anywhere in a mobile number, are ignored; blank means none). The validators below
# enforce them with messages in the user's language, and also what a pattern cannot say: the
# GB 11643 check digit and a real birth date.
ID_NUMBER_PATTERN = r"^\s*([0-9]{17}[0-9Xx])?\s*$"
# Not blank, and no NUL (see ``jingwang.api.Text``).
NAME_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
Name = Annotated[
    str,
    Field(min_length=1, max_length=50, json_schema_extra={"pattern": NAME_PATTERN}),
    AfterValidator(no_nul),
]


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError(_("A name is required."))
    return value.strip()


class PersonNumbers(Schema):
    """Personal data, validated like the page does."""

    id_number: str = Field(
        "",
        max_length=18,
        description="18-digit resident ID number (GB 11643: 17 digits, then a check digit or X);"
        " empty for none",
        json_schema_extra={"pattern": ID_NUMBER_PATTERN},
    )
    phone: str = Field(
        "",
        max_length=20,
        description="mobile number: 11 digits starting with 1, +86 allowed, spaces and hyphens"
        " ignored; empty for none",
        json_schema_extra={"pattern": PHONE_PATTERN},
    )

    @field_validator("id_number")
    @classmethod
    def id_valid(cls, value: str) -> str:
        return validated(ID_NUMBER, value, ascii_only=True)

    @field_validator("phone")
    @classmethod
    def phone_valid(cls, value: str) -> str:
        return validated(PHONE, value, ascii_only=True)


class PersonIn(PersonNumbers):
    station: Text = Field(..., min_length=1, max_length=32, description="station code or id")
    name: Name
    kind: Person.Kind
    badge_number: Text = Field("", max_length=20)

    @field_validator("name")
    @classmethod
    def name_present(cls, value: str) -> str:
        return _name(value)


class PersonPatch(PersonNumbers):
    """Send the ``version`` you read: a stale one is refused (409) and nothing changes."""

    version: int = Field(..., ge=1)
    name: Name | None = None
    kind: Person.Kind | None = None
    badge_number: Text | None = Field(None, max_length=20)
    is_active: bool | None = None

    @field_validator("name")
    @classmethod
    def name_present(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)


def _masked(person: Person) -> dict[str, object]:
    return {
        "id": person.id,
        "station_id": person.station_id,
        "name": person.name,
        "kind": person.kind,
        "badge_number": person.badge_number,
        "id_number": person.id_number.masked,
        "phone": person.phone.masked,
        "is_active": person.is_active,
        "version": person.version,
    }


@router.get("/", response={200: list[PersonOut], **ERRORS})
def people(
    request: AuthedRequest,
    station: Text | None = StationKey,
    kind: Person.Kind | None = None,
) -> list[dict[str, object]]:
    """People within your scope (at most 1,000), masked."""
    require(request.user, Perm.PEOPLE_VIEW)
    rows = people_visible_to(request.user)
    if station:
        rows = rows.filter(station=access_station(request.user, station))
    if kind:
        rows = rows.filter(kind=kind)
    return [_masked(person) for person in rows.order_by("name", "id")[:1000]]


@router.get("/{person_id}", response={200: PersonOut, **ERRORS})
def person(request: AuthedRequest, person_id: int) -> dict[str, object]:
    return _masked(access_person(request.user, person_id))


@router.post("/{person_id}/unmask", response={200: PersonOut, **ERRORS})
def unmask(request: AuthedRequest, person_id: int) -> dict[str, object]:
    """The full ID and phone numbers, for roles allowed to see them; recorded in the audit log."""
    found = access_person(request.user, person_id)
    return {**_masked(found), **unmask_door(request.user, found)}


@router.post("/", response={201: PersonOut, **ERRORS}, openapi_extra=IDEMPOTENCY_KEY)
def create(request: AuthedRequest, payload: PersonIn) -> Status:
    """Add a person. Send an Idempotency-Key header to make retries safe."""
    require(request.user, Perm.PEOPLE_MANAGE)
    return idempotent(request, lambda: _create(request, payload))


def _create(request: AuthedRequest, payload: PersonIn) -> Status:
    station = access_station(request.user, payload.station, perm=Perm.PEOPLE_MANAGE)
    try:
        created = actions.create_person(
            request.user,
            station,
            name=payload.name,
            kind=payload.kind,
            badge_number=payload.badge_number,
            id_number=payload.id_number,
            phone=payload.phone,
        )
    except actions.DuplicatePerson as exc:
        raise error(409, str(exc), field="id_number") from exc
    return Status(201, _masked(created))


@router.patch("/{person_id}", response={200: PersonOut, **ERRORS})
def update(request: AuthedRequest, person_id: int, payload: PersonPatch) -> dict[str, object]:
    """Change a person. Fields left out keep their value; empty ID or phone numbers too."""
    found = access_person(request.user, person_id, write=True)
    fields = payload.dict(exclude_unset=True, exclude_none=True)
    version = fields.pop("version")
    try:
        changed = actions.update_person(request.user, found, version=version, **fields)
    except actions.StaleEdit as exc:
        raise error(
            409,
            _("Someone else changed this person since you read it: read it again, then retry."),
            field="version",
        ) from exc
    except actions.DuplicatePerson as exc:
        raise error(409, str(exc), field="id_number") from exc
    return _masked(changed)
