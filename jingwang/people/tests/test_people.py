from __future__ import annotations

import pytest

from jingwang.audit.models import AuditEvent
from jingwang.people.models import CommitteePost, GridAssignment, Person

GOOD_ID = "510722198507153018"


def test_id_number_fixture_is_valid():
    from jingwang.lib.pii import id_number_error

    assert id_number_error(GOOD_ID) is None


def add(client, **fields):
    data = {
        "name": "陈民警",
        "kind": "officer",
        "badge_number": "051234",
        "id_number": GOOD_ID,
        "phone": "139 1234 5678",
        "is_active": "on",
    }
    data.update(fields)
    return client.post("/people/new/?station=TC", data)


def test_chief_adds_a_person_whose_numbers_are_stored_encrypted_and_shown_masked(world):
    client = world.client("chief")
    response = add(client)
    person = Person.objects.get(name="陈民警")
    assert response.status_code == 302 and response["Location"] == f"/people/{person.id}/"
    assert GOOD_ID not in person.id_number_encrypted and person.id_number == GOOD_ID
    assert person.phone == "13912345678"
    listing = client.get("/people/?station=TC").content.decode()
    assert "510722********3018" in listing and "139****5678" in listing
    assert GOOD_ID not in listing and "13912345678" not in listing
    assert AuditEvent.objects.filter(action="create_person", object_id=str(person.id)).exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("id_number", "510722198507153012", "check digit"),
        ("id_number", "510722198502303018", "birth date"),
        ("id_number", "51072219850715", "17 digits"),
        ("phone", "12345", "11 digits"),
        ("name", "", "required"),
    ],
)
def test_bad_input_is_refused_naming_the_field(world, field, value, message):
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    response = add(client, **{field: value})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert f'name="{field}"' in page.split('class="field invalid"')[1].split("</div>")[0]
    assert not Person.objects.filter(badge_number="051234").exists()


def test_unmasking_is_for_allowed_roles_and_audited(world):
    officer = world.people["officer"]
    response = world.client("chief").post(f"/people/{officer.id}/unmask/")
    assert "510722199001011236" in response.content.decode()
    event = AuditEvent.objects.get(action="unmask")
    assert event.actor_name == "chief" and event.object_id == str(officer.id)
    for role in ("auxiliary", "mediator", "grid_worker", "other_officer", "auditor"):
        denied = world.client(role).post(f"/people/{officer.id}/unmask/")
        assert denied.status_code == 404
    assert AuditEvent.objects.filter(action="unmask").count() == 1
    api = world.client("officer").post(f"/api/v1/people/{officer.id}/unmask")
    assert api.json()["phone"] == "13812345678"
    assert (
        world.client("auxiliary").get(f"/api/v1/people/{officer.id}").json()["phone"]
        == "138****5678"
    )


def test_a_stale_edit_is_refused_and_nothing_is_lost(world):
    officer = world.people["officer"]
    first, second = world.client("chief"), world.client("bureau_admin")
    form = {
        "name": "王警官",
        "kind": "officer",
        "badge_number": "1",
        "is_active": "on",
        "version": "1",
    }
    assert (
        first.post(f"/people/{officer.id}/edit/", {**form, "badge_number": "A1"}).status_code == 302
    )
    response = second.post(f"/people/{officer.id}/edit/", {**form, "badge_number": "B2"})
    assert response.status_code == 200 and "error" in response.content.decode()
    officer.refresh_from_db()
    assert (officer.badge_number, officer.version) == ("A1", 2)


def test_assignment_checks_kind_and_duplicates(world):
    client = world.client("chief")
    worker = world.people["grid_worker"]
    client.post(
        f"/people/{worker.id}/assignments/", {"grid": world.block_b.id, "role": "community_officer"}
    )
    assert not GridAssignment.objects.filter(person=worker, grid=world.block_b).exists()
    client.post(
        f"/people/{worker.id}/assignments/", {"grid": world.block_b.id, "role": "grid_worker"}
    )
    assert (
        GridAssignment.objects.filter(person=worker, grid=world.block_b, role="grid_worker").count()
        == 1
    )
    client.post(
        f"/people/{worker.id}/assignments/", {"grid": world.block_b.id, "role": "grid_worker"}
    )
    assert (
        GridAssignment.objects.filter(
            person=worker, grid=world.block_b, ended_at__isnull=True
        ).count()
        == 1
    )
    # Another station's grid cannot be chosen.
    client.post(
        f"/people/{worker.id}/assignments/", {"grid": world.other_block.id, "role": "grid_worker"}
    )
    assert not GridAssignment.objects.filter(person=worker, grid=world.other_block).exists()


