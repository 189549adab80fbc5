"""Accounts by the security admin: the 三员 directly, case data only with a bureau admin."""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from jingwang.accounts import otp
from jingwang.accounts.models import AccountRequest, User
from jingwang.accounts.tests.helpers import (
    code_of,
    denied_events,
    known_secret,
    password_step,
    shown,
)
from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD

NEW_OFFICER = {
    "username": "new.officer",
    "full_name": "新民警",
    "role": "officer",
    "note": "新调入",
}


def test_a_case_data_account_is_created_only_when_a_bureau_admin_approves(world, client):
    admin = world.client("security_admin")
    response = admin.post("/accounts/users/", {**NEW_OFFICER, "station": world.station.id})
    assert response.status_code == 302 and response["Location"] == "/accounts/requests/"
    assert not User.objects.filter(username="new.officer").exists()
    request = AccountRequest.objects.get()
    assert (request.kind, request.status, request.requested_by) == (
        "create",
        "pending",
        world.users["security_admin"],
    )
    assert request.bureau == world.bureau
    # The bureau admin sees it on the account requests page and approves it.
    approver = world.client("bureau_admin")
    assert "new.officer" in approver.get("/accounts/requests/").content.decode()
    page = approver.post(f"/accounts/requests/{request.id}/", {"verb": "approve"})
    assert page.status_code == 200 and page["Cache-Control"].startswith("no-store")
    password = shown(page, "temporary-password")
    user = User.objects.get(username="new.officer")
    assert (user.role, user.station_id, user.password_is_temporary) == (
        "officer",
        world.station.id,
        True,
    )
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.account) == (
        "approved",
        world.users["bureau_admin"],
        user,
    )
    # The password was never shown to the security admin who asked.
    assert password not in admin.get("/accounts/requests/").content.decode()
    assert password not in admin.get(f"/accounts/users/{user.id}/").content.decode()
    assert password not in "".join(AuditEvent.objects.values_list("detail", flat=True))
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", "actor_name"))
    assert ("request_account_change", "security_admin") in actions
    assert ("create_user", "bureau_admin") in actions
    assert ("approve_account_request", "bureau_admin") in actions
    # The new officer logs in with it and must change it first.
    assert password_step(client, "new.officer", password)["Location"] == "/"
    assert client.get("/people/")["Location"] == "/accounts/password/"


def test_the_home_page_tells_the_bureau_admin_a_request_waits(world):
    world.client("security_admin").post(
        "/accounts/users/", {**NEW_OFFICER, "station": world.station.id}
    )
    page = world.client("bureau_admin").get("/").content.decode()
    assert "/accounts/requests/" in page
    assert "/accounts/requests/" not in world.client("chief").get("/").content.decode()


def test_a_three_admin_account_is_made_at_once_with_a_temporary_password(world, client):
    admin = world.client("security_admin")
    page = admin.post("/accounts/users/", {"username": "audit2", "role": "auditor"})
    assert page.status_code == 200
    password = shown(page, "temporary-password")
    user = User.objects.get(username="audit2")
    assert user.role == "auditor" and user.password_is_temporary
    assert not AccountRequest.objects.exists()
    # First login: password, then set up the second factor, then choose a password.
    assert password_step(client, "audit2", password)["Location"] == "/accounts/login/code/"
    enrol = client.get("/accounts/login/enrol/")
    secret = shown(enrol, "otp-secret").replace(" ", "")
    client.post("/accounts/login/enrol/", {"code": otp.code_for_secret(secret)})
    assert client.get("/audit/")["Location"] == "/accounts/password/"
    changed = client.post(
        "/accounts/password/",
        {"current": password, "new": "Shenji-Own-2027", "again": "Shenji-Own-2027"},
    )
    assert changed["Location"] == "/"
    assert client.get("/audit/").status_code == 200


def test_bad_accounts_are_refused_field_by_field(world):
    admin = world.client("security_admin")
    admin.post("/accounts/language/", {"language": "en"})
    page = admin.post("/accounts/users/", {"username": "chief", "role": "officer"}).content.decode()
    assert "This username is taken." in page
    assert "This role needs a station." in page
    page = admin.post("/accounts/users/", {"username": "x.y", "role": "bureau_admin"}).content
    assert "A bureau admin needs a bureau." in page.decode()
    page = admin.post("/accounts/users/", {"username": "a b", "role": "auditor"}).content
    assert "Use 3 or more letters" in page.decode()
    assert not User.objects.filter(username__in=["x.y", "a b"]).exists()
    assert not AccountRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["create_user", "request_account_change"])


