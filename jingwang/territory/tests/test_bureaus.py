"""The system admin's bureaus and stations, through the front door: made, renamed, refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from jingwang.audit.models import AuditEvent
from jingwang.territory.models import Bureau, Station
from tests.cast import World


def admin(world: World) -> Client:
    client = world.client("system_admin")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def field_block(page: str, name: str) -> str:
    """The HTML of the invalid field ``name`` (its input and the errors beside it)."""
    for block in page.split('class="field invalid"')[1:]:
        block = block.split("</div>")[0]
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"the field {name} is not marked invalid")


def test_the_system_admin_creates_a_bureau_and_a_station(world: World) -> None:
    client = admin(world)
    response = client.post("/territory/bureaus/", {"code": " my-01 ", "name": "绵阳市公安局"})
    bureau = Bureau.objects.get(name="绵阳市公安局")
    assert response.status_code == 302
    assert response["Location"] == f"/territory/bureaus/{bureau.id}/"
    assert bureau.code == "MY-01"  # kept in capitals
    listing = client.get("/territory/bureaus/").content.decode()
    assert "MY-01" in listing and "绵阳市公安局" in listing and "三台县公安局" in listing

    response = client.post(
        f"/territory/bureaus/{bureau.id}/stations/", {"code": "fc", "name": "涪城派出所"}
    )
    station = Station.objects.get(code="FC")
    assert response.status_code == 302 and station.bureau == bureau
    assert "涪城派出所" in client.get(f"/territory/bureaus/{bureau.id}/").content.decode()

    made = AuditEvent.objects.get(action="create_bureau")
    assert (made.actor_name, made.actor_role, made.object_id) == (
        "system_admin",
        "system_admin",
        str(bureau.id),
    )
    event = AuditEvent.objects.get(action="create_station")
    assert event.station_id == station.id and event.subject_id == str(bureau.id)
    assert '"code": "FC"' in event.detail


def test_a_new_station_of_a_bureau_is_the_bureau_admins_at_once(world: World) -> None:
    admin(world).post(
        f"/territory/bureaus/{world.bureau.id}/stations/", {"code": "LX", "name": "芦溪派出所"}
    )
    codes = {
        s["code"] for s in world.client("bureau_admin").get("/api/v1/territory/stations").json()
    }
    assert codes == {"TC", "XX", "LX"}
    chief = {s["code"] for s in world.client("chief").get("/api/v1/territory/stations").json()}
    assert chief == {"TC"}


BAD_CODES = [
    ("", "required"),
    ("   ", "required"),
    ("T C", "letters (A–Z), digits and dashes"),
    ("T_C", "letters (A–Z), digits and dashes"),
    ("潼川", "letters (A–Z), digits and dashes"),
    ("ＴＣ１", "letters (A–Z), digits and dashes"),  # full-width letters and digit
    ("-TC", "begin and end with a letter or digit"),
    ("TC-", "begin and end with a letter or digit"),
    ("A" * 21, "at most 20 characters"),
]


@pytest.mark.parametrize("code, message", BAD_CODES)
def test_a_bad_bureau_code_is_refused_naming_the_field(
    world: World, code: str, message: str
) -> None:
    response = admin(world).post("/territory/bureaus/", {"code": code, "name": "新局"})
    assert response.status_code == 200
    assert message in field_block(response.content.decode(), "code")
    assert not Bureau.objects.filter(name="新局").exists()
    assert not AuditEvent.objects.filter(action="create_bureau").exists()


@pytest.mark.parametrize("code, message", BAD_CODES)
def test_a_bad_station_code_is_refused_naming_the_field(
    world: World, code: str, message: str
) -> None:
    url = f"/territory/bureaus/{world.bureau.id}/stations/"
    response = admin(world).post(url, {"code": code, "name": "新所"})
    assert response.status_code == 200
    assert message in field_block(response.content.decode(), "code")
    assert not Station.objects.filter(name="新所").exists()
    assert not AuditEvent.objects.filter(action="create_station").exists()


def test_an_empty_name_is_refused_naming_the_field(world: World) -> None:
    response = admin(world).post("/territory/bureaus/", {"code": "NEW", "name": "  "})
    assert "required" in field_block(response.content.decode(), "name")
    assert not Bureau.objects.filter(code="NEW").exists()


@pytest.mark.parametrize(
    "url, code",
    [
        ("/territory/bureaus/", "st"),  # the cast's bureau is ST: codes are kept in capitals
        ("/territory/bureaus/{bureau}/stations/", "TC"),
        ("/territory/bureaus/{bureau}/stations/", "xx"),
    ],
)
def test_a_code_in_use_is_refused_naming_the_field(world: World, url: str, code: str) -> None:
    bureaus, stations = Bureau.objects.count(), Station.objects.count()
    response = admin(world).post(url.format(bureau=world.bureau.id), {"code": code, "name": "重名"})
    assert response.status_code == 200
    assert "already exists" in field_block(response.content.decode(), "code")
    assert (Bureau.objects.count(), Station.objects.count()) == (bureaus, stations)
    assert not AuditEvent.objects.filter(action__in=["create_bureau", "create_station"]).exists()


RENAMES = [
    ("/territory/bureaus/{bureau}/", Bureau, "bureau", "rename_bureau"),
    ("/territory/bureaus/{bureau}/stations/{station}/", Station, "station", "rename_station"),
]


@pytest.mark.parametrize("url, model, attr, action", RENAMES)
def test_a_stale_rename_is_refused_and_nothing_is_lost(
    world: World, url: str, model: Any, attr: str, action: str
) -> None:
    row = getattr(world, attr)
    url = url.format(bureau=world.bureau.id, station=world.station.id)
    first, second = admin(world), admin(world)
    # Both opened the page at version 1; the first saves, the second comes too late.
    assert first.post(url, {"name": "第一个名字", "version": "1"}).status_code == 302
    response = second.post(url, {"name": "第二个名字", "version": "1"})
    assert response.status_code == 200
    assert "Someone else changed this while you were editing" in response.content.decode()
    row.refresh_from_db()
    assert (row.name, row.version) == ("第一个名字", 2)
    event = AuditEvent.objects.get(action=action)
    assert event.object_id == str(row.id)
    assert '"from": "' in event.detail and '"to": "第一个名字"' in event.detail


@pytest.mark.parametrize("url, model, attr, action", RENAMES)
def test_a_rename_without_its_version_or_name_is_refused(
    world: World, url: str, model: Any, attr: str, action: str
) -> None:
    row = getattr(world, attr)
    url = url.format(bureau=world.bureau.id, station=world.station.id)
    page = admin(world).post(url, {"name": "新名"}).content.decode()
    assert "This form is out of date" in page
    page = admin(world).post(url, {"name": "", "version": "1"}).content.decode()
    assert "required" in field_block(page, "name")
    assert model.objects.get(pk=row.pk).name == row.name
    assert not AuditEvent.objects.filter(action=action).exists()


def test_a_code_never_changes(world: World) -> None:
    client = admin(world)
    client.post(
        f"/territory/bureaus/{world.bureau.id}/",
        {"name": "三台县公安局", "code": "ZZ", "version": "1"},
    )
    client.post(
        f"/territory/bureaus/{world.bureau.id}/stations/{world.station.id}/",
        {"name": "潼川所", "code": "ZZ", "version": "1"},
    )
    world.bureau.refresh_from_db()
    world.station.refresh_from_db()
    assert (world.bureau.code, world.station.code, world.station.name) == ("ST", "TC", "潼川所")


def test_a_station_is_reached_only_through_its_own_bureau(world: World) -> None:
    other = Bureau.objects.create(code="MY", name="绵阳市公安局")
    response = admin(world).get(f"/territory/bureaus/{other.id}/stations/{world.station.id}/")
    assert response.status_code == 404
    assert admin(world).get("/territory/bureaus/999999/").status_code == 404


def test_the_system_admin_sees_codes_and_names_but_no_case_data(world: World) -> None:
    client = admin(world)
    page = client.get(f"/territory/bureaus/{world.bureau.id}/").content.decode()
    assert "潼川派出所" in page and "TC" in page
    assert "TC-D1" not in page and "王警官" not in page
    for url in ("/territory/?station=TC", f"/territory/grids/{world.block_a.id}/", "/people/"):
        assert client.get(url).status_code == 404


# Every write of these pages, tried by roles that may not: 404, nothing changed, a denied event.
WRITES = [
    ("/territory/bureaus/", {"code": "MY", "name": "绵阳市公安局"}),
    ("/territory/bureaus/{bureau}/", {"name": "改名", "version": "1"}),
    ("/territory/bureaus/{bureau}/stations/", {"code": "LX", "name": "芦溪派出所"}),
    ("/territory/bureaus/{bureau}/stations/{station}/", {"name": "改名", "version": "1"}),
]


def _state() -> list[tuple[Any, ...]]:
    return [
        *Bureau.objects.order_by("pk").values_list("code", "name", "version"),
        *Station.objects.order_by("pk").values_list("bureau_id", "code", "name", "version"),
    ]


@pytest.mark.parametrize(
    "role", ["bureau_admin", "chief", "security_admin", "auditor", "grid_worker"]
)
@pytest.mark.parametrize("url, data", WRITES)
def test_no_one_else_makes_or_renames_bureaus_and_stations(
    world: World, role: str, url: str, data: dict[str, str]
) -> None:
    user = world.users[role]
    before = _state()
    denied = AuditEvent.objects.filter(actor_id=user.id, outcome="denied").count()
    url = url.format(bureau=world.bureau.id, station=world.station.id)
    response = world.client(role).post(url, data)
    assert response.status_code == 404
    assert _state() == before
    assert AuditEvent.objects.filter(actor_id=user.id, outcome="denied").count() == denied + 1
    assert not AuditEvent.objects.filter(outcome="ok", action__startswith="create_").exists()
