from __future__ import annotations

import re

from django.http import HttpResponse
from django.test import Client

from jingwang.accounts.models import ApiToken
from jingwang.audit.models import AuditEvent


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
