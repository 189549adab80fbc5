"""The disputes' API: register with Idempotency-Key, list, read, edit, sessions, tier, track;
bad input named by field; the deny side (another station, another grid, a 三员 role)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, get_args

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from jingwang.accounts.actions import create_api_token
from jingwang.accounts.models import User
from jingwang.api import api
from jingwang.audit.models import AuditEvent
from jingwang.core import choicelists
from jingwang.disputes import actions
from jingwang.disputes import api as disputes_api
from jingwang.disputes.categories import CATEGORIES
from jingwang.disputes.models import Dispute, Member, Session, TierChange
from jingwang.disputes.queries import categories_for
from jingwang.incidents.models import Incident
from jingwang.lib import pii
from jingwang.people.models import GridAssignment, Person
from tests.cast import PASSWORD, World

URL = "/api/v1/disputes"
CATEGORY = "neighbours"
ID_1 = "510722199001011236"


def id_number(first17: str) -> str:
    return first17 + pii.id_check_digit(first17)


def party(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"role": "applicant", "name": "刘大爷", "phone": "139-1234-5678"}
    data.update(fields)
    return data


def body(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": CATEGORY,
        "source": "walk_in",
        "facts": "楼上水管漏水，楼下邻居多次争吵。",
        "parties": [
            party(id_number=ID_1),
            party(role="respondent", name="陈女士", phone="13812345678"),
        ],
        "address": "东街12号",
        "lon": 105.002,
        "lat": 31.005,
    }
    data.update(fields)
    return data


def post(client: Client, url: str, data: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, data=json.dumps(data), content_type="application/json", headers=headers)


@pytest.fixture(autouse=True)
def _categories(world: World) -> None:
    """The bureau's dispute categories: the defaults, seeded on first use (the list is
    registered here too, as the app does when it starts: registering again changes nothing)."""
    choicelists.register(CATEGORIES)
    assert categories_for(world.station).filter(code=CATEGORY).exists()


def strangers(n: int) -> list[dict[str, Any]]:
    """Two parties no other dispute of the test has (the same party again is a repeat)."""
    return [
        party(name="周先生", phone=f"1371234{n:04d}"),
        party(role="respondent", name="吴女士", phone=f"1361234{n:04d}"),
    ]


def patch(client: Client, dispute_id: int, data: dict[str, Any]) -> Any:
    return client.patch(
        f"{URL}/{dispute_id}", data=json.dumps(data), content_type="application/json"
    )


def created(world: World, role: str = "officer", **fields: Any) -> dict[str, Any]:
    response = post(world.client(role), URL, body(**fields))
    assert response.status_code == 201, response.content
    answer: dict[str, Any] = response.json()
    return answer


def token_client(user: User) -> Client:
    """A client sending an API token (as a phone app or another system does)."""
    _token, key = create_api_token(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def denied() -> int:
    return AuditEvent.objects.filter(outcome="denied").count()


def ago(**delta: Any) -> str:
    return (timezone.localtime() - timedelta(**delta)).isoformat()


# ── register ───────────────────────────────────────────────────────────────────────────────


def test_a_retry_with_the_same_key_registers_one_dispute_placed_triaged_and_masked(
    world: World,
) -> None:
    client = token_client(world.users["officer"])
    data = body()
    first = post(client, URL, data, key="d-1")
    again = post(client, URL, data, key="d-1")
    assert first.status_code == 201 and again.status_code == 201, first.content
    assert first.json() == again.json()
    assert Dispute.objects.count() == 1
    out = first.json()
    assert out["number"].startswith(f"TC-{timezone.localdate().year}-")
    assert out["grid"] == "TC-D1-S1-B1-C1" and out["status"] == "open"
    assert out["tier"] == 1 and out["version"] == 1
    assert [r["code"] for r in out["tier_reasons"]] == ["general"]
    assert out["tier_reasons"][0]["sentence"]
    applicant, respondent = out["parties"]
    assert applicant["id_number"] != ID_1 and applicant["id_number"].endswith("1236")
    assert "*" in applicant["id_number"] and applicant["phone"] == "139****5678"
    assert respondent["phone"] == "138****5678" and respondent["role"] == "respondent"
    assert out["address"] != "东街12号" and out["category"] == CATEGORY
    assert AuditEvent.objects.filter(action="register_dispute").count() == 1
    # the same key with another body is refused, and nothing more is written
    other = post(client, URL, body(facts="另一件事"), key="d-1")
    assert other.status_code == 422 and other.json()["errors"][0]["message"]
    assert Dispute.objects.count() == 1


def test_triage_says_why_in_codes_and_sentences(world: World) -> None:
    many = created(world, people_involved=7)
    assert many["tier"] == 2
    (reason,) = many["tier_reasons"]
    assert reason["code"] == "people" and reason["tier"] == 2 and "7" in reason["sentence"]
    violent = created(world, risks=["risk_violence"], amount=12000.5)
    assert violent["tier"] == 3 and violent["risks"] == ["risk_violence"]
    assert {r["code"] for r in violent["tier_reasons"]} == {"risk_violence", "amount"}
    assert violent["amount"] == 12000.5
    # the applicant's third complaint within the window: a repeat complainant
    assert many["parties"][0]["phone"] == violent["parties"][0]["phone"]
    third = created(world, risks=["risk_petitions"])
    assert "repeat" in {r["code"] for r in third["tier_reasons"]} and third["tier"] == 2


def test_a_dispute_from_an_incident_must_be_one_the_caller_sees(world: World) -> None:
    mine = Incident.objects.create(
        station=world.station,
        number="110-1",
        received_at=timezone.now(),
        category=_incident_category(world),
    )
    out = created(world, incident=mine.id)
    assert out["incident_id"] == mine.id
    theirs = Incident.objects.create(
        station=world.other_station,
        number="110-2",
        received_at=timezone.now(),
        category=_incident_category(world),
    )
    response = post(world.client("officer"), URL, body(incident=theirs.id))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "incident"
    assert Dispute.objects.count() == 1


def _incident_category(world: World) -> Any:
    from jingwang.incidents import categories

    found = categories.find(world.bureau.id, "public_order.noise")
    assert found is not None
    return found


BAD = [
    ({"parties": [party(), party(id_number="510722199001011237")]}, "parties.1.id_number"),
    ({"parties": [party(phone="12345")]}, "parties.0.phone"),
    ({"parties": [party(), party(name="  ")]}, "parties.1.name"),
    ({"parties": [party(), party(guardian_phone="1")]}, "parties.1.guardian_phone"),
    ({"parties": [party(), party(role="judge")]}, "parties.1.role"),
    ({"parties": [party(age=200)]}, "parties.0.age"),
    ({"parties": []}, "parties"),
    ({"category": "no.such"}, "category"),
    ({"facts": " \n "}, "facts"),
    ({"facts": "x" * 4001}, "facts"),
    ({"facts": "有\x00"}, "facts"),
    ({"lat": None}, "lat"),
    ({"lon": 200}, "lon"),
    ({"coords": "bd09"}, "coords"),
    ({"amount": -1}, "amount"),
    ({"amount": "a lot"}, "amount"),
    ({"risks": ["risk_boredom"]}, "risks.0"),
    ({"departments": 0}, "departments"),
    ({"people_involved": 1, "parties": [party(), party(), party()]}, "people_involved"),
    ({"registered_at": "0001-01-01T00:00:00+05:00"}, "registered_at"),
    ({"registered_at": 1700000000}, "registered_at"),
    ({"source": "rumour"}, "source"),
    ({"incident": 999999}, "incident"),
]


@pytest.mark.parametrize("fields, field", BAD)
def test_bad_input_is_refused_naming_the_field(
    world: World, fields: dict[str, Any], field: str
) -> None:
    response = post(world.client("officer"), URL, body(**fields))
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert errors[0]["field"] == field and errors[0]["message"], errors
    assert not Dispute.objects.exists()
    assert not AuditEvent.objects.filter(action="register_dispute").exists()


def test_messages_are_in_the_users_language(world: World) -> None:
    client = world.client("officer")
    chinese = post(client, URL, body(category="no.such")).json()["errors"][0]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), chinese
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = post(client, URL, body(category="no.such")).json()["errors"][0]["message"]
    assert english.startswith("There is no category"), english


# ── edit ───────────────────────────────────────────────────────────────────────────────────


def test_an_edit_with_the_version_retriages_and_a_stale_one_is_a_conflict(world: World) -> None:
    client = world.client("officer")
    out = created(world)
    changed = patch(
        client,
        out["id"],
        {
            "version": 1,
            "facts": "漏水已修，仍要赔偿。",
            "people_involved": 6,
            "parties": [party(name="刘大爷"), party(role="respondent", name="陈女士")],
            "lon": 105.015,
            "lat": 31.005,
        },
    )
    assert changed.status_code == 200, changed.content
    after = changed.json()
    assert after["version"] == 2 and after["tier"] == 2
    assert after["grid"] == "TC-D1-S1-B2-C1" and after["facts"] == "漏水已修，仍要赔偿。"
    assert after["address"] == out["address"]  # not sent: kept
    assert TierChange.objects.filter(dispute_id=out["id"], kind="triage", to_tier=2).exists()
    stale = patch(client, out["id"], {"version": 1, "facts": "lost update"})
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    assert Dispute.objects.get(pk=out["id"]).facts == "漏水已修，仍要赔偿。"
    bad = patch(client, out["id"], {"version": 2, "parties": [party(phone="999")]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "parties.0.phone"
    half = patch(client, out["id"], {"version": 2, "lon": 105.01})
    assert half.status_code == 422 and half.json()["errors"][0]["field"] == "lat"
    assert Dispute.objects.get(pk=out["id"]).version == 2


# ── the deny side ──────────────────────────────────────────────────────────────────────────


def _other_grid_worker(world: World) -> User:
    user = User(username="gw_b", role="grid_worker", station=world.station)
    user.set_password(PASSWORD)
    user.save()
    person = Person.objects.create(
        station=world.station, name="孙网格", kind="grid_worker", user=user
    )
    GridAssignment.objects.create(person=person, grid=world.block_b, role="grid_worker")
    return user


def test_what_is_not_yours_is_a_404_with_a_denied_event_and_nothing_changes(
    world: World,
) -> None:
    out = created(world)  # in block A
    one = f"{URL}/{out['id']}"
    outsiders = {
        "other_chief": token_client(world.users["other_chief"]),
        "other_grid_worker": token_client(_other_grid_worker(world)),
        "system_admin": world.client("system_admin"),
    }
    for name, client in outsiders.items():
        before = denied()
        assert client.get(one).status_code == 404, name
        assert patch(client, out["id"], {"version": 1, "facts": "x"}).status_code == 404, name
        session = post(
            client, f"{one}/sessions", {"version": 1, "held_at": ago(hours=1), "result": "failed"}
        )
        assert session.status_code == 404, name
        tier = post(client, f"{one}/tier", {"version": 1, "tier": 3, "reason": "升级"})
        assert tier.status_code == 404, name
        track = post(client, f"{one}/track", {"version": 1, "track": "people"})
        assert track.status_code == 404, name
        assert denied() == before + 5, name
        assert out["number"] not in json.dumps(
            client.get(URL).json() if client.get(URL).status_code == 200 else {}
        )
    found = Dispute.objects.get(pk=out["id"])
    assert found.version == 1 and found.facts == body()["facts"] and found.tier == 1
    assert not Session.objects.exists() and found.track == ""
    assert TierChange.objects.filter(dispute=found).count() == 1  # the triage only
    # a missing one answers alike
    before = denied()
    assert world.client("officer").get(f"{URL}/999999").status_code == 404
    assert denied() == before + 1
    # another station's list is empty, and naming this station is the 404 door
    other = world.client("other_chief")
    assert other.get(URL).json()["count"] == 0
    assert other.get(f"{URL}?station=TC").status_code == 404
    # registering at another station is refused
    refused = post(other, URL, body(station="TC"))
    assert refused.status_code == 404 and Dispute.objects.count() == 1


def test_roles_without_the_permission_get_the_404_door(world: World) -> None:
    out = created(world)
    one = f"{URL}/{out['id']}"
    # the auxiliary registers and reads, but may not triage nor mediate
    auxiliary = world.client("auxiliary")
    assert auxiliary.get(one).status_code == 200
    before = denied()
    assert (
        post(auxiliary, f"{one}/tier", {"version": 1, "tier": 2, "reason": "人多"}).status_code
        == 404
    )
    assert post(auxiliary, f"{one}/track", {"version": 1, "track": "people"}).status_code == 404
    assert denied() == before + 2
    # a grid worker sees their grid's dispute but may not change its tier
    grid_worker = world.client("grid_worker")
    assert grid_worker.get(one).status_code == 200
    assert (
        post(grid_worker, f"{one}/tier", {"version": 1, "tier": 2, "reason": "人多"}).status_code
        == 404
    )
    assert Dispute.objects.get(pk=out["id"]).tier == 1
    # the auditor sees no case data at all
    assert world.client("auditor").get(URL).status_code == 404


# ── the list ───────────────────────────────────────────────────────────────────────────────


def test_the_list_filters_paginates_and_keeps_to_scope(world: World) -> None:
    client = world.client("officer")
    created(world, parties=strangers(1))
    created(world, people_involved=7, parties=strangers(2))
    b = created(world, lon=105.015, risks=["risk_group"], parties=strangers(3))
    old = created(world, lon=None, lat=None, registered_at=ago(days=40), parties=strangers(4))
    page = client.get(f"{URL}?limit=2&offset=0").json()
    assert page["count"] == 4 and len(page["items"]) == 2
    assert page["items"][0]["registered_at"] >= page["items"][1]["registered_at"]
    assert client.get(f"{URL}?tier=2").json()["count"] == 1
    assert [d["id"] for d in client.get(f"{URL}?tier=3").json()["items"]] == [b["id"]]
    assert client.get(f"{URL}?grid={world.block_b.id}").json()["count"] == 1
    assert client.get(f"{URL}?grid={world.other_block.id}").json()["count"] == 0
    assert client.get(f"{URL}?category={CATEGORY}").json()["count"] == 4
    assert client.get(f"{URL}?category=marriage").json()["count"] == 0
    assert client.get(f"{URL}?status=open").json()["count"] == 4
    assert client.get(f"{URL}?status=agreed").json()["count"] == 0
    since = (timezone.localtime() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
    assert client.get(URL, {"since": since}).json()["count"] == 3
    assert client.get(URL, {"until": since}).json()["count"] == 1
    assert client.get(URL, {"since": "2026-13-01"}).status_code == 422
    # overdue: open, with a deadline in the past
    assert client.get(f"{URL}?overdue=true").json()["count"] == 0
    month_ago = (timezone.localdate() - timedelta(days=30)).isoformat()
    tracked = post(
        client,
        f"{URL}/{old['id']}/track",
        {"version": 1, "track": "police", "accepted_on": month_ago},
    )
    assert tracked.status_code == 200, tracked.content
    assert (
        tracked.json()["overdue"] is True
        and tracked.json()["deadline"] < timezone.localdate().isoformat()
    )
    assert [d["id"] for d in client.get(f"{URL}?overdue=true").json()["items"]] == [old["id"]]
    # a grid worker sees their grid's disputes only (block A: the two placed there)
    mine = world.client("grid_worker").get(URL).json()
    assert {d["grid"] for d in mine["items"]} == {"TC-D1-S1-B1-C1"} and mine["count"] == 2


# ── mediation: track, sessions, tier ───────────────────────────────────────────────────────


def _mediator(world: World, station: Any = None) -> Member:
    station = station or world.station
    bodies = actions.ensure_bodies(station)
    person = world.people["mediator"] if station == world.station else world.people["other_officer"]
    role = "mediator" if station == world.station else "officer"
    return actions.add_member(world.users["chief"], bodies[0], person, role=role)


def test_a_session_needs_a_track_then_is_recorded_with_its_participants(world: World) -> None:
    client = world.client("mediator")
    out = created(world, registered_at=ago(hours=3))
    one = f"{URL}/{out['id']}"
    member = _mediator(world)
    session = {
        "version": 1,
        "held_at": ago(hours=1),
        "result": "adjourned",
        "participants": [member.id],
        "said": "双方各执一词",
        "place": "调解室",
    }
    no_track = post(client, f"{one}/sessions", session)
    assert no_track.status_code == 409 and no_track.json()["errors"][0]["message"]
    assert not Session.objects.exists()
    tracked = post(client, f"{one}/track", {"version": 1, "track": "people"})
    assert tracked.status_code == 200, tracked.content
    assert tracked.json()["track"] == "people" and tracked.json()["deadline"]
    version = tracked.json()["version"]
    outsider = _mediator(world, world.other_station)
    wrong = post(
        client,
        f"{one}/sessions",
        {**session, "version": version, "participants": [member.id, outsider.id]},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "participants.1"
    future = post(
        client, f"{one}/sessions", {**session, "version": version, "held_at": ago(hours=-2)}
    )
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "held_at"
    assert not Session.objects.exists()
    done = post(client, f"{one}/sessions", {**session, "version": version}, key="s-1")
    again = post(client, f"{one}/sessions", {**session, "version": version}, key="s-1")
    assert done.status_code == 201, done.content
    assert again.json() == done.json()
    (recorded,) = done.json()["sessions"]
    assert recorded["result"] == "adjourned" and recorded["participants"] == [member.id]
    assert recorded["said"] == "双方各执一词" and recorded["tier"] == 1
    assert Session.objects.count() == 1
    assert AuditEvent.objects.filter(action="record_session").count() == 1
    stale = post(client, f"{one}/sessions", {**session, "version": version})
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    assert Session.objects.count() == 1


def test_police_mediation_refuses_what_its_rules_exclude(world: World) -> None:
    client = world.client("officer")
    out = created(world)
    refused = post(
        client,
        f"{URL}/{out['id']}/track",
        {"version": 1, "track": "police", "exclusions": ["group_fight"]},
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "exclusions"
    unknown = post(
        client,
        f"{URL}/{out['id']}/track",
        {"version": 1, "track": "police", "exclusions": ["bribery"]},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "exclusions.0"
    assert Dispute.objects.get(pk=out["id"]).track == ""


def test_escalate_and_deescalate_keep_the_history(world: World) -> None:
    client = world.client("officer")
    out = created(world)
    one = f"{URL}/{out['id']}/tier"
    same = post(client, one, {"version": 1, "tier": 1, "reason": "不变"})
    assert same.status_code == 409 and same.json()["errors"][0]["field"] == "tier"
    blank = post(client, one, {"version": 1, "tier": 3, "reason": "  "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    bad = post(client, one, {"version": 1, "tier": 4, "reason": "更高"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "tier"
    up = post(client, one, {"version": 1, "tier": 3, "reason": "多次调解无果，涉及司法"})
    assert up.status_code == 200, up.content
    assert up.json()["tier"] == 3 and up.json()["version"] == 2
    stale = post(client, one, {"version": 1, "tier": 2, "reason": "降级"})
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    down = post(client, one, {"version": 2, "tier": 2, "reason": "双方同意在社区调解"})
    assert down.status_code == 200 and down.json()["tier"] == 2
    kinds = list(
        TierChange.objects.filter(dispute_id=out["id"]).values_list("kind", "from_tier", "to_tier")
    )
    assert kinds == [("triage", None, 1), ("escalate", 1, 3), ("deescalate", 3, 2)]
    assert AuditEvent.objects.filter(action="escalate_dispute").count() == 1
    assert AuditEvent.objects.filter(action="deescalate_dispute").count() == 1


def test_a_grid_worker_mediates_tier_one_only(world: World) -> None:
    client = world.client("grid_worker")
    out = created(world, role="grid_worker", people_involved=7)  # tier 2, in their grid
    assert out["tier"] == 2
    one = f"{URL}/{out['id']}"
    tracked = post(client, f"{one}/track", {"version": 1, "track": "people"})
    version = tracked.json()["version"] if tracked.status_code == 200 else 1
    refused = post(
        client, f"{one}/sessions", {"version": version, "held_at": ago(hours=1), "result": "failed"}
    )
    assert refused.status_code == 409 and refused.json()["errors"][0]["message"]
    assert not Session.objects.exists()


def test_the_schemas_choices_are_the_models() -> None:
    """The API states its choices as literals (an enum would be a schema component whose name
    another app's enum could take): they must stay the models' and the rules' values."""
    from jingwang.disputes import rules
    from jingwang.disputes.models import Party, Tier

    api = disputes_api

    assert get_args(api.DisputeStatus) == tuple(Dispute.Status.values)
    assert get_args(api.DisputeSource) == tuple(Dispute.Source.values)
    assert get_args(api.PartyRole) == tuple(Party.Role.values)
    assert get_args(api.PartyKind) == tuple(Party.Kind.values)
    assert get_args(api.SessionResult) == tuple(Session.Result.values)
    assert get_args(api.TierNumber) == tuple(Tier.values)
    assert get_args(api.Risk) == Dispute.RISKS
    assert get_args(api.Exclusion) == rules.POLICE_EXCLUSIONS


def test_every_string_of_a_party_has_its_limits_in_the_schema() -> None:
    """tests/test_api_contract.py checks a body's own fields; a party is one level down."""
    components = api.get_openapi_schema()["components"]["schemas"]
    strings = {
        name: option
        for name, field in components["PartyIn"]["properties"].items()
        for option in field.get("anyOf", [field])
        if option.get("type") == "string" and "enum" not in option
    }
    assert set(strings) == {"name", "id_number", "phone", "guardian_name", "guardian_phone"}
    for name, option in strings.items():
        assert option["maxLength"] and not re.search(option["pattern"], "x\x00"), name
    assert strings["name"]["minLength"] == 1 and not re.search(strings["name"]["pattern"], " ")
    assert re.search(strings["id_number"]["pattern"], ID_1)
    assert not re.search(strings["id_number"]["pattern"], ID_1[:-2])
    assert components["DisputeIn"]["properties"]["parties"]["minItems"] == 1