def test_ending_an_assignment_opens_a_coverage_gap(world):
    client = world.client("chief")
    page = client.get("/people/coverage/?station=TC").content.decode()
    # Block B2 has the sector's officer and auxiliary but no grid worker.
    assert "TC-D1-S1-B2" in page and "TC-D1-S1-B1" not in page.split('id="gaps"')[1]
    worker = world.people["grid_worker"]
    assignment = worker.assignments.get()
    client.post(f"/people/{worker.id}/assignments/{assignment.id}/end/")
    page = client.get("/people/coverage/?station=TC").content.decode()
    assert "TC-D1-S1-B1" in page.split('id="gaps"')[1]
    assert AuditEvent.objects.filter(action="end_assignment").exists()


def test_coverage_says_so_when_every_block_is_covered(world):
    client = world.client("chief")
    GridAssignment.objects.create(
        person=world.people["grid_worker"], grid=world.block_b, role="grid_worker"
    )
    client.post("/accounts/language/", {"language": "en"})
    page = client.get("/people/coverage/?station=TC").content.decode()
    assert "Every one of the 2 blocks" in page and 'id="gaps"' not in page
    api = client.get("/api/v1/territory/coverage?station=TC").json()
    assert api == []


def test_committee_posts_for_officers_only(world):
    client = world.client("chief")
    officer, worker = world.people["officer"], world.people["grid_worker"]
    data = {"community": world.community.id, "title": "副书记", "since": "2026-03-01"}
    client.post(f"/people/{officer.id}/posts/", data)
    client.post(f"/people/{worker.id}/posts/", data)
    assert list(CommitteePost.objects.values_list("person__name", "title")) == [
        ("王警官", "副书记")
    ]
    assert "副书记" in client.get(f"/people/{officer.id}/").content.decode()


