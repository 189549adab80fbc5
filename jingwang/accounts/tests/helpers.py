"""Logging in through the real pages, password then second factor, as a person would."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from jingwang.accounts import otp
from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent


def password_step(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def code_of(user: User) -> str:
    """The code the user's authenticator app shows now (computed from the stored secret)."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return otp.code_for_secret(otp.secret_base32(device))


def known_secret(user: User) -> str:
    """Give the user an authenticator whose secret the test knows; returns the secret."""
    secret, _codes = otp.enrol_for_demo(user)
    return secret


def log_in(client: Client, user: User, password: str) -> Any:
    """Password, then the current code; returns the answer to the code."""
    first = password_step(client, user.username, password)
    assert first.status_code == 302 and first["Location"] == "/accounts/login/code/", first
    return client.post("/accounts/login/code/", {"code": code_of(user)})


def shown(page: Any, element_id: str) -> str:
    """The text of the element with this id on a page."""
    found = re.search(rf'id="{element_id}">([^<]+)<', page.content.decode())
    assert found is not None, f"the page shows no #{element_id}"
    return found.group(1)


def denied_events(user: User) -> int:
    return AuditEvent.objects.filter(outcome="denied", actor_id=user.id).count()


def verified_client(user: User) -> Client:
    """A logged-in client whose second factor counts as verified (like ``World.client``)."""
    client = Client()
    client.force_login(user)
    device, _created = TOTPDevice.objects.get_or_create(user=user, defaults={"name": "test"})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
