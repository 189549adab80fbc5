"""The rosters of the three mediation bodies, through their pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent
from jingwang.disputes import actions
from jingwang.disputes.models import Body, Member
from jingwang.people.models import Person
from tests.cast import World


@pytest.fixture
def bodies(world: World) -> dict[int, Body]:
    return {body.tier: body for body in actions.ensure_bodies(world.station)}


@pytest.fixture
def deputy(world: World) -> Person:
    """A people's congress deputy of station TC, in the people register, without an account."""
    return Person.objects.create(station=world.station, kind="deputy", name="孙代表")


@pytest.fixture
def member_user(world: World) -> User:
    """An outside member of TC's harmony team with an account (role mediation_member)."""
    user = User(username="member", role="mediation_member", station=world.station)
    user.set_password("Member-Test-2026")
    user.save()
    person = Person.objects.create(
        station=world.station, kind="cppcc_member", name="周委员", user=user
    )
    tier2 = actions.ensure_bodies(world.station)[1]
    actions.add_member(world.users["chief"], tier2, person, role="cppcc_member")
    return user


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invalid_fields(page: Any) -> dict[str, str]:
    """The form fields marked invalid on a page, with their first message."""
    html = page.content.decode()
    found = re.findall(
        r'<div class="field invalid">\s*<label for="id_(\w+)".*?<p class="error">([^<]+)</p>',
        html,
        re.S,
    )
    return dict(found)


def roster() -> list[tuple[Any, ...]]:
    return list(
        Member.objects.order_by("pk").values_list(
            "body_id", "person_id", "role", "department", "is_active"
        )
    )


def denied(user: User) -> int:
    return AuditEvent.objects.filter(outcome="denied", actor_id=user.id).count()


def open_counts(html: str) -> list[int]:
    """The counts of open disputes shown on a page, in order."""
    return [int(n) for n in re.findall(r'class="open-count"[^>]*>\D*(\d+)', html)]


def register(world: World, **fields: Any) -> Any:
    from jingwang.core import choicelists
    from jingwang.disputes.categories import CATEGORIES

    choicelists.register(CATEGORIES)  # a no-op once the app's ready() has registered it
    values: dict[str, Any] = {
        "station": world.station,
        "category": "neighbours",
        "source": "walk_in",
        "facts": "楼上漏水，楼下邻居不满",
        "parties": [
            actions.PartyInput(role="applicant", name="甲"),
            actions.PartyInput(role="respondent", name="乙"),
        ],
        "lon": 105.002,
        "lat": 31.005,
    }
    values.update(fields)
    return actions.register_dispute(world.users["officer"], **values)


def test_chief_officer_and_mediator_see_the_three_bodies_with_members_and_open_disputes(
    world: World, bodies: dict[int, Body]
) -> None:
    actions.add_member(world.users["chief"], bodies[1], world.people["mediator"], role="mediator")
    assert register(world).tier == 1
    withdrawn = register(world)
    actions.withdraw_dispute(
        world.users["officer"], withdrawn, version=withdrawn.version, reason="双方自行和解"
    )
    for name in ("chief", "officer", "mediator", "grid_worker"):
        page = world.client(name).get("/disputes/bodies/")
        assert page.status_code == 200, name
        html = page.content.decode()
        for tier, zh in ((1, "警民联调工作站"), (2, "警民和谐工作队"), (3, "矛盾纠纷调解室")):
            assert f'id="body-{tier}"' in html and zh in html
        tier1 = html.split('id="body-1"')[1].split('id="body-2"')[0]
        assert "钱调解" in tier1 and "专职调解员" in tier1
        assert open_counts(html) == [1, 0, 0]
        body = world.client(name).get(f"/disputes/bodies/{bodies[1].id}/").content.decode()
        assert "钱调解" in body and open_counts(body) == [1]
        # only the chief manages the roster: the form to add, the buttons to end
        assert ('id="add-member"' in body) is (name == "chief")
        assert ("/members/" in body) is (name == "chief")


def test_a_bureau_admin_picks_the_station(world: World) -> None:
    client = world.client("bureau_admin")
    page = client.get("/disputes/bodies/?station=XX").content.decode()
    assert "其他派出所" in page
    xx = {body.tier: body for body in actions.ensure_bodies(world.other_station)}
    assert f"/disputes/bodies/{xx[3].id}/" in page
    assert client.get(f"/disputes/bodies/{xx[3].id}/").status_code == 200


