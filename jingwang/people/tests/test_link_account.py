"""Linking a person of the register to their login account (Person.user), and what it opens.

A grid worker's or volunteer's grids, and a member's disputes, come from the person linked to
their account: the link is set on the person page by whoever manages people.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent
from jingwang.people import actions
from jingwang.people.models import GridAssignment, Person
from jingwang.people.queries import accounts_to_link
from tests.cast import ROLES, World


def account(world: World, username: str, role: str, **fields: Any) -> User:
    fields.setdefault("station", world.station)
    user = User(username=username, role=role, first_name=username, **fields)
    user.set_unusable_password()
    user.save()
    return user


def newcomer(world: World) -> Person:
    """A grid worker of block B without an account, as the register has them."""
    person = Person.objects.create(station=world.station, name="孙网格", kind="grid_worker")
    GridAssignment.objects.create(person=person, grid=world.block_b, role="grid_worker")
    return person


def english(world: World, name: str) -> Client:
    client = world.client(name)
    client.post("/accounts/language/", {"language": "en"})
    return client


def link(client: Client, person: Person, user: User | None, version: int) -> str:
    """POST the person page's account form; the page it lands on."""
    response = client.post(
        f"/people/{person.id}/account/",
        {"user": str(user.id) if user else "", "version": str(version)},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain == [(f"/people/{person.id}/", 302)]
    return response.content.decode()


def test_the_chief_links_and_unlinks_an_account_on_the_person_page(world):
    person, user = newcomer(world), account(world, "sun", "grid_worker")
    client = english(world, "chief")
    page = client.get(f"/people/{person.id}/").content.decode()
    assert "No account: this person does not log in." in page
    offered = page.split('name="user"')[1].split("</select>")[0]
    assert f'value="{user.id}"' in offered and "sun · Grid worker" in offered

    page = link(client, person, user, version=1)
    person.refresh_from_db()
    assert (person.user_id, person.version) == (user.id, 2)
    assert "孙网格 is linked to the account sun." in page
    assert "Logs in as <strong" in page and ">sun</strong>" in page.split('id="account"')[1]
    event = AuditEvent.objects.get(action="link_account")
    assert event.actor_name == "chief" and event.outcome == "ok"
    assert (event.object_type, event.object_id) == ("people.person", str(person.id))
    assert event.station_id == world.station.id
    assert event.detail_data == {"account": "sun", "previous": None}

    page = link(client, person, None, version=2)
    person.refresh_from_db()
    assert (person.user_id, person.version) == (None, 3)
    assert "孙网格 has no account now." in page
    unlinked = AuditEvent.objects.filter(action="link_account").order_by("id").last()
    assert unlinked is not None and unlinked.detail_data == {"account": None, "previous": "sun"}


def test_linking_a_grid_worker_account_opens_the_grids_of_the_person(world):
    person, user = newcomer(world), account(world, "sun", "grid_worker")
    grid_page = f"/territory/grids/{world.block_b.id}/"
    worker = Client()
    worker.force_login(user)
    assert worker.get(grid_page).status_code == 404
    actions.link_account(world.users["chief"], person, version=1, user=user)
    assert worker.get(grid_page).status_code == 200
    # Block A is still not theirs.
    assert worker.get(f"/territory/grids/{world.block_a.id}/").status_code == 404
    # Unlinked, the account sees nothing again.
    actions.link_account(world.users["chief"], person, version=2, user=None)
    assert worker.get(grid_page).status_code == 404


def test_only_the_accounts_that_fit_are_offered(world):
    person = newcomer(world)
    fits = account(world, "sun", "grid_worker")
    account(world, "off", "grid_worker", is_active=False)
    account(world, "aux", "auxiliary")
    account(world, "far", "grid_worker", station=world.other_station)
    # world.users["grid_worker"] is 张网格's already.
    assert list(accounts_to_link(person)) == [fits]
    officer = world.people["officer"]
    assert set(accounts_to_link(officer)) == {world.users["officer"], world.users["chief"]}
    deputy = Person.objects.create(station=world.station, name="人大代表", kind="deputy")
    member = account(world, "member", "mediation_member")
    assert list(accounts_to_link(deputy)) == [member]


REFUSALS = {
    "wrong_role": "A Grid worker cannot be linked to an account with the role Auxiliary officer.",
    "other_station": "Choose an account of this person's station.",
    "three_admins": "Choose an account of this person's station.",
    "linked_elsewhere": "This account is already linked to another person.",
    "disabled": "This account is disabled.",
    "stale": "Someone else changed this person while you were editing.",
}


def _refused_account(world: World, case: str) -> User:
    if case == "wrong_role":
        return account(world, "aux", "auxiliary")
    if case == "other_station":
        return account(world, "far", "grid_worker", station=world.other_station)
    if case == "three_admins":
        return world.users["security_admin"]
    if case == "linked_elsewhere":
        return world.users["grid_worker"]
    if case == "disabled":
        return account(world, "off", "grid_worker", is_active=False)
    return account(world, "sun", "grid_worker")


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_link_names_the_field_and_writes_nothing(world, case):
    person = newcomer(world)
    user = _refused_account(world, case)
    client = english(world, "chief")
    page = link(client, person, user, version=9 if case == "stale" else 1)
    messages = html.unescape(page.split('class="messages"')[1].split("</ul>")[0])
    assert f"Account: {REFUSALS[case]}" in messages
    person.refresh_from_db()
    assert (person.user_id, person.version) == (None, 1)
    assert not AuditEvent.objects.filter(action="link_account").exists()
    if case == "linked_elsewhere":
        assert Person.objects.get(user=user) == world.people["grid_worker"]


def test_a_link_without_the_version_is_refused(world):
    person, user = newcomer(world), account(world, "sun", "grid_worker")
    client = english(world, "chief")
    response = client.post(f"/people/{person.id}/account/", {"user": str(user.id)}, follow=True)
    assert "This form is out of date" in response.content.decode()
    person.refresh_from_db()
    assert (person.user_id, person.version) == (None, 1)


ACTION_REFUSALS: dict[str, tuple[str, dict[str, Any], str]] = {
    "wrong_role": ("auxiliary", {}, "cannot be linked to an account with the role"),
    "other_station": ("grid_worker", {"other": True}, "Choose an account of this person's"),
    "security_admin": ("security_admin", {"station": None}, "is never linked to a person"),
    "auditor": ("auditor", {"station": None}, "is never linked to a person"),
    "bureau_admin": ("bureau_admin", {"station": None}, "is never linked to a person"),
    "disabled": ("grid_worker", {"is_active": False}, "This account is disabled."),
}


@pytest.mark.parametrize("case", ACTION_REFUSALS)
def test_the_action_refuses_an_account_that_does_not_fit(world, case):
    role, fields, message = ACTION_REFUSALS[case]
    fields = dict(fields)
    if fields.pop("other", False):
        fields["station"] = world.other_station
    person, user = newcomer(world), account(world, f"x_{case}", role, **fields)
    with translation.override("en"):
        with pytest.raises(actions.AccountRefused) as refused:
            actions.link_account(world.users["chief"], person, version=1, user=user)
        assert refused.value.field == "user" and message in str(refused.value)
    person.refresh_from_db()
    assert (person.user_id, person.version) == (None, 1)
    assert not AuditEvent.objects.filter(action="link_account").exists()


def test_a_stale_version_is_refused_by_the_action(world):
    person, user = newcomer(world), account(world, "sun", "grid_worker")
    actions.update_person(world.users["chief"], person, version=1, badge_number="7")
    with pytest.raises(actions.StaleEdit):
        actions.link_account(world.users["chief"], person, version=1, user=user)
    person.refresh_from_db()
    assert (person.user_id, person.version) == (None, 2)
    assert not AuditEvent.objects.filter(action="link_account").exists()


def test_a_race_for_one_account_is_decided_by_the_database(world, monkeypatch):
    """Two people linked to one account at once: both pass the check, the constraint refuses
    the second, with the same message as the check."""
    first, user = newcomer(world), account(world, "sun", "grid_worker")
    second = Person.objects.create(station=world.station, name="周网格", kind="grid_worker")
    actions.link_account(world.users["chief"], first, version=1, user=user)
    real = actions._linked_elsewhere
    calls: list[int] = []

    def blind_check(user_id: int, person_id: int) -> bool:
        calls.append(person_id)
        return False if len(calls) == 1 else real(user_id, person_id)

    monkeypatch.setattr(actions, "_linked_elsewhere", blind_check)
    with translation.override("en"):
        with pytest.raises(actions.AccountRefused) as refused:
            actions.link_account(world.users["chief"], second, version=1, user=user)
        assert str(refused.value) == "This account is already linked to another person."
    assert len(calls) == 2  # the blind check, then the one after the constraint refused
    second.refresh_from_db()
    assert (second.user_id, second.version) == (None, 1)
    assert AuditEvent.objects.filter(action="link_account").count() == 1


def test_linking_the_same_account_again_writes_nothing(world):
    officer = world.people["officer"]
    actions.link_account(world.users["chief"], officer, version=1, user=world.users["officer"])
    officer.refresh_from_db()
    assert officer.version == 1
    assert not AuditEvent.objects.filter(action="link_account").exists()


def test_the_bureau_admin_links_too(world):
    person, user = newcomer(world), account(world, "sun", "grid_worker")
    link(world.client("bureau_admin"), person, user, version=1)
    person.refresh_from_db()
    assert person.user_id == user.id
    assert AuditEvent.objects.get(action="link_account").actor_name == "bureau_admin"


# Everyone but the managers of station TC: another station's chief, an officer without
# people.manage, a grid worker, the 三员 (system admin, ...).
@pytest.mark.parametrize("role", sorted(set(ROLES) - {"bureau_admin", "chief"}))
def test_who_may_not_manage_people_gets_404_and_nothing_changes(world, role):
    person, user = newcomer(world), account(world, "sun", "grid_worker")
    actor = world.users[role]
    denied_before = AuditEvent.objects.filter(actor_id=actor.id, outcome="denied").count()
    response = world.client(role).post(
        f"/people/{person.id}/account/", {"user": str(user.id), "version": "1"}
    )
    assert response.status_code == 404
    person.refresh_from_db()
    assert (person.user_id, person.version) == (None, 1)
    assert not AuditEvent.objects.filter(action="link_account").exists()
    denied = AuditEvent.objects.filter(actor_id=actor.id, outcome="denied")
    assert denied.count() == denied_before + 1
    event = denied.order_by("id").last()
    assert event is not None
    assert (event.object_type, event.object_id) == ("people.person", str(person.id))
    assert event.detail_data["mode"] == "write"


def test_the_account_and_its_form_show_only_to_people_managers(world):
    officer = world.people["officer"]
    chief = world.client("chief").get(f"/people/{officer.id}/").content.decode()
    assert 'id="account"' in chief and f"/people/{officer.id}/account/" in chief
    shown = chief.split('id="account"')[1].split("</p>")[0]
    assert ">officer</strong>" in shown
    for role in ("officer", "auxiliary", "mediator"):
        page = world.client(role).get(f"/people/{officer.id}/").content.decode()
        assert 'id="account"' not in page and f"/people/{officer.id}/account/" not in page, role
