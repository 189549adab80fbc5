"""Many writers at once against a real server: no 5xx, nothing lost, no duplicate.

Two server processes (waitress, 8 threads each) serve one database — a SQLite file, or a
PostgreSQL database of its own when the suite runs on PostgreSQL — and many client threads
write at the same moment through the API: creates with distinct Idempotency-Keys, edits of
distinct people, retries of one key while the first request is still in flight, and creates
racing for one ID number. Each answer must be 2xx, or a clear 409/429 in the API's JSON shape.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests import live

COUNT = """
import json
from jingwang.people.models import Person
from jingwang.audit.actions import verify
rows = list(Person.objects.values_list("name", "version"))
print(json.dumps({"people": rows, "audit_broken": verify().broken is not None}))
"""


@dataclass
class Site:
    ports: list[int]
    token: str
    people: list[int]
    env: dict[str, str]

    def django(self, code: str) -> Any:
        return live.django(self.env, code)

    def request(
        self, n: int, method: str, path: str, body: dict[str, Any], key: str | None = None
    ) -> tuple[int, Any]:
        """Send to one of the servers (by n); the status and the parsed JSON answer."""
        return live.send(self.ports[n % len(self.ports)], self.token, method, path, body, key)


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    """A database of its own for the servers: a SQLite file, or a new PostgreSQL database."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'site.sqlite3'}", None
    name = f"jw_concurrency_{uuid.uuid4().hex[:8]}"
    params = settings.DATABASES["default"]
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}", name


@pytest.fixture
def site(tmp_path: Path, transactional_db: Any, request: Any) -> Iterator[Site]:
    url, pg_name = _database_url(tmp_path)
    env = {
        **os.environ,
        **getattr(request, "param", {}),
        "DATABASE_URL": url,
        "JINGWANG_VAR_DIR": str(tmp_path),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "JINGWANG_AXES_ENABLED": "0",
        "DJANGO_SETTINGS_MODULE": "jingwang.settings",
    }
    live.migrate(env)
    setup = live.django(env, live.SETUP % {"people": 20})
    try:
        with live.servers(env) as ports:
            yield Site(ports, setup["token"], setup["people"], env)
    finally:
        if pg_name:
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _ok_or_clear(status: int, body: Any) -> bool:
    """2xx, or a clear 409/429 in the API's JSON shape."""
    if 200 <= status < 300:
        return True
    return status in (409, 429) and isinstance(body, dict) and bool(body.get("errors"))


def test_many_writers_at_once_get_answers_and_nothing_is_lost(site: Site) -> None:
    # given 50 creates with distinct keys, 20 edits of 20 different people, and 10 retries of
    # one key, all sent at once to two server processes
    creates = [
        (
            "POST",
            "/api/v1/people/",
            {"station": "TC", "name": f"新人{i}", "kind": "officer"},
            f"k{i}",
        )
        for i in range(50)
    ]
    edits = [
        ("PATCH", f"/api/v1/people/{pid}", {"version": 1, "name": f"改名{i}"}, None)
        for i, pid in enumerate(site.people)
    ]
    retries = [
        ("POST", "/api/v1/people/", {"station": "TC", "name": "重试", "kind": "auxiliary"}, "same")
        for _ in range(10)
    ]
    jobs = creates + edits + retries
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = list(pool.map(lambda ij: site.request(ij[0], *ij[1]), enumerate(jobs)))

    # then every answer is 2xx or a clear 409/429, never a 5xx
    statuses = Counter(status for status, _body in answers)
    # (this load is well within the lock wait: every request is served)
    assert set(statuses) <= {200, 201}, statuses
    # and nothing is lost: each create that answered 201 is there once
    state = site.django(COUNT)
    names = Counter(name for name, _version in state["people"])
    created = {
        body["name"]
        for (status, body), job in zip(answers[:50], creates, strict=True)
        if status == 201
    }
    assert all(names[name] == 1 for name in created)
    # the edits that answered 200 were saved, and each person was edited once
    edited = {body["name"] for status, body in answers[50:70] if status == 200}
    assert all(names[name] == 1 for name in edited)
    assert all(version <= 2 for _name, version in state["people"])
    # one key, sent ten times at once, made one person, and every answer is the same one
    assert names["重试"] == 1
    retried = {body["id"] for status, body in answers[70:] if status == 201}
    assert len(retried) == 1
    assert not state["audit_broken"]