def test_the_chief_adds_a_deputy_to_the_harmony_team_and_ends_the_membership(
    world: World, bodies: dict[int, Body], deputy: Person
) -> None:
    client = world.client("chief")
    page = client.get(f"/disputes/bodies/{bodies[2].id}/").content.decode()
    # the form offers the people of the station and the roles tier 2 has
    assert "孙代表" in page and "外所民警" not in page
    assert 'value="deputy"' in page and 'value="judicial_office"' not in page

    added = client.post(
        f"/disputes/bodies/{bodies[2].id}/add/", {"person": deputy.id, "role": "deputy"}
    )
    assert added.status_code == 302
    member = Member.objects.get(body=bodies[2], person=deputy)
    assert member.role == "deputy" and member.is_active
    event = AuditEvent.objects.get(action="add_body_member")
    assert event.actor_id == world.users["chief"].id and event.station_id == world.station.id
    page = client.get(f"/disputes/bodies/{bodies[2].id}/").content.decode()
    row = page.split(f'id="member-{member.id}"')[1].split("</tr>")[0]
    assert "孙代表" in row and "人大代表" in row
    # a deputy without an account: the page says so, and how to give them one
    assert "no-account" in row and 'id="account-note"' in page and "mediation_member" in page
    listing = client.get("/disputes/bodies/").content.decode()
    assert "孙代表" in listing.split('id="body-2"')[1].split('id="body-3"')[0]

    ended = client.post(f"/disputes/bodies/{bodies[2].id}/members/{member.id}/end/")
    assert ended.status_code == 302
    member.refresh_from_db()
    assert not member.is_active
    assert AuditEvent.objects.filter(action="end_body_membership").count() == 1
    page = client.get(f"/disputes/bodies/{bodies[2].id}/").content.decode()
    assert f'id="member-{member.id}"' not in page and "孙代表" in page.split('id="former"')[1]
    # a second click on "end" changes nothing and says so
    again = client.post(f"/disputes/bodies/{bodies[2].id}/members/{member.id}/end/", follow=True)
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="end_body_membership").count() == 1


def test_a_role_the_tier_does_not_offer_is_refused_naming_the_role(
    world: World, bodies: dict[int, Body], deputy: Person
) -> None:
    client = world.client("chief")
    # tier 1 (the workstation) has no deputies; tier 2 (the harmony team) has no departments
    for tier, person, role in ((1, world.people["officer"], "deputy"), (2, deputy, "department")):
        page = client.post(
            f"/disputes/bodies/{bodies[tier].id}/add/", {"person": person.id, "role": role}
        )
        assert page.status_code == 200
        errors = invalid_fields(page)
        assert list(errors) == ["role"]
        # the role by its name, in the user's language
        with translation.override("zh-hans"):
            name = str(Member.Role(role).label)
        assert f"没有“{name}”这一角色" in errors["role"]
    assert roster() == []


def test_a_department_role_needs_the_department_named(
    world: World, bodies: dict[int, Body]
) -> None:
    official = Person.objects.create(station=world.station, kind="judicial_office", name="吴司法")
    client = world.client("chief")
    url = f"/disputes/bodies/{bodies[3].id}/add/"
    page = client.post(url, {"person": official.id, "role": "judicial_office"})
    assert list(invalid_fields(page)) == ["department"]
    assert roster() == []
    done = client.post(
        url, {"person": official.id, "role": "judicial_office", "department": "潼川司法所"}
    )
    assert done.status_code == 302
    assert roster() == [(bodies[3].id, official.id, "judicial_office", "潼川司法所", True)]


def test_a_person_of_another_station_or_a_member_already_is_refused(
    world: World, bodies: dict[int, Body]
) -> None:
    client = world.client("chief")
    url = f"/disputes/bodies/{bodies[1].id}/add/"
    outsider = world.people["other_officer"]
    page = client.post(url, {"person": outsider.id, "role": "officer"})
    assert page.status_code == 200
    assert list(invalid_fields(page)) == ["person"]
    assert roster() == []
    officer = world.people["officer"]
    assert client.post(url, {"person": officer.id, "role": "officer"}).status_code == 302
    # already on the roster: no longer offered
    again = client.post(url, {"person": officer.id, "role": "officer"})
    assert list(invalid_fields(again)) == ["person"]
    assert len(roster()) == 1


