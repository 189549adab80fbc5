"""Account requests: who may decide them, and that nobody decides their own."""

from __future__ import annotations

import pytest

from jingwang.accounts.models import AccountRequest, User
from jingwang.accounts.tests.helpers import denied_events, shown, verified_client
from jingwang.audit.models import AuditEvent
from jingwang.territory.models import Bureau, Station
from tests.cast import PASSWORD, World


def new_officer_request(world: World) -> AccountRequest:
    world.client("security_admin").post(
        "/accounts/users/",
        {"username": "new.officer", "role": "officer", "station": world.station.id},
    )
    return AccountRequest.objects.get(username="new.officer")


def second_bureau_admin(world: World) -> User:
    user = User(username="juzhang2", role="bureau_admin", bureau=world.bureau)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize(
    "role", ["security_admin", "chief", "other_chief", "grid_worker", "auditor", "system_admin"]
)
def test_only_a_bureau_admin_approves(world, role):
    request = new_officer_request(world)
    user = world.users[role]
    before = denied_events(user)
    response = world.client(role).post(f"/accounts/requests/{request.id}/", {"verb": "approve"})
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == "pending" and request.decided_by is None
    assert not User.objects.filter(username="new.officer").exists()
    assert denied_events(user) == before + 1
    assert not AuditEvent.objects.filter(action="approve_account_request").exists()


def test_a_station_chief_cannot_open_the_requests_page(world):
    new_officer_request(world)
    assert world.client("chief").get("/accounts/requests/").status_code == 404
    assert world.client("security_admin").get("/accounts/requests/").status_code == 200


def test_nobody_approves_a_request_about_themselves(world):
    me = world.users["bureau_admin"]
    world.client("security_admin").post(f"/accounts/users/{me.id}/", {"verb": "password"})
    request = AccountRequest.objects.get(account=me)
    password = me.password
    # Not even shown a button for it.
    page = world.client("bureau_admin").get("/accounts/requests/").content.decode()
    assert f'action="/accounts/requests/{request.id}/"' not in page
    before = denied_events(me)
    response = world.client("bureau_admin").post(
        f"/accounts/requests/{request.id}/", {"verb": "approve"}
    )
    assert response.status_code == 404
    assert denied_events(me) == before + 1
    me.refresh_from_db()
    request.refresh_from_db()
    assert me.password == password and request.status == "pending"
    # Another bureau admin of the bureau may.
    other = second_bureau_admin(world)
    page = verified_client(other).post(f"/accounts/requests/{request.id}/", {"verb": "approve"})
    assert shown(page, "temporary-password")
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == other


def test_a_bureau_admin_of_another_bureau_sees_and_decides_nothing(world):
    request = new_officer_request(world)
    bureau = Bureau.objects.create(code="YT", name="盐亭县公安局")
    Station.objects.create(bureau=bureau, code="YT1", name="盐亭派出所")
    world.users["bureau_admin"].bureau = bureau
    world.users["bureau_admin"].save()
    client = world.client("bureau_admin")
    assert "new.officer" not in client.get("/accounts/requests/").content.decode()
    assert client.post(f"/accounts/requests/{request.id}/", {"verb": "approve"}).status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_refusal_needs_a_reason_and_is_kept_with_it(world):
    request = new_officer_request(world)
    client = world.client("bureau_admin")
    client.post("/accounts/language/", {"language": "en"})
    client.post(f"/accounts/requests/{request.id}/", {"verb": "refuse", "reason": "  "})
    request.refresh_from_db()
    assert request.status == "pending"
    assert "Say why" in client.get("/accounts/requests/").content.decode()
    client.post(f"/accounts/requests/{request.id}/", {"verb": "refuse", "reason": "无此人"})
    request.refresh_from_db()
    assert (request.status, request.reason, request.decided_by) == (
        "refused",
        "无此人",
        world.users["bureau_admin"],
    )
    assert request.decided_at is not None
    assert not User.objects.filter(username="new.officer").exists()
    event = AuditEvent.objects.get(action="refuse_account_request")
    assert "无此人" in event.detail
    # The security admin reads it on the same page.
    page = world.client("security_admin").get("/accounts/requests/").content.decode()
    assert "无此人" in page


def test_a_decided_request_is_not_decided_again(world):
    request = new_officer_request(world)
    client = world.client("bureau_admin")
    client.post(f"/accounts/requests/{request.id}/", {"verb": "refuse", "reason": "no"})
    client.post(f"/accounts/requests/{request.id}/", {"verb": "approve"})
    request.refresh_from_db()
    assert request.status == "refused"
    assert not User.objects.filter(username="new.officer").exists()


def test_the_requester_withdraws_and_no_one_else_does(world):
    request = new_officer_request(world)
    approver = world.users["bureau_admin"]
    before = denied_events(approver)
    response = world.client("bureau_admin").post(
        f"/accounts/requests/{request.id}/", {"verb": "withdraw"}
    )
    assert response.status_code == 404 and denied_events(approver) == before + 1
    request.refresh_from_db()
    assert request.status == "pending"
    world.client("security_admin").post(f"/accounts/requests/{request.id}/", {"verb": "withdraw"})
    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert AuditEvent.objects.filter(action="withdraw_account_request").exists()


def test_one_open_request_per_account(world):
    target = world.users["mediator"]
    admin = world.client("security_admin")
    admin.post(f"/accounts/users/{target.id}/", {"verb": "password"})
    admin.post(
        f"/accounts/users/{target.id}/",
        {"verb": "role", "role": "officer", "station": world.station.id},
    )
    assert AccountRequest.objects.filter(account=target).count() == 1


def test_a_missing_request_is_a_404(world):
    assert (
        world.client("bureau_admin")
        .post("/accounts/requests/999999/", {"verb": "approve"})
        .status_code
        == 404
    )