def test_a_second_request_for_the_same_username_is_refused(world):
    admin = world.client("security_admin")
    admin.post("/accounts/language/", {"language": "en"})
    admin.post("/accounts/users/", {**NEW_OFFICER, "station": world.station.id})
    page = admin.post("/accounts/users/", {**NEW_OFFICER, "station": world.station.id})
    assert "already waiting for approval" in page.content.decode()
    assert AccountRequest.objects.count() == 1


def test_only_the_security_admin_manages_accounts(world):
    for role in ("chief", "bureau_admin", "system_admin", "auditor", "grid_worker"):
        user = world.users[role]
        client = world.client(role)
        before = denied_events(user)
        assert client.get("/accounts/users/").status_code == 404
        response = client.post(
            "/accounts/users/",
            {"username": "sneaky", "role": "auditor"},
        )
        assert response.status_code == 404
        assert denied_events(user) == before + 2
    assert not User.objects.filter(username="sneaky").exists()
    assert not AccountRequest.objects.exists()


def test_security_admin_unlocks_a_locked_account(world, client):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "officer", "password": "wrong-password"})
    assert password_step(client, "officer", PASSWORD).status_code == 403
    admin = world.client("security_admin")
    assert 'value="unlock"' in admin.get("/accounts/users/").content.decode()
    admin.post(f"/accounts/users/{world.users['officer'].id}/", {"verb": "unlock"})
    assert password_step(client, "officer", PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="unlock_account", actor_name="security_admin").exists()


def test_security_admin_disables_and_enables_an_account(world, client):
    admin = world.client("security_admin")
    target = world.users["auxiliary"]
    admin.post(f"/accounts/users/{target.id}/", {"verb": "disable"})
    assert password_step(client, "auxiliary", PASSWORD).status_code == 200
    admin.post(f"/accounts/users/{target.id}/", {"verb": "enable"})
    assert password_step(client, "auxiliary", PASSWORD).status_code == 302
    done = AuditEvent.objects.filter(object_id=str(target.id), actor_name="security_admin")
    assert list(done.order_by("seq").values_list("action", flat=True)) == [
        "disable_account",
        "enable_account",
    ]


def test_others_cannot_disable_an_account(world):
    target = world.users["auxiliary"]
    for role in ("chief", "other_chief", "auditor", "system_admin", "grid_worker"):
        before = denied_events(world.users[role])
        response = world.client(role).post(f"/accounts/users/{target.id}/", {"verb": "disable"})
        assert response.status_code == 404
        assert denied_events(world.users[role]) == before + 1
    target.refresh_from_db()
    assert target.is_active


def test_a_three_admin_password_is_reset_at_once_and_shown_once(world, client):
    target = world.users["auditor"]
    known_secret(target)
    page = world.client("security_admin").post(
        f"/accounts/users/{target.id}/", {"verb": "password"}
    )
    password = shown(page, "temporary-password")
    target.refresh_from_db()
    assert target.password_is_temporary and not target.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="reset_password", object_id=str(target.id)).exists()
    password_step(client, "auditor", password)
    client.post("/accounts/login/code/", {"code": code_of(target)})
    assert client.get("/audit/")["Location"] == "/accounts/password/"