def test_racing_creates_of_one_id_number_make_one_person(site: Site) -> None:
    # given 8 creates of the same ID number with distinct keys, at once
    body = {"station": "TC", "name": "同号", "kind": "officer", "id_number": "510722198507153018"}
    jobs = [("POST", "/api/v1/people/", body, f"id{i}") for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda ij: site.request(ij[0], *ij[1]), enumerate(jobs)))
    statuses = Counter(status for status, _body in answers)
    # then one is created, the others are told why (409 naming the ID number), none is a 5xx
    assert statuses[201] == 1, statuses
    assert all(_ok_or_clear(status, answer) for status, answer in answers), statuses
    for status, answer in answers:
        if status == 409:
            assert answer["errors"][0]["field"] == "id_number"
    names = Counter(name for name, _v in site.django(COUNT)["people"])
    assert names["同号"] == 1


def test_stale_edits_racing_for_one_person_save_once(site: Site) -> None:
    # given 12 edits of the same person, all made from version 1, at once
    pid = site.people[0]
    jobs = [
        ("PATCH", f"/api/v1/people/{pid}", {"version": 1, "name": f"争{i}"}, None)
        for i in range(12)
    ]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda ij: site.request(ij[0], *ij[1]), enumerate(jobs)))
    statuses = Counter(status for status, _body in answers)
    # then exactly one is saved and the others get the conflict, never a lost update
    assert statuses[200] == 1, statuses
    assert all(_ok_or_clear(status, answer) for status, answer in answers), statuses
    winner = next(body["name"] for status, body in answers if status == 200)
    people = dict(site.django(COUNT)["people"])
    assert people.get(winner) == 2


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's lock wait")
@pytest.mark.parametrize("site", [{"JINGWANG_SQLITE_TIMEOUT": "0"}], indirect=True)
def test_a_write_that_cannot_wait_is_told_to_try_again(site: Site) -> None:
    # given servers that may not wait at all for SQLite's write lock, and creates sent 40 at
    # once (again, should none of a batch meet another, up to 5 batches)
    answers: list[tuple[int, Any]] = []
    jobs: list[tuple[str, str, dict[str, Any], str]] = []
    for batch in range(5):
        sent = [
            (
                "POST",
                "/api/v1/people/",
                {"station": "TC", "name": f"急{batch}-{i}", "kind": "officer"},
                f"q{batch}-{i}",
            )
            for i in range(40)
        ]
        with ThreadPoolExecutor(max_workers=40) as pool:
            answers += pool.map(lambda ij: site.request(ij[0], *ij[1]), enumerate(sent))
        jobs += sent
        if any(status == 429 for status, _body in answers):
            break
    statuses = Counter(status for status, _body in answers)
    # then those that could not get the lock are told to try again (429, Retry-After), no 5xx
    assert set(statuses) <= {201, 429} and statuses[429] > 0, statuses
    for status, body in answers:
        if status == 429:
            assert body["errors"][0]["message"] and body["retry_after"]
    # and what answered 201 is there, what answered 429 is not
    names = Counter(name for name, _v in site.django(COUNT)["people"])
    for (status, _body), job in zip(answers, jobs, strict=True):
        assert names[job[2]["name"]] == (1 if status == 201 else 0)
    # a client that follows Retry-After gets each one through, once
    for (status, _body), job in zip(answers, jobs, strict=True):
        if status != 429:
            continue
        for _attempt in range(20):
            again, _answer = site.request(0, *job)
            if again != 429:
                break
            time.sleep(0.1)
        assert again == 201
    names = Counter(name for name, _v in site.django(COUNT)["people"])
    assert all(names[job[2]["name"]] == 1 for job in jobs)
