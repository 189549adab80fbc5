"""The incidents' API: create with Idempotency-Key, list, read, change."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.incidents.models import Incident
from jingwang.lib.geo import wgs84_to_gcj02
from tests.cast import World

URL = "/api/v1/incidents"


def body(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "station": "TC",
        "number": "110-0001",
        "received_at": (timezone.localtime() - timedelta(hours=2)).isoformat(),
        "source": "call_110",
        "category": "public_order.noise",
        "caller_name": "陈女士",
        "caller_phone": "139-1234-5678",
        "address": "东街12号",
        "lon": 105.002,
        "lat": 31.005,
    }
    data.update(fields)
    return data


def post(client: Any, data: dict[str, Any], key: str | None = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, data=json.dumps(data), content_type="application/json", **headers)


def patch(client: Any, incident_id: int, data: dict[str, Any]) -> Any:
    return client.patch(
        f"{URL}/{incident_id}", data=json.dumps(data), content_type="application/json"
    )


def test_create_with_an_idempotency_key_makes_one_incident_placed_and_masked(world: World) -> None:
    client = world.client("officer")
    lon, lat = wgs84_to_gcj02(105.002, 31.005)
    data = body(lon=lon, lat=lat, crs="gcj02")
    first = post(client, data, key="k-1")
    again = post(client, data, key="k-1")
    assert first.status_code == 201 and again.status_code == 201
    assert first.json() == again.json()
    assert Incident.objects.count() == 1
    out = first.json()
    assert out["grid"] == "TC-D1-S1-B1-C1" and out["status"] == "received"
    assert abs(out["lon"] - 105.002) < 1e-6
    assert out["caller_phone"] == "139****5678" and out["address"] != "东街12号"
    assert AuditEvent.objects.filter(action="record_incident").count() == 1
    # the same key with another body is refused
    other = post(client, body(number="110-0002"), key="k-1")
    assert other.status_code == 422


@pytest.mark.parametrize(
    "fields, field, status",
    [
        ({"caller_phone": "12345"}, "caller_phone", 422),
        ({"category": "no.such"}, "category", 422),
        ({"number": ""}, "number", 422),
        ({"received_at": "0001-01-01T00:00:00+05:00"}, "received_at", 422),
        ({"lon": 200}, "lon", 422),
        ({"lat": None}, "lat", 422),
        ({"officer": 999999}, "officer", 422),
        ({"station": "XX"}, "", 404),
        (
            {"dispatched_at": (timezone.localtime() - timedelta(hours=3)).isoformat()},
            "dispatched_at",
            422,
        ),
        ({"closed_at": (timezone.localtime() + timedelta(days=1)).isoformat()}, "closed_at", 422),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    world: World, fields: dict[str, Any], field: str, status: int
) -> None:
    response = post(world.client("officer"), body(**fields))
    assert response.status_code == status, response.content
    errors = response.json()["errors"]
    assert errors[0]["field"] == field and errors[0]["message"]
    assert not Incident.objects.exists()


def test_a_duplicate_number_is_a_conflict_naming_the_number(world: World) -> None:
    client = world.client("officer")
    assert post(client, body()).status_code == 201
    response = post(client, body())
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "number"
    assert Incident.objects.count() == 1


def test_patch_with_the_version_and_a_stale_one_is_a_conflict(world: World) -> None:
    client = world.client("officer")
    created = post(client, body()).json()
    url_id = created["id"]
    changed = patch(
        client,
        url_id,
        {
            "version": 1,
            "summary": "已到场",
            "dispatched_at": (timezone.localtime() - timedelta(hours=1)).isoformat(),
            "lon": 105.015,
            "lat": 31.005,
        },
    )
    assert changed.status_code == 200, changed.content
    out = changed.json()
    assert out["version"] == 2 and out["status"] == "dispatched"
    assert out["grid"] == "TC-D1-S1-B2-C1" and out["summary"] == "已到场"
    assert out["caller_phone"] == "139****5678"  # not sent: kept
    stale = patch(client, url_id, {"version": 1, "summary": "lost update"})
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    assert Incident.objects.get(pk=url_id).summary == "已到场"
    disorder = patch(
        client,
        url_id,
        {
            "version": 2,
            "arrived_at": (timezone.localtime() - timedelta(hours=1, minutes=30)).isoformat(),
        },
    )
    assert disorder.status_code == 422
    assert disorder.json()["errors"][0]["field"] == "arrived_at"


def test_list_filters_paginates_and_keeps_to_scope(world: World) -> None:
    client = world.client("officer")
    for n in range(3):
        post(client, body(number=f"A-{n}"))
    post(client, body(number="B-0", lon=105.015, category="criminal.theft"))
    post(client, body(number="NOWHERE", lon=None, lat=None))
    page = client.get(f"{URL}?limit=2&offset=0").json()
    assert page["count"] == 5 and len(page["items"]) == 2
    assert client.get(f"{URL}?category=criminal").json()["count"] == 1
    assert client.get(f"{URL}?grid={world.block_b.id}").json()["count"] == 1
    assert [i["number"] for i in client.get(f"{URL}?unplaced=true").json()["items"]] == ["NOWHERE"]
    assert client.get(f"{URL}?status=closed").json()["count"] == 0
    # a grid worker sees their grid's incidents only
    mine = world.client("grid_worker").get(URL).json()
    assert {i["number"] for i in mine["items"]} == {"A-0", "A-1", "A-2"}
    # another station sees none of them, and one of them is the 404 door
    other = world.client("other_chief")
    assert other.get(URL).json()["count"] == 0
    one = Incident.objects.get(number="A-0")
    before = AuditEvent.objects.filter(outcome="denied").count()
    assert other.get(f"{URL}/{one.id}").status_code == 404
    assert patch(other, one.id, {"version": 1, "summary": "x"}).status_code == 404
    assert AuditEvent.objects.filter(outcome="denied").count() == before + 2
    assert Incident.objects.get(pk=one.id).version == 1
    assert other.get(f"{URL}?station=TC").status_code == 404
    # a grid worker may not record
    assert post(world.client("grid_worker"), body(number="GW")).status_code == 404