def test_a_case_data_password_reset_waits_for_approval_and_is_shown_to_the_approver(world, client):
    target = world.users["auxiliary"]
    admin = world.client("security_admin")
    response = admin.post(f"/accounts/users/{target.id}/", {"verb": "password", "note": "忘了"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password(PASSWORD) and not target.password_is_temporary
    request = AccountRequest.objects.get(kind="reset_password")
    assert (request.account, request.note) == (target, "忘了")
    page = world.client("bureau_admin").post(
        f"/accounts/requests/{request.id}/", {"verb": "approve"}
    )
    password = shown(page, "temporary-password")
    target.refresh_from_db()
    assert target.check_password(password) and target.password_is_temporary
    assert password_step(client, "auxiliary", PASSWORD).status_code == 200  # the old one is dead


def test_the_security_admin_changes_nothing_of_their_own_account(world):
    me = world.users["security_admin"]
    client = world.client("security_admin")
    password = me.password
    for data in (
        {"verb": "password"},
        {"verb": "second_factor"},
        {"verb": "disable"},
        {"verb": "role", "role": "bureau_admin", "bureau": world.bureau.id},
    ):
        before = denied_events(me)
        response = client.post(f"/accounts/users/{me.id}/", data)
        assert response.status_code == 404, data
        assert denied_events(me) == before + 1, data
    me.refresh_from_db()
    assert (me.role, me.bureau_id, me.password, me.is_active) == (
        "security_admin",
        None,
        password,
        True,
    )
    assert TOTPDevice.objects.filter(user=me).exists()
    assert not AccountRequest.objects.exists()


def test_raising_a_role_takes_a_bureau_admin_and_ends_the_tokens(world):
    officer = world.users["officer"]
    world.client("officer").post("/accounts/tokens/", {"name": "bridge"})
    admin = world.client("security_admin")
    admin.post(
        f"/accounts/users/{officer.id}/",
        {"verb": "role", "role": "station_chief", "station": world.station.id},
    )
    officer.refresh_from_db()
    assert officer.role == "officer"
    request = AccountRequest.objects.get(kind="change_role")
    assert request.role == "station_chief" and request.account == officer
    response = world.client("bureau_admin").post(
        f"/accounts/requests/{request.id}/", {"verb": "approve"}
    )
    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.role == "station_chief" and not officer.password_is_temporary
    assert officer.check_password(PASSWORD)  # a case-data account keeps its own password
    assert officer.api_tokens.get().revoked_reason == "role"
    event = AuditEvent.objects.get(action="change_role")
    assert event.actor_name == "bureau_admin" and '"to": "station_chief"' in event.detail


def test_moving_an_account_to_a_three_admin_role_is_direct(world):
    officer = world.users["officer"]
    world.client("security_admin").post(
        f"/accounts/users/{officer.id}/", {"verb": "role", "role": "system_admin"}
    )
    officer.refresh_from_db()
    assert (officer.role, officer.station_id) == ("system_admin", None)
    assert not AccountRequest.objects.exists()


def test_giving_case_data_back_to_a_three_admin_account_starts_it_afresh(world, client):
    # The security admin could demote an officer, reset the password (a 三员 account), and ask
    # to raise it again: the approval makes a new password for the approver to hand over.
    target = world.users["officer"]
    admin = world.client("security_admin")
    admin.post(f"/accounts/users/{target.id}/", {"verb": "role", "role": "system_admin"})
    known = shown(
        admin.post(f"/accounts/users/{target.id}/", {"verb": "password"}), "temporary-password"
    )
    admin.post(
        f"/accounts/users/{target.id}/",
        {"verb": "role", "role": "officer", "station": world.station.id},
    )
    request = AccountRequest.objects.get(kind="change_role")
    page = world.client("bureau_admin").post(
        f"/accounts/requests/{request.id}/", {"verb": "approve"}
    )
    handed = shown(page, "temporary-password")
    target.refresh_from_db()
    assert target.role == "officer" and target.password_is_temporary
    assert not target.check_password(known) and target.check_password(handed)
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert password_step(client, "officer", known).status_code == 200


def test_a_three_admin_second_factor_is_reset_at_once_a_bureau_admins_by_request(world):
    admin = world.client("security_admin")
    auditor, bureau_admin = world.users["auditor"], world.users["bureau_admin"]
    admin.post(f"/accounts/users/{auditor.id}/", {"verb": "second_factor"})
    assert not TOTPDevice.objects.filter(user=auditor).exists()
    admin.post(f"/accounts/users/{bureau_admin.id}/", {"verb": "second_factor"})
    assert TOTPDevice.objects.filter(user=bureau_admin).exists()
    request = AccountRequest.objects.get(kind="reset_second_factor")
    assert request.account == bureau_admin
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"reset_second_factor", "request_account_change"} <= actions


def test_nobody_but_the_security_admin_changes_an_account(world):
    target = world.users["auxiliary"]
    attempts = [
        {"verb": "password"},
        {"verb": "second_factor"},
        {"verb": "unlock"},
        {"verb": "role", "role": "station_chief", "station": world.station.id},
    ]
    for role in ("bureau_admin", "chief", "other_chief", "auditor", "system_admin", "grid_worker"):
        user = world.users[role]
        client = world.client(role)
        for data in attempts:
            before = denied_events(user)
            assert client.post(f"/accounts/users/{target.id}/", data).status_code == 404
            assert denied_events(user) == before + 1, (role, data)
        assert client.get(f"/accounts/users/{target.id}/").status_code == 404
    fresh = User.objects.get(pk=target.pk)
    assert (fresh.role, fresh.password, fresh.password_is_temporary) == (
        "auxiliary",
        target.password,
        False,
    )
    assert not AccountRequest.objects.exists()
    assert not AuditEvent.objects.filter(
        action__in=["reset_password", "change_role", "unlock_account", "request_account_change"]
    ).exists()
