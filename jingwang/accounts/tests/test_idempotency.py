from __future__ import annotations

import json

from jingwang.audit.models import AuditEvent
from jingwang.people.models import Person


def create(client, key, name="孙辅警"):
    body = {"station": "TC", "name": name, "kind": "auxiliary"}
    return client.post(
        "/api/v1/people/",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_retried_create_returns_the_first_answer_and_makes_no_duplicate(world):
    client = world.client("chief")
    first = create(client, "retry-1")
    second = create(client, "retry-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Person.objects.filter(name="孙辅警").count() == 1
    assert AuditEvent.objects.filter(action="create_person").count() == 1


def test_a_new_key_makes_a_new_row_and_a_reused_key_with_another_body_is_refused(world):
    client = world.client("chief")
    create(client, "k1")
    assert create(client, "k2").status_code == 201
    assert Person.objects.filter(name="孙辅警").count() == 2
    reused = create(client, "k1", name="别人")
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["errors"][0]["message"]
    assert not Person.objects.filter(name="别人").exists()


def test_keys_belong_to_their_user(world):
    create(world.client("chief"), "shared")
    other = create(world.client("bureau_admin"), "shared")
    assert other.status_code == 201
    assert Person.objects.filter(name="孙辅警").count() == 2


def test_a_failed_request_stores_nothing_so_a_corrected_retry_works(world):
    client = world.client("chief")
    bad = client.post(
        "/api/v1/people/",
        json.dumps({"station": "TC", "name": "", "kind": "auxiliary"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="fix-me",
    )
    assert bad.status_code == 422
    # Nothing was stored for the refused request, so the corrected one goes through.
    assert create(client, "fix-me").status_code == 201
    assert Person.objects.filter(name="孙辅警").count() == 1
