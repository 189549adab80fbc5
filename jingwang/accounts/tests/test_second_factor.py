"""Privileged accounts (三员, bureau admin) log in with a password and a second factor."""

from __future__ import annotations

import re
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from jingwang.accounts import otp
from jingwang.accounts.tests.helpers import (
    code_of,
    denied_events,
    known_secret,
    log_in,
    password_step,
    shown,
)
from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD


def test_bureau_admin_logs_in_with_password_then_code(client, world):
    admin = world.users["bureau_admin"]
    known_secret(admin)
    response = log_in(client, admin, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/territory/?station=TC").status_code == 200
    event = AuditEvent.objects.get(action="login")
    assert event.actor_name == "bureau_admin"
    assert '"second_factor": "totp"' in event.detail


def test_the_password_alone_opens_nothing(client, world):
    auditor = world.users["auditor"]
    known_secret(auditor)
    first = password_step(client, "auditor", PASSWORD)
    assert first["Location"] == "/accounts/login/code/"
    # Straight to the audit log, the account page or the API, skipping the code.
    for url in ("/audit/", "/", "/accounts/me/", "/accounts/tokens/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    api = client.get("/api/v1/territory/stations")
    assert api.status_code == 401 and api.json()["errors"][0]["message"]
    assert not AuditEvent.objects.filter(action="login").exists()


def test_a_logged_in_session_without_its_second_factor_reaches_nothing(world):
    # However a privileged session came to be logged in without the code (here force_login),
    # it is sent to the second step, and the API answers 401.
    client = Client()
    client.force_login(world.users["auditor"])
    page = client.get("/audit/")
    assert page.status_code == 302 and page["Location"] == "/accounts/login/code/"
    api = client.get("/api/v1/territory/stations")
    assert api.status_code == 401 and api.json()["errors"][0]["message"]
    # The code makes it whole.
    known_secret(world.users["auditor"])
    done = client.post("/accounts/login/code/", {"code": code_of(world.users["auditor"])})
    assert done.status_code == 302
    assert client.get("/audit/").status_code == 200


def test_a_wrong_code_is_refused_and_audited_then_the_right_one_works(client, world):
    admin = world.users["security_admin"]
    known_secret(admin)
    password_step(client, "security_admin", PASSWORD)
    right = code_of(admin)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    page = client.post("/accounts/login/code/", {"code": wrong})
    assert page.status_code == 200 and 'class="error"' in page.content.decode()
    assert client.get("/accounts/users/").status_code == 302
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.actor_name == "security_admin" and failed.outcome == "denied"
    assert '"step": "code"' in failed.detail
    assert client.post("/accounts/login/code/", {"code": right}).status_code == 302
    assert client.get("/accounts/users/").status_code == 200


def test_a_code_is_accepted_once(world):
    admin = world.users["system_admin"]
    known_secret(admin)
    code = code_of(admin)
    first, second = Client(), Client()
    password_step(first, "system_admin", PASSWORD)
    password_step(second, "system_admin", PASSWORD)
    assert first.post("/accounts/login/code/", {"code": code}).status_code == 302
    replay = second.post("/accounts/login/code/", {"code": code})
    assert replay.status_code == 200
    assert second.get("/").status_code == 302


def test_failed_codes_lock_the_account_like_failed_passwords(client, world, settings):
    admin = world.users["bureau_admin"]
    known_secret(admin)
    password_step(client, "bureau_admin", PASSWORD)
    wrong = f"{(int(code_of(admin)) + 7) % 1_000_000:06d}"
    answers = [client.post("/accounts/login/code/", {"code": wrong}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 403]
    assert "10" in answers[-1].content.decode()
    # The half-done login is over, and the password no longer opens it either.
    assert client.post("/accounts/login/code/", {"code": code_of(admin)}).status_code == 302
    assert client.get("/").status_code == 302
    assert password_step(Client(), "bureau_admin", PASSWORD).status_code == 403
    # The security admin lifts it: the same counter as failed passwords.
    world.client("security_admin").post(f"/accounts/users/{admin.id}/", {"verb": "unlock"})
    assert log_in(Client(), admin, PASSWORD).status_code == 302


def test_a_new_password_login_does_not_reset_the_count_of_wrong_codes(world):
    admin = world.users["bureau_admin"]
    known_secret(admin)
    wrong = f"{(int(code_of(admin)) + 3) % 1_000_000:06d}"
    for _ in range(2):
        client = Client()
        password_step(client, "bureau_admin", PASSWORD)
        client.post("/accounts/login/code/", {"code": wrong})
        client.post("/accounts/login/code/", {"code": wrong})
    client = Client()
    password_step(client, "bureau_admin", PASSWORD)
    assert client.post("/accounts/login/code/", {"code": wrong}).status_code == 403


def test_a_recovery_code_logs_in_once(world):
    admin = world.users["auditor"]
    _secret, codes = otp.enrol_for_demo(admin)
    client = Client()
    password_step(client, "auditor", PASSWORD)
    assert client.post("/accounts/login/code/", {"code": codes[0]}).status_code == 302
    assert client.get("/audit/").status_code == 200
    used = AuditEvent.objects.get(action="use_recovery_code")
    assert '"left": 9' in used.detail
    # The same code again, in another browser: refused.
    again = Client()
    password_step(again, "auditor", PASSWORD)
    assert again.post("/accounts/login/code/", {"code": codes[0]}).status_code == 200
    assert again.get("/audit/").status_code == 302
    # Typed in upper case without the dash, another one works.
    assert (
        again.post("/accounts/login/code/", {"code": codes[1].upper().replace("-", "")})["Location"]
        == "/"
    )


def test_first_login_of_a_privileged_account_enrols_an_authenticator(client, world):
    TOTPDevice.objects.filter(user=world.users["system_admin"]).delete()
    first = password_step(client, "system_admin", PASSWORD)
    assert first["Location"] == "/accounts/login/code/"
    assert client.get("/accounts/login/code/")["Location"] == "/accounts/login/enrol/"
    page = client.get("/accounts/login/enrol/")
    body = page.content.decode()
    assert page["Cache-Control"].startswith("no-store")
    secret = shown(page, "otp-secret").replace(" ", "")
    assert f"secret={secret}" in shown(page, "otp-uri")
    assert "<svg" in body  # the QR code, drawn by the server
    # A reload shows the same secret (the enrolment can be finished).
    assert shown(client.get("/accounts/login/enrol/"), "otp-secret").replace(" ", "") == secret
    # A wrong code does not confirm it.
    wrong = f"{(int(otp.code_for_secret(secret)) + 5) % 1_000_000:06d}"
    assert client.post("/accounts/login/enrol/", {"code": wrong}).status_code == 200
    assert not TOTPDevice.objects.filter(user=world.users["system_admin"], confirmed=True).exists()
    done = client.post("/accounts/login/enrol/", {"code": otp.code_for_secret(secret)})
    assert done.status_code == 200 and done["Cache-Control"].startswith("no-store")
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(
        action="enrol_second_factor", actor_name="system_admin"
    ).exists()
    # The codes work at the next login.
    later = Client()
    password_step(later, "system_admin", PASSWORD)
    assert later.post("/accounts/login/code/", {"code": codes[3]}).status_code == 302


def test_the_second_step_expires_and_ends_with_a_password_change(client, world):
    admin = world.users["auditor"]
    known_secret(admin)
    password_step(client, "auditor", PASSWORD)
    session = client.session
    session["jingwang_second_step"]["at"] = int(time.time()) - 6 * 60
    session.save()
    late = client.post("/accounts/login/code/", {"code": code_of(admin)})
    assert late.status_code == 302 and late["Location"] == "/accounts/login/"
    password_step(client, "auditor", PASSWORD)
    admin.set_password("Another-Pass-2027")
    admin.save()
    assert client.post("/accounts/login/code/", {"code": code_of(admin)})["Location"] == (
        "/accounts/login/"
    )
    assert client.get("/audit/").status_code == 302


def test_users_of_other_roles_log_in_with_the_password_alone(client, world):
    response = password_step(client, "officer", PASSWORD)
    assert response["Location"] == "/"
    assert client.get("/accounts/login/code/").status_code == 302
    assert client.get("/people/").status_code == 200


def test_new_recovery_codes_need_a_current_code(world):
    admin = world.users["bureau_admin"]
    _secret, old = otp.enrol_for_demo(admin)
    client = world.client("bureau_admin")
    assert "10" in client.get("/accounts/me/").content.decode()
    wrong = f"{(int(code_of(admin)) + 1) % 1_000_000:06d}"
    refused = client.post("/accounts/me/recovery-codes/", {"code": wrong})
    assert refused.status_code == 302
    assert StaticToken.objects.filter(device__user=admin).count() == 10
    made = client.post("/accounts/me/recovery-codes/", {"code": code_of(admin)})
    new = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", made.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditEvent.objects.filter(action="regenerate_recovery_codes").count() == 1
    # The old codes are dead.
    fresh = Client()
    password_step(fresh, "bureau_admin", PASSWORD)
    assert fresh.post("/accounts/login/code/", {"code": old[0]}).status_code == 200


def test_an_officer_without_a_second_factor_cannot_make_recovery_codes(world):
    officer = world.users["officer"]
    before = denied_events(officer)
    response = world.client("officer").post("/accounts/me/recovery-codes/", {"code": "123456"})
    assert response.status_code == 404
    assert not StaticToken.objects.filter(device__user=officer).exists()
    assert denied_events(officer) == before + 1


# ---------------------------------------------------------------------------------------------
# The demo


def test_demo_enrolment_is_the_same_everywhere_and_can_be_read_back(world):
    admin = world.users["bureau_admin"]
    secret, codes = otp.enrol_for_demo(admin)
    assert (secret, codes) == (
        otp.demo_secret("bureau_admin"),
        [otp.format_recovery(c) for c in otp.demo_recovery_codes("bureau_admin")],
    )
    assert secret != otp.demo_secret("auditor")
    assert otp.demo_enrolment(admin) == (secret, codes)
    assert otp.demo_enrolment(world.users["auditor"]) is None  # a random (test) device


def test_otp_code_prints_the_code_of_a_demo_account_only(world):
    admin = world.users["bureau_admin"]
    secret, _codes = otp.enrol_for_demo(admin)
    out = StringIO()
    call_command("otp_code", "bureau_admin", stdout=out, stderr=StringIO())
    assert out.getvalue().strip() == otp.code_for_secret(secret)
    # Its code logs in through the real pages.
    client = Client()
    password_step(client, "bureau_admin", PASSWORD)
    assert client.post("/accounts/login/code/", {"code": out.getvalue().strip()}).status_code == 302
    for username in ("auditor", "officer", "nobody"):
        with pytest.raises(CommandError):
            call_command("otp_code", username, stdout=StringIO(), stderr=StringIO())
