from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_lands_on_home_and_is_audited(client, world):
    response = login(client, "chief", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert "潼川派出所" in home.content.decode()
    event = AuditEvent.objects.get(action="login")
    assert (event.actor_name, event.actor_role, event.outcome) == ("chief", "station_chief", "ok")
    assert event.ip == "127.0.0.1"


def test_failed_login_is_audited_and_names_no_field_it_should_not(client, world):
    response = login(client, "chief", "wrong-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="login_failed")
    assert (event.actor_name, event.outcome) == ("chief", "denied")


def test_five_failed_logins_lock_the_account_for_ten_minutes(client, world):
    for _ in range(5):
        login(client, "officer", "wrong-password")
    response = login(client, "officer", PASSWORD)
    assert response.status_code == 403
    assert "10" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account is not affected.
    assert login(client, "chief", PASSWORD).status_code == 302


def test_lock_expires_after_the_cooloff(client, world, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=10)
    for _ in range(5):
        login(client, "officer", "wrong-password")
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=11))
    assert login(client, "officer", PASSWORD).status_code == 302


def test_idle_session_expires(client, world, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    login(client, "chief", PASSWORD)
    assert client.get("/territory/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/territory/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_each_request_pushes_the_idle_deadline(client, world):
    login(client, "chief", PASSWORD)
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=1))
    client.get("/territory/")
    remaining = Session.objects.get().expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


@pytest.mark.parametrize(
    "password, reason",
    [
        ("Ab1!", "password_too_short"),
        ("password", "password_too_common"),
        ("abcdefghij", "password_too_simple"),
        ("abcdefgh12", "password_too_simple"),
        ("Password1", "password_too_common"),
    ],
)
def test_password_policy_refuses(password, reason, db):
    with pytest.raises(ValidationError) as error:
        password_validation.validate_password(password)
    assert reason in [e.code for e in error.value.error_list]


@pytest.mark.parametrize("password", ["Jingwang-2026", "grid+Net7x", "Zizhou2026x!"])
def test_password_policy_accepts(password, db):
    password_validation.validate_password(password)


def test_logout_needs_post(client, world):
    login(client, "chief", PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/territory/").status_code == 302


def test_login_does_not_redirect_off_site(client, world):
    response = client.post(
        "/accounts/login/?next=https://example.org/", {"username": "chief", "password": PASSWORD}
    )
    assert response["Location"] == "/"
