from __future__ import annotations

import re

from django.http import HttpResponse
from django.test import Client

from jingwang.accounts.models import AccountRequest, ApiToken
from jingwang.accounts.tests.helpers import denied_events
from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD


def new_key(page: HttpResponse) -> str:
    """The key the tokens page shows once, right after it made the token."""
    found = re.search(r'id="new-token">(jw_[^<]+)<', page.content.decode())
    assert found is not None, "the page shows no new token"
    return found.group(1)


def test_a_token_made_on_the_page_authenticates_the_api(world):
    page = world.client("officer").post("/accounts/tokens/", {"name": "110 bridge"})
    key = new_key(page)
    token = ApiToken.objects.get(user=world.users["officer"])
    assert token.digest != key and key not in token.digest  # only the digest is stored
    assert AuditEvent.objects.filter(action="create_api_token").exists()

    api = Client()
    response = api.get("/api/v1/territory/grids", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert {g["code"][:2] for g in response.json()} == {"TC"}


def test_a_revoked_or_wrong_token_is_refused(world):
    client = world.client("officer")
    page = client.post("/accounts/tokens/", {"name": "x"})
    key = new_key(page)
    token = ApiToken.objects.get()
    client.post("/accounts/tokens/", {"revoke": str(token.id)})
    api = Client()
    assert api.get("/api/v1/territory/grids", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert (
        api.get("/api/v1/territory/grids", HTTP_AUTHORIZATION="Bearer jw_nonsense").status_code
        == 401
    )


def test_an_empty_token_name_is_refused_with_a_message(world):
    response = world.client("officer").post("/accounts/tokens/", {"name": ""})
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert "errorlist" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Expiry, death with the password, role and account, revocation by the security admin


def make_token(world, role: str = "officer") -> tuple[ApiToken, str]:
    page = world.client(role).post("/accounts/tokens/", {"name": "110 bridge"})
    return ApiToken.objects.filter(user=world.users[role]).latest("id"), new_key(page)


def call(key: str):
    return Client().get("/api/v1/territory/grids", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_token_expires_after_the_configured_days(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.API_TOKEN_DAYS = 30
    token, key = make_token(world)
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert call(key).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    expired = call(key)
    assert expired.status_code == 401
    assert expired.json()["errors"][0]["message"]
    page = world.client("officer").get("/accounts/me/").content.decode()
    assert "jw_" + token.prefix in page


def test_tokens_die_with_a_password_change_on_the_account_page(world):
    _token, key = make_token(world)
    client = world.client("officer")
    client.post(
        "/accounts/password/",
        {"current": PASSWORD, "new": "Minjing-New-2027", "again": "Minjing-New-2027"},
    )
    assert call(key).status_code == 401
    assert ApiToken.objects.get().revoked_reason == "password"
    event = AuditEvent.objects.get(action="change_password")
    assert '"tokens_revoked": 1' in event.detail


def test_tokens_die_with_a_password_set_any_other_way(world):
    _token, key = make_token(world)
    officer = world.users["officer"]
    officer.set_password("Changed-Elsewhere-1")
    officer.save()
    assert call(key).status_code == 401


def test_tokens_die_with_an_approved_reset(world):
    _token, key = make_token(world)
    world.client("security_admin").post(
        f"/accounts/users/{world.users['officer'].id}/", {"verb": "password"}
    )
    assert call(key).status_code == 200  # only requested so far
    request = AccountRequest.objects.get()
    world.client("bureau_admin").post(f"/accounts/requests/{request.id}/", {"verb": "approve"})
    assert call(key).status_code == 401


def test_tokens_die_with_a_disable_and_stay_dead_after_enable(world):
    _token, key = make_token(world)
    admin = world.client("security_admin")
    officer = world.users["officer"]
    admin.post(f"/accounts/users/{officer.id}/", {"verb": "disable"})
    assert call(key).status_code == 401
    admin.post(f"/accounts/users/{officer.id}/", {"verb": "enable"})
    assert call(key).status_code == 401
    assert ApiToken.objects.get().revoked_reason == "disabled"


def test_the_user_revokes_from_the_account_page(world):
    token, key = make_token(world)
    client = world.client("officer")
    response = client.post("/accounts/tokens/", {"revoke": str(token.id), "next": "/accounts/me/"})
    assert response["Location"] == "/accounts/me/"
    assert call(key).status_code == 401
    token.refresh_from_db()
    assert token.revoked_reason == "user"


def test_the_security_admin_lists_and_revokes_an_accounts_tokens(world):
    token, key = make_token(world)
    admin = world.client("security_admin")
    page = admin.get(f"/accounts/users/{world.users['officer'].id}/").content.decode()
    assert "110 bridge" in page and f"jw_{token.prefix}" in page
    admin.post(
        f"/accounts/users/{world.users['officer'].id}/",
        {"verb": "revoke_token", "token": str(token.id)},
    )
    assert call(key).status_code == 401
    event = AuditEvent.objects.get(action="revoke_api_token")
    assert event.actor_name == "security_admin" and '"reason": "admin"' in event.detail


def test_nobody_else_revokes_a_token(world):
    token, key = make_token(world)
    officer_id = world.users["officer"].id
    attempts = {
        "chief": ("/accounts/tokens/", {"revoke": str(token.id)}),
        "auditor": (f"/accounts/users/{officer_id}/", {"verb": "revoke_token", "token": token.id}),
        "system_admin": ("/accounts/tokens/", {"revoke": str(token.id)}),
        "bureau_admin": (
            f"/accounts/users/{officer_id}/",
            {"verb": "revoke_token", "token": token.id},
        ),
    }
    for role, (url, data) in attempts.items():
        before = denied_events(world.users[role])
        assert world.client(role).post(url, data).status_code == 404, role
        assert denied_events(world.users[role]) == before + 1, role
    # A token id of another account, through the security admin's page for the officer.
    other, _key = make_token(world, "chief")
    response = world.client("security_admin").post(
        f"/accounts/users/{officer_id}/", {"verb": "revoke_token", "token": other.id}
    )
    assert response.status_code == 404
    assert call(key).status_code == 200
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="revoke_api_token").exists()


def test_a_temporary_password_session_gets_a_json_answer_from_the_api(world):
    officer = world.users["officer"]
    officer.password_is_temporary = True
    officer.save()
    response = world.client("officer").get("/api/v1/territory/grids")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"]
