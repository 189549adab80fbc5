"""Recording and working incidents through the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.incidents import actions
from jingwang.incidents.categories import categories_of
from jingwang.incidents.models import Category, Incident
from jingwang.lib.geo import wgs84_to_gcj02
from tests.cast import World

PHONE = "13912345678"


def noise(world: World) -> Category:
    return categories_of(world.bureau.id, active=None).get(code="public_order.noise")


def moment(delta: timedelta = timedelta(0)) -> str:
    return (timezone.localtime() - timedelta(hours=2) + delta).strftime("%Y-%m-%dT%H:%M")


def form(world: World, **fields: str) -> dict[str, str]:
    data = {
        "number": "J2026001",
        "received_at": moment(),
        "source": "call_110",
        "category": str(noise(world).id),
        "summary": "楼上装修噪声扰民",
        "address": "东街12号",
        "lon": "105.002",
        "lat": "31.005",
        "crs": "wgs84",
        "caller_name": "陈女士",
        "caller_phone": "139 1234 5678",
        "officer": str(world.people["officer"].id),
        "dispatched_at": "",
        "arrived_at": "",
        "closed_at": "",
        "result": "",
    }
    data.update(fields)
    return data


def make(world: World, number: str = "J1", **fields: object) -> Incident:
    values: dict[str, object] = {
        "number": number,
        "received_at": timezone.now() - timedelta(hours=3),
        "source": "call_110",
        "category": noise(world),
        "caller_phone": PHONE,
        "lon": 105.002,
        "lat": 31.005,
    }
    values.update(fields)
    return actions.record_incident(world.users["officer"], world.station, **values)  # type: ignore[arg-type]


def english(client: object) -> None:
    client.post("/accounts/language/", {"language": "en"})  # type: ignore[attr-defined]


def test_officer_records_an_incident_from_a_gcj02_point_placed_in_its_grid(world: World) -> None:
    # Given a point in cluster B1-C1 as a Chinese map app gives it (GCJ-02)
    lon, lat = wgs84_to_gcj02(105.002, 31.005)
    client = world.client("officer")
    response = client.post(
        "/incidents/new/?station=TC", form(world, lon=f"{lon:.7f}", lat=f"{lat:.7f}", crs="gcj02")
    )
    incident = Incident.objects.get(number="J2026001")
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.id}/"
    # then it is stored in WGS-84 and placed in the finest grid covering it
    assert incident.lon is not None and incident.lat is not None
    assert abs(incident.lon - 105.002) < 1e-6 and abs(incident.lat - 31.005) < 1e-6
    assert incident.grid is not None and incident.grid.code == "TC-D1-S1-B1-C1"
    assert incident.grid_at_time_id == incident.grid_id and not incident.placed_by_hand
    assert incident.caller_phone == PHONE and PHONE not in incident.caller_phone_encrypted
    assert incident.status == "received" and incident.created_by == "officer"
    # the caller's phone is masked on the list and on the page, with no way to unmask it there
    page = client.get(f"/incidents/{incident.id}/").content.decode()
    listing = client.get("/incidents/?station=TC").content.decode()
    for shown in (page, listing):
        assert "139****5678" in shown and PHONE not in shown
    assert "unmask" not in page
    # and the record is on its timeline
    event = AuditEvent.objects.get(action="record_incident", object_id=str(incident.id))
    assert event.actor_name == "officer" and event.detail_data["grid"] == "TC-D1-S1-B1-C1"
    assert 'id="timeline"' in page and event.action_label in page


def test_the_form_keeps_drafts_but_never_the_callers_phone(world: World) -> None:
    client = world.client("officer")
    page = client.get("/incidents/new/?station=TC&lon=105.0031&lat=31.0042").content.decode()
    assert 'data-keep-draft="incident-new"' in page
    phone = (
        page.split('name="caller_phone"')[0].rsplit("<input", 1)[1]
        + page.split('name="caller_phone"')[1].split(">")[0]
    )
    assert "data-personal" in phone
    # prefilled from the map's "New incident here"
    assert 'value="105.0031"' in page and 'value="31.0042"' in page
    client.post("/incidents/new/?station=TC", form(world))
    after = client.get("/incidents/").content.decode()
    assert 'name="jingwang-draft-saved" content="incident-new"' in after


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"number": ""}, "number", "required"),
        ({"category": ""}, "category", "required"),
        ({"lat": ""}, "lat", "both longitude and latitude"),
        ({"caller_phone": "12345"}, "caller_phone", "11 digits"),
        ({"received_at": moment(timedelta(days=2))}, "received_at", "in the future"),
        (
            {
                "dispatched_at": moment(timedelta(minutes=10)),
                "arrived_at": moment(timedelta(minutes=5)),
            },
            "arrived_at",
            "before the time dispatched",
        ),
        ({"arrived_at": moment(timedelta(minutes=5))}, "dispatched_at", "needs the dispatch time"),
        ({"closed_at": moment(-timedelta(hours=1))}, "closed_at", "before the time received"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    world: World, fields: dict[str, str], field: str, message: str
) -> None:
    client = world.client("officer")
    english(client)
    response = client.post("/incidents/new/?station=TC", form(world, **fields))
    assert response.status_code == 200
    page = response.content.decode()
    invalid = page.split('class="field invalid"')[1].split("</div>")[0]
    assert f'name="{field}"' in invalid and message in invalid
    assert not Incident.objects.exists()


def test_a_number_the_station_has_is_refused_and_a_race_gets_the_same_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(world, "J2026001")
    client = world.client("officer")
    english(client)
    page = client.post("/incidents/new/?station=TC", form(world)).content.decode()
    assert "already exists in this station" in page.split('class="field invalid"')[1]
    # Two requests racing: the check before the insert saw nothing, the constraint decides.
    real = actions._taken
    calls = iter([False])
    monkeypatch.setattr(actions, "_taken", lambda *a, **k: next(calls, None) or real(*a, **k))
    with pytest.raises(actions.DuplicateNumber) as refused:
        make(world, "J2026001")
    assert refused.value.field == "number"
    assert Incident.objects.filter(number="J2026001").count() == 1
    # the same number in another station is another incident
    other = actions.record_incident(
        world.users["other_chief"],
        world.other_station,
        number="J2026001",
        received_at=timezone.now(),
        source="walk_in",
        category=noise(world),
    )
    assert other.grid is None


def test_a_stale_edit_gets_the_conflict_message_and_changes_nothing(world: World) -> None:
    incident = make(world)
    chief, officer = world.client("chief"), world.client("officer")
    english(chief)
    opened = chief.get(f"/incidents/{incident.id}/edit/").content.decode()
    assert f'name="version" value="{incident.version}"' in opened
    # someone else saves first
    officer.post(
        f"/incidents/{incident.id}/edit/",
        form(
            world, number="J1", summary="他人的修改", version=str(incident.version), caller_phone=""
        ),
    )
    incident.refresh_from_db()
    assert incident.summary == "他人的修改" and incident.version == 2
    response = chief.post(
        f"/incidents/{incident.id}/edit/",
        form(world, number="J1", summary="我的修改", version="1", caller_phone=""),
    )
    assert response.status_code == 200
    assert "Someone else changed this incident" in response.content.decode()
    incident.refresh_from_db()
    assert incident.summary == "他人的修改" and incident.version == 2
    # an empty phone kept the old number
    assert incident.caller_phone == PHONE


def test_dispatch_arrive_close_in_order_each_on_the_timeline(world: World) -> None:
    incident = make(world)
    client = world.client("officer")
    english(client)
    client.post(
        f"/incidents/{incident.id}/dispatch/",
        {"version": "1", "officer": str(world.people["officer"].id), "at": ""},
    )
    incident.refresh_from_db()
    assert incident.status == "dispatched" and incident.officer == world.people["officer"]
    # an arrival before the dispatch is refused, naming the field
    before = timezone.localtime(incident.dispatched_at) - timedelta(hours=1)
    response = client.post(
        f"/incidents/{incident.id}/arrive/",
        {"version": "2", "at": before.strftime("%Y-%m-%dT%H:%M")},
        follow=True,
    )
    assert "When: The time arrived is before the time dispatched" in response.content.decode()
    incident.refresh_from_db()
    assert incident.arrived_at is None and incident.version == 2
    client.post(f"/incidents/{incident.id}/arrive/", {"version": "2", "at": ""})
    # a close in the future is refused
    future = timezone.localtime() + timedelta(hours=3)
    response = client.post(
        f"/incidents/{incident.id}/close/",
        {"version": "3", "at": future.strftime("%Y-%m-%dT%H:%M"), "result": "已处理"},
        follow=True,
    )
    assert "The time closed is in the future" in response.content.decode()
    # a stale close is refused too
    response = client.post(
        f"/incidents/{incident.id}/close/", {"version": "2", "result": "x"}, follow=True
    )
    assert "Someone else changed this incident" in response.content.decode()
    client.post(f"/incidents/{incident.id}/close/", {"version": "3", "result": "已调解"})
    incident.refresh_from_db()
    assert incident.status == "closed" and incident.result == "已调解" and incident.version == 4
    assert incident.dispatched_at and incident.arrived_at and incident.closed_at
    assert (
        incident.received_at <= incident.dispatched_at <= incident.arrived_at <= incident.closed_at
    )
    actions_seen = [
        e.action
        for e in AuditEvent.objects.filter(
            object_id=str(incident.id), object_type="incidents.incident"
        ).order_by("seq")
    ]
    assert actions_seen == [
        "record_incident",
        "dispatch_incident",
        "arrive_incident",
        "close_incident",
    ]


def test_an_unplaced_incident_is_listed_until_an_officer_places_it_by_hand(world: World) -> None:
    # Given an incident without a point, and one outside every grid
    lost = make(world, "J-NOPOINT", lon=None, lat=None)
    outside = make(world, "J-OUTSIDE", lon=104.0, lat=30.0)
    assert lost.grid is None and outside.grid is None
    client = world.client("officer")
    listing = client.get("/incidents/?station=TC&unplaced=1").content.decode()
    assert "J-NOPOINT" in listing and "J-OUTSIDE" in listing
    page = client.get(f"/incidents/{lost.id}/").content.decode()
    assert 'id="place-form"' in page
    # when the officer places it in block B
    response = client.post(
        f"/incidents/{lost.id}/place/", {"grid": str(world.block_b.id), "version": "1"}
    )
    assert response.status_code == 302
    lost.refresh_from_db()
    assert lost.grid == world.block_b and lost.placed_by_hand and lost.grid_at_time == world.block_b
    assert "J-NOPOINT" not in client.get("/incidents/?station=TC&unplaced=1").content.decode()
    event = AuditEvent.objects.get(action="place_incident")
    assert event.detail_data == {"from": None, "to": "TC-D1-S1-B2"}
    # a grid of another station is the 404 door, and nothing changes
    denied = client.post(
        f"/incidents/{outside.id}/place/", {"grid": str(world.other_block.id), "version": "1"}
    )
    assert denied.status_code == 404
    outside.refresh_from_db()
    assert outside.grid is None


def test_the_list_filters_and_links_to_the_map_and_the_export(world: World) -> None:
    make(world, "J-A")  # block A
    make(
        world,
        "J-B",
        lon=105.015,
        lat=31.005,
        category=categories_of(world.bureau.id).get(code="criminal.theft"),
    )
    closed = make(world, "J-C", lon=105.015, lat=31.005)
    actions.close_incident(world.users["officer"], closed, version=1)
    client = world.client("chief")

    def numbers(query: str) -> set[str]:
        page = client.get(f"/incidents/?station=TC&{query}").content.decode()
        return {n for n in ("J-A", "J-B", "J-C") if f">{n}<" in page}

    assert numbers("") == {"J-A", "J-B", "J-C"}
    assert numbers("status=closed") == {"J-C"}
    assert numbers(f"grid={world.block_b.id}") == {"J-B", "J-C"}
    criminal = categories_of(world.bureau.id).get(code="criminal")
    assert numbers(f"category={criminal.id}") == {"J-B"}
    assert numbers("q=J-A") == {"J-A"}
    today = timezone.localdate()
    assert numbers(f"from={today - timedelta(days=1)}&to={today}") == {"J-A", "J-B", "J-C"}
    assert numbers(f"from={today + timedelta(days=1)}") == set()
    assert client.get("/incidents/?from=2026-13-45").status_code == 400
    page = client.get("/incidents/?station=TC").content.decode()
    assert 'id="incidents-map"' in page and "/territory/?station=TC" in page
    assert 'href="/incidents/export/?station=TC"' in page


def test_the_grid_filter_offers_blocks_and_above_and_keeps_a_chosen_cluster(
    world: World,
) -> None:
    import re

    from jingwang.territory.models import Grid

    client = world.client("chief")
    offered = re.findall(
        r'<option value="\d+"[^>]*>(TC-[^ <]+)', client.get("/incidents/").content.decode()
    )
    assert "TC-D1-S1-B1" in offered and "TC-D1-S1" in offered
    assert not [code for code in offered if "-C" in code]
    cluster = Grid.objects.get(code="TC-D1-S1-B1-C1")
    page = client.get(f"/incidents/?grid={cluster.id}").content.decode()
    assert f'<option value="{cluster.id}" selected>TC-D1-S1-B1-C1' in page


def test_grid_worker_sees_only_their_grids_incidents(world: World) -> None:
    mine = make(world, "J-MINE")
    other = make(world, "J-OTHER", lon=105.015, lat=31.005)
    client = world.client("grid_worker")
    listing = client.get("/incidents/").content.decode()
    assert ">J-MINE<" in listing and ">J-OTHER<" not in listing
    assert client.get(f"/incidents/{mine.id}/").status_code == 200
    assert client.get(f"/incidents/{other.id}/").status_code == 404
    # and records nothing
    assert client.get("/incidents/new/?station=TC").status_code == 404


def test_another_station_chief_reaches_nothing_and_changes_nothing(world: World) -> None:
    incident = make(world)
    client = world.client("other_chief")
    assert client.get(f"/incidents/{incident.id}/").status_code == 404
    assert ">J1<" not in client.get("/incidents/").content.decode()
    for verb, data in (
        ("close", {"version": "1", "result": "x"}),
        ("edit", form(world, number="X", version="1")),
        ("place", {"grid": str(world.other_block.id), "version": "1"}),
    ):
        before = AuditEvent.objects.filter(outcome="denied").count()
        assert client.post(f"/incidents/{incident.id}/{verb}/", data).status_code == 404
        assert AuditEvent.objects.filter(outcome="denied").count() == before + 1
    incident.refresh_from_db()
    assert incident.version == 1 and incident.status == "received" and incident.number == "J1"


def test_categories_are_seeded_once_with_the_officer_only_ones(world: World) -> None:
    first = list(categories_of(world.bureau.id, active=None).values_list("code", flat=True))
    again = list(categories_of(world.bureau.id, active=None).values_list("code", flat=True))
    assert first == again and len(first) == Category.objects.count()
    tops = set(Category.objects.filter(parent__isnull=True).values_list("code", flat=True))
    assert tops == {
        "criminal",
        "public_order",
        "disputes",
        "traffic",
        "fraud",
        "help",
        "fire_accident",
        "other",
    }
    officer_only = set(Category.objects.filter(officer_only=True).values_list("code", flat=True))
    assert officer_only == {"criminal.sexual_assault", "public_order.domestic_violence"}
    assert AuditEvent.objects.filter(action="seed_incident_categories").count() == 1


def test_the_system_admin_configures_the_category_list(world: World) -> None:
    admin = world.client("system_admin")
    english(admin)
    assert admin.get("/incidents/categories/").status_code == 200
    url = f"/incidents/categories/{world.bureau.id}/"
    assert "public_order.noise" in admin.get(url).content.decode()
    traffic = Category.objects.get(code="traffic")
    # add a sub-category
    response = admin.post(
        url,
        {
            "code": "e_bike",
            "parent": str(traffic.id),
            "name": "电动车事故",
            "name_en": "E-bike",
            "officer_only": "on",
        },
    )
    assert response.status_code == 302
    made = Category.objects.get(code="traffic.e_bike")
    assert made.parent == traffic and made.officer_only
    # the same code again names the field
    page = admin.post(
        url, {"code": "traffic.e_bike", "parent": str(traffic.id), "name": "x"}
    ).content.decode()
    assert "already exists" in page.split('class="field invalid"')[1]
    # rename and deactivate; a stale version is refused
    noise_cat = Category.objects.get(code="public_order.noise")
    edit = f"/incidents/categories/{world.bureau.id}/{noise_cat.id}/"
    admin.post(edit, {"name": "噪音扰民", "name_en": "Noise nuisance", "version": "1"})
    noise_cat.refresh_from_db()
    assert (
        noise_cat.name == "噪音扰民"
        and noise_cat.name_en == "Noise nuisance"
        and noise_cat.version == 2
    )
    stale = admin.post(edit, {"name": "旧", "version": "1", "is_active": "on"}).content.decode()
    assert "Someone else changed this category" in stale
    noise_cat.refresh_from_db()
    assert noise_cat.name == "噪音扰民" and noise_cat.is_active is False  # left unchecked above
    event = AuditEvent.objects.filter(action="update_incident_category").last()
    assert event is not None and event.detail_data["changes"]["name"] == {  # type: ignore[index]
        "from": "噪声扰民",
        "to": "噪音扰民",
    }
    # a category no longer in use is not offered for new incidents
    page = world.client("officer").get("/incidents/new/?station=TC").content.decode()
    assert f'value="{noise_cat.id}"' not in page
    with pytest.raises(actions.InvalidIncident) as refused:
        make(world)
    assert refused.value.field == "category"
    # only the system admin
    assert world.client("chief").get(url).status_code == 404