@pytest.mark.parametrize("name", ["other_chief", "officer", "mediator", "system_admin", "member"])
def test_who_may_not_manage_gets_404_changes_nothing_and_is_recorded(
    world: World, bodies: dict[int, Body], deputy: Person, member_user: User, name: str
) -> None:
    user = member_user if name == "member" else world.users[name]
    client = client_of(user) if name == "member" else world.client(name)
    kept = Member.objects.get(person__user=member_user)
    before, bodies_before = roster(), Body.objects.count()
    for url, data in (
        (f"/disputes/bodies/{bodies[2].id}/add/", {"person": deputy.id, "role": "deputy"}),
        (f"/disputes/bodies/{bodies[2].id}/members/{kept.id}/end/", {}),
    ):
        count = denied(user)
        assert client.post(url, data).status_code == 404, url
        assert denied(user) == count + 1, url
    assert roster() == before and Body.objects.count() == bodies_before
    assert not AuditEvent.objects.filter(action="add_body_member", actor_id=user.id).exists()


@pytest.mark.parametrize("name", ["other_chief", "other_officer", "system_admin", "member"])
def test_who_may_not_read_a_roster_gets_404(
    world: World, bodies: dict[int, Body], member_user: User, name: str
) -> None:
    user = member_user if name == "member" else world.users[name]
    client = client_of(user) if name == "member" else world.client(name)
    urls = [f"/disputes/bodies/{bodies[1].id}/", f"/disputes/bodies/{bodies[3].id}/"]
    if name != "member":
        urls += [f"/disputes/bodies/{bodies[2].id}/", "/disputes/bodies/?station=TC"]
    for url in urls:
        count = denied(user)
        assert client.get(url).status_code == 404, url
        assert denied(user) == count + 1, url


def test_an_outside_member_sees_only_the_body_they_sit_on(
    world: World, bodies: dict[int, Body], member_user: User
) -> None:
    client = client_of(member_user)
    listing = client.get("/disputes/bodies/").content.decode()
    assert "警民和谐工作队" in listing and "周委员" in listing
    assert "警民联调工作站" not in listing and "矛盾纠纷调解室" not in listing
    page = client.get(f"/disputes/bodies/{bodies[2].id}/").content.decode()
    assert "周委员" in page and 'id="add-member"' not in page and "/members/" not in page
    # once their membership ends, nothing is left for them: an empty list, no body
    kept = Member.objects.get(person__user=member_user)
    actions.end_membership(world.users["chief"], kept)
    listing = client.get("/disputes/bodies/").content.decode()
    assert "警民和谐工作队" not in listing and "周委员" not in listing
    assert client.get(f"/disputes/bodies/{bodies[2].id}/").status_code == 404


def test_a_member_missing_or_of_another_body_is_404(
    world: World, bodies: dict[int, Body], member_user: User
) -> None:
    kept = Member.objects.get(person__user=member_user)  # on tier 2
    client = world.client("chief")
    chief = world.users["chief"]
    for url in (
        f"/disputes/bodies/{bodies[1].id}/members/{kept.id}/end/",
        f"/disputes/bodies/{bodies[1].id}/members/999999/end/",
        "/disputes/bodies/999999/",
    ):
        count = denied(chief)
        response = client.post(url) if url.endswith("/end/") else client.get(url)
        assert response.status_code == 404, url
        assert denied(chief) == count + 1, url
    kept.refresh_from_db()
    assert kept.is_active


def test_the_pages_are_complete_in_english(world: World, bodies: dict[int, Body]) -> None:
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    page = client.get(f"/disputes/bodies/{bodies[3].id}/").content.decode()
    assert "Tier 3" in page and "Add a member" in page and "Law enforcement" in page
    refused = client.post(
        f"/disputes/bodies/{bodies[3].id}/add/",
        {"person": world.people["officer"].id, "role": "deputy"},
    )
    message = invalid_fields(refused)["role"]
    assert "This body takes no members in the role “People&#x27;s Congress deputy”" in message


# Who reads the rosters of station TC: everyone with disputes.view and TC in scope (the grid
# worker sits on the workstation); another station's people see their own station's.
READS_LIST = {
    "deputy",  # an outside member: the bodies they sit on (the cast's deputy sits on none)
    "bureau_admin",
    "chief",
    "officer",
    "auxiliary",
    "grid_worker",
    "mediator",
    "other_officer",
    "other_chief",
}
READS_TC = {"bureau_admin", "chief", "officer", "auxiliary", "grid_worker", "mediator"}


def test_every_role_of_the_cast_reads_the_rosters_or_gets_404(
    world: World, bodies: dict[int, Body]
) -> None:
    for name, user in world.users.items():
        client = world.client(name)
        listing = client.get("/disputes/bodies/")
        assert listing.status_code == (200 if name in READS_LIST else 404), name
        body = client.get(f"/disputes/bodies/{bodies[1].id}/")
        assert body.status_code == (200 if name in READS_TC else 404), name
        if name not in READS_TC:
            assert AuditEvent.objects.filter(outcome="denied", actor_id=user.id).exists(), name
