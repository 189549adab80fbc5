from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from jingwang.audit.models import AuditEvent
from jingwang.people.models import Person
from tests import test_concurrency

site = test_concurrency.site  # two real server processes on a database of their own


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


def test_copies_of_one_create_sent_at_once_all_get_the_first_answer(site):
    # given 8 copies of one create (with an ID number) under one key, sent at once to two
    # servers, as a client that timed out and retried may do
    body = {"station": "TC", "name": "同键", "kind": "officer", "id_number": "510722198507153018"}
    jobs = [("POST", "/api/v1/people/", body, "one-key") for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda ij: site.request(ij[0], *ij[1]), enumerate(jobs)))
    # then every copy is answered as the first one was: 201 with the same person, none is
    # refused as a duplicate of itself (the copies wait for the first at the key, not at the
    # ID number)
    assert [status for status, _answer in answers] == [201] * 8, answers
    assert len({answer["id"] for _status, answer in answers}) == 1
    people = site.django(test_concurrency.COUNT)["people"]
    assert [name for name, _version in people].count("同键") == 1