def test_api_creates_a_person_and_reports_fields(world):
    client = world.client("chief")
    bad = client.post(
        "/api/v1/people/",
        {"station": "TC", "name": "", "kind": "officer", "id_number": "123"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"name", "id_number"}
    good = client.post(
        "/api/v1/people/",
        {"station": "TC", "name": "孙辅警", "kind": "auxiliary", "phone": "13700001111"},
        content_type="application/json",
    )
    assert good.status_code == 201 and good.json()["phone"] == "137****1111"
    other = client.post(
        "/api/v1/people/",
        {"station": "XX", "name": "x", "kind": "auxiliary"},
        content_type="application/json",
    )
    assert other.status_code == 404
    assert not Person.objects.filter(station=world.other_station, name="x").exists()


def test_an_edit_without_the_version_it_was_made_from_is_refused(world):
    officer = world.people["officer"]
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    form = {"name": "改名", "kind": "officer", "badge_number": "", "is_active": "on"}
    response = client.post(f"/people/{officer.id}/edit/", form)
    assert response.status_code == 200 and "reload the page" in response.content.decode()
    api = client.patch(
        f"/api/v1/people/{officer.id}", {"name": "改名"}, content_type="application/json"
    )
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "version"
    stale = client.patch(
        f"/api/v1/people/{officer.id}",
        {"name": "改名", "version": 9},
        content_type="application/json",
    )
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    officer.refresh_from_db()
    assert (officer.name, officer.version) == ("王警官", 1)
    good = client.patch(
        f"/api/v1/people/{officer.id}",
        {"name": "改名", "version": 1},
        content_type="application/json",
    )
    assert good.status_code == 200 and good.json()["version"] == 2


@pytest.mark.parametrize("how", ["page", "api", "edit"])
def test_one_id_number_per_station_with_the_same_message_everywhere(world, how):
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    taken = "510722199001011236"  # 王警官's
    message = "A person with this ID number already exists in this station."
    if how == "page":
        response = add(client, id_number=taken)
        assert response.status_code == 200
        invalid = response.content.decode().split('class="field invalid"')[1].split("</div>")[0]
        assert 'name="id_number"' in invalid and message in response.content.decode()
    elif how == "api":
        response = client.post(
            "/api/v1/people/",
            {"station": "TC", "name": "重号", "kind": "officer", "id_number": taken},
            content_type="application/json",
        )
        assert response.status_code == 409
        assert response.json()["errors"] == [{"field": "id_number", "message": message}]
    else:
        worker = world.people["grid_worker"]
        response = client.post(
            f"/people/{worker.id}/edit/",
            {"name": worker.name, "kind": "grid_worker", "id_number": taken, "version": "1"},
        )
        assert response.status_code == 200 and message in response.content.decode()
        worker.refresh_from_db()
        assert not worker.id_number
    assert Person.objects.filter(id_number_hash=Person.id_number.hash(taken)).count() == 1
    # Another station may hold the same number: the rule is per station.
    other = Person(station=world.other_station, name="同号", kind="officer")
    other.id_number = taken
    other.save()


def test_the_database_refuses_a_second_person_with_one_id_number(world):
    from django.db import IntegrityError, transaction

    first = world.people["officer"]
    twin = Person(station=world.station, name="双胞", kind="officer")
    twin.id_number = first.id_number.plaintext
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_a_grid_worker_sees_only_labels_above_and_roles_not_names(world):
    client = world.client("grid_worker")
    client.post("/accounts/language/", {"language": "en"})
    page = client.get(f"/territory/grids/{world.block_a.id}/").content.decode()
    # The sector and district above: their labels only, no link, no figures.
    crumbs = page.split('class="crumbs"')[1].split("</nav>")[0]
    assert "TC-D1-S1 " in crumbs and f"/territory/grids/{world.sector.id}/" not in crumbs
    # The officer and auxiliary covering the block from the sector: their roles, not their names.
    covered = page.split('id="covered-from-above"')[1].split("</p>")[0]
    assert "Community officer" in covered and "Auxiliary officer" in covered
    assert "王警官" not in page and "李辅警" not in page
    api = client.get(f"/api/v1/territory/grids/{world.block_a.id}").json()
    assert [a["code"] for a in api["ancestors"]] == ["TC-D1", "TC-D1-S1"]
    assert all(set(a) == {"id", "code", "name", "level", "open"} for a in api["ancestors"])
    assert not any(a["open"] for a in api["ancestors"])
    # The chief sees the same grid with the names and links.
    chief = world.client("chief").get(f"/territory/grids/{world.block_a.id}/").content.decode()
    assert "王警官" in chief and f"/territory/grids/{world.sector.id}/" in chief


def test_a_person_page_lists_only_what_the_reader_may_see(world):
    # A colleague working in block A (the grid worker's) and in block B (not theirs).
    colleague = Person.objects.create(station=world.station, name="周网格", kind="grid_worker")
    GridAssignment.objects.create(person=colleague, grid=world.block_a, role="grid_worker")
    GridAssignment.objects.create(person=colleague, grid=world.block_b, role="grid_worker")
    seen = world.client("grid_worker").get(f"/people/{colleague.id}/").content.decode()
    assert "TC-D1-S1-B1" in seen and "TC-D1-S1-B2" not in seen
    chief = world.client("chief").get(f"/people/{colleague.id}/").content.decode()
    assert "TC-D1-S1-B1" in chief and "TC-D1-S1-B2" in chief


def test_the_new_person_page_without_a_station_is_refused_and_audited(world):
    for role in ("officer", "grid_worker", "auditor"):
        response = world.client(role).get("/people/new/")
        assert response.status_code == 404
        assert AuditEvent.objects.filter(
            actor_id=world.users[role].id, outcome="denied", detail__contains="people.manage"
        ).exists(), role


def test_an_assignment_is_ended_only_through_its_own_person(world):
    officer, worker = world.people["officer"], world.people["grid_worker"]
    theirs = worker.assignments.get()
    response = world.client("chief").post(f"/people/{officer.id}/assignments/{theirs.id}/end/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.ended_at is None
    assert AuditEvent.objects.filter(actor_id=world.users["chief"].id, outcome="denied").exists()
