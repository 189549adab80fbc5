"""Temporary passwords and the account page."""

from __future__ import annotations

from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD


def temporary(world, role: str = "officer"):
    user = world.users[role]
    user.password_is_temporary = True
    user.save()
    return world.client(role)


def test_a_temporary_password_sends_every_page_to_the_change_page(world):
    client = temporary(world)
    for url in ("/", "/people/", "/accounts/me/", "/accounts/tokens/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and 'class="notice"' in page.content.decode()
    # Logging out and switching the language still work.
    assert client.post("/accounts/language/", {"language": "en"}).status_code == 302
    assert client.post("/accounts/logout/").status_code == 302


def test_the_change_is_checked_field_by_field(world):
    client = temporary(world)
    client.post("/accounts/language/", {"language": "en"})
    page = client.post(
        "/accounts/password/",
        {"current": "wrong", "new": "Minjing-2027x", "again": "Minjing-2027x"},
    ).content.decode()
    assert "This is not your current password." in page
    page = client.post(
        "/accounts/password/",
        {"current": PASSWORD, "new": "Minjing-2027x", "again": "Minjing-2028x"},
    ).content.decode()
    assert "The two new passwords differ." in page
    page = client.post(
        "/accounts/password/", {"current": PASSWORD, "new": "abcdefghij", "again": "abcdefghij"}
    ).content.decode()
    assert "at least 3 of" in page
    page = client.post(
        "/accounts/password/", {"current": PASSWORD, "new": PASSWORD, "again": PASSWORD}
    ).content.decode()
    assert "other than the current one" in page
    world.users["officer"].refresh_from_db()
    assert world.users["officer"].check_password(PASSWORD)
    assert world.users["officer"].password_is_temporary
    assert not AuditEvent.objects.filter(action="change_password").exists()


def test_a_changed_password_opens_the_site_and_keeps_the_session(world, client):
    session = temporary(world)
    response = session.post(
        "/accounts/password/",
        {"current": PASSWORD, "new": "Minjing-2027x", "again": "Minjing-2027x"},
    )
    assert response["Location"] == "/"
    assert session.get("/people/").status_code == 200
    officer = world.users["officer"]
    officer.refresh_from_db()
    assert not officer.password_is_temporary and officer.check_password("Minjing-2027x")
    event = AuditEvent.objects.get(action="change_password")
    assert event.actor_name == "officer" and '"was_temporary": true' in event.detail
    assert (
        client.post(
            "/accounts/login/", {"username": "officer", "password": "Minjing-2027x"}
        ).status_code
        == 302
    )


def test_the_account_page_shows_password_second_factor_and_tokens(world):
    client = world.client("officer")
    client.post("/accounts/tokens/", {"name": "110 bridge"})
    page = client.get("/accounts/me/").content.decode()
    assert 'name="current"' in page and 'name="again"' in page
    assert "110 bridge" in page
    assert 'id="second-factor"' in page
    admin_page = world.client("bureau_admin").get("/accounts/me/").content.decode()
    assert 'action="/accounts/me/recovery-codes/"' in admin_page


def test_a_user_changes_their_own_password_from_the_account_page(world):
    client = world.client("chief")
    response = client.post(
        "/accounts/password/",
        {"current": PASSWORD, "new": "Suozhang-2027x", "again": "Suozhang-2027x"},
    )
    assert response["Location"] == "/accounts/me/"
    world.users["chief"].refresh_from_db()
    assert world.users["chief"].check_password("Suozhang-2027x")
