from __future__ import annotations

from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD


def test_security_admin_creates_an_account_that_can_log_in(world, client):
    admin = world.client("security_admin")
    admin.post("/accounts/language/", {"language": "en"})
    response = admin.post(
        "/accounts/users/",
        {
            "username": "new.officer",
            "full_name": "新民警",
            "role": "officer",
            "station": world.station.id,
            "password": "Tongchuan-77",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="new.officer")
    assert (user.role, user.station_id) == ("officer", world.station.id)
    event = AuditEvent.objects.get(action="create_user")
    assert event.actor_name == "security_admin" and event.object_id == str(user.id)
    assert (
        client.post(
            "/accounts/login/", {"username": "new.officer", "password": "Tongchuan-77"}
        ).status_code
        == 302
    )


def test_bad_accounts_are_refused_field_by_field(world):
    admin = world.client("security_admin")
    admin.post("/accounts/language/", {"language": "en"})
    page = admin.post(
        "/accounts/users/",
        {"username": "chief", "role": "officer", "password": "password"},
    ).content.decode()
    assert "This username is taken." in page
    assert "This role needs a station." in page
    assert "too common" in page
    page = admin.post(
        "/accounts/users/", {"username": "x.y", "role": "bureau_admin", "password": "abcdefghijk"}
    ).content.decode()
    assert "A bureau admin needs a bureau." in page and "at least 3 of" in page
    assert not User.objects.filter(username="x.y").exists()
    assert not AuditEvent.objects.filter(action="create_user").exists()


def test_only_the_security_admin_manages_accounts(world):
    for role in ("chief", "bureau_admin", "system_admin", "auditor"):
        client = world.client(role)
        assert client.get("/accounts/users/").status_code == 404
        client.post(
            "/accounts/users/",
            {
                "username": "sneaky",
                "role": "bureau_admin",
                "bureau": world.bureau.id,
                "password": "Tongchuan-77",
            },
        )
    assert not User.objects.filter(username="sneaky").exists()


def test_security_admin_unlocks_a_locked_account(world, client):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "officer", "password": "wrong-password"})
    assert (
        client.post("/accounts/login/", {"username": "officer", "password": PASSWORD}).status_code
        == 403
    )
    admin = world.client("security_admin")
    assert 'value="unlock"' in admin.get("/accounts/users/").content.decode()
    admin.post(f"/accounts/users/{world.users['officer'].id}/", {"verb": "unlock"})
    assert (
        client.post("/accounts/login/", {"username": "officer", "password": PASSWORD}).status_code
        == 302
    )
    assert AuditEvent.objects.filter(action="unlock_account", actor_name="security_admin").exists()


def test_security_admin_disables_and_resets_a_password(world, client):
    admin = world.client("security_admin")
    target = world.users["auxiliary"]
    admin.post(f"/accounts/users/{target.id}/", {"verb": "disable"})
    assert (
        client.post("/accounts/login/", {"username": "auxiliary", "password": PASSWORD}).status_code
        == 200
    )
    admin.post(f"/accounts/users/{target.id}/", {"verb": "enable"})
    admin.post(f"/accounts/users/{target.id}/", {"verb": "password", "password": "short"})
    target.refresh_from_db()
    assert target.check_password(PASSWORD)  # a weak password is refused
    admin.post(f"/accounts/users/{target.id}/", {"verb": "password", "password": "Fujing-2027x"})
    assert (
        client.post(
            "/accounts/login/", {"username": "auxiliary", "password": "Fujing-2027x"}
        ).status_code
        == 302
    )
    done = AuditEvent.objects.filter(object_id=str(target.id), actor_name="security_admin")
    assert list(done.order_by("seq").values_list("action", flat=True)) == [
        "disable_account",
        "enable_account",
        "reset_password",
    ]
    for role in ("chief", "auditor", "system_admin"):
        assert (
            world.client(role)
            .post(f"/accounts/users/{target.id}/", {"verb": "disable"})
            .status_code
            == 404
        )
    target.refresh_from_db()
    assert target.is_active


def test_logout_is_audited(world):
    client = world.client("chief")
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(action="logout", actor_name="chief").exists()
