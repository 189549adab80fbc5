"""The dispute loop's actions: each step, each refusal (naming the field), stale edits, the audit
event of each step (with the dispute as subject) and all-or-nothing writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import override

from jingwang.audit.models import AuditEvent
from jingwang.disputes import actions
from jingwang.disputes.actions import InvalidDispute, PartyInput, Refused, StaleEdit
from jingwang.disputes.models import (
    Agreement,
    Body,
    Call,
    Category,
    Dispute,
    FollowUp,
    Member,
    Party,
    Session,
    TierChange,
)
from jingwang.disputes.tests.helpers import (
    ID_ADULT,
    IN_BLOCK_A,
    PHONE_A,
    PHONE_B,
    about,
    bodies,
    category,
    events,
    incident,
    make_dispute,
    mediation_member,
    member_of,
    parties,
)
from jingwang.people.models import Person
from jingwang.territory.models import Bureau
from tests.cast import World

# Born 2015-03-01: 11 years old in 2026 (valid check digit, GB 11643).
ID_CHILD = "510722201503010014"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The messages are checked in English (the Chinese is the catalogue's).
    with override("en"):
        yield


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def snapshot(dispute: Dispute) -> tuple[Any, ...]:
    fresh = Dispute.objects.get(pk=dispute.pk)
    return (
        fresh.version,
        fresh.status,
        fresh.tier,
        fresh.track,
        fresh.deadline,
        fresh.facts,
        Session.objects.filter(dispute=dispute).count(),
        Agreement.objects.filter(dispute=dispute).count(),
        AuditEvent.objects.count(),
    )


def refused(exc: pytest.ExceptionInfo[InvalidDispute], field: str, text: str) -> bool:
    return exc.value.field == field and text in exc.value.message


# -- registering ---------------------------------------------------------------------------------


def test_an_officer_registers_a_dispute_numbered_placed_triaged_and_audited(world: World) -> None:
    # when the officer registers a neighbours' dispute in block A
    dispute = make_dispute(world, amount="800", risks=())

    # then it has the station's first number of the year, is placed in its cluster and in tier 1
    year = timezone.localtime(dispute.registered_at).year
    assert dispute.number == f"TC-{year}-0001"
    assert dispute.grid is not None and dispute.grid.code == "TC-D1-S1-B1-C1"
    assert (dispute.tier, dispute.status, dispute.version) == (1, "open", 1)
    assert dispute.tier_reasons == [{"code": "general", "tier": 1, "params": {}}]
    assert dispute.amount == Decimal("800.00") and dispute.people_involved == 2
    # its parties keep their numbers as personal data (masked when shown)
    rows = list(dispute.parties.order_by("order"))
    assert [(p.role, p.name) for p in rows] == [("applicant", "刘大爷"), ("respondent", "楼下住户")]
    assert str(rows[0].phone) == "139****5678" and rows[0].phone == PHONE_A
    assert str(dispute.address) != "东街12号3单元" and dispute.address == "东街12号3单元"
    # the triage is the first row of the tier history
    change = TierChange.objects.get(dispute=dispute)
    assert (change.kind, change.from_tier, change.to_tier) == ("triage", None, 1)
    # and one event, whose subject is the dispute
    (event,) = events("register_dispute")
    assert (event.subject_type, event.subject_id) == ("disputes.dispute", str(dispute.pk))
    assert event.station_id == world.station.pk and event.actor_name == "officer"
    assert event.detail_data["tier"] == 1 and event.detail_data["category"] == "neighbours"


def test_numbers_run_per_station_and_per_year(world: World) -> None:
    first = make_dispute(world)
    second = make_dispute(world)
    other = make_dispute(
        world, station=world.other_station, lon=None, lat=None, actor=world.users["other_chief"]
    )
    last_year = make_dispute(world, registered_at=timezone.now() - timedelta(days=400))
    year = timezone.localtime(first.registered_at).year
    assert [first.number, second.number] == [f"TC-{year}-0001", f"TC-{year}-0002"]
    assert other.number == f"XX-{year}-0001"
    assert last_year.number == f"TC-{timezone.localtime(last_year.registered_at).year}-0001"


def test_a_taken_number_is_retried_with_the_next_one(world: World, monkeypatch: Any) -> None:
    # given a number another registration took in between (the race, made to happen)
    first = make_dispute(world)
    real = actions._next_number
    calls: list[str] = []

    def stale_then_real(station: Any, year: int) -> str:
        calls.append("x")
        return first.number if len(calls) == 1 else real(station, year)

    monkeypatch.setattr(actions, "_next_number", stale_then_real)
    # when another registration computes the taken number first
    second = make_dispute(world)
    # then the constraint refuses it and the next number is taken
    assert len(calls) == 2 and second.number.endswith("-0002")
    assert Dispute.objects.count() == 2 and len(events("register_dispute")) == 2


def test_more_people_a_large_amount_or_a_risk_raise_the_tier_with_reasons(world: World) -> None:
    seven = make_dispute(world, people_involved=7)
    assert seven.tier == 2
    assert seven.tier_reasons == [
        {"code": "people", "tier": 2, "params": {"threshold": 5, "value": 7}}
    ]
    violent = make_dispute(world, risks=["risk_violence"], amount=Decimal("20000"))
    assert violent.tier == 3 and violent.risk_violence
    assert [r["code"] for r in violent.tier_reasons] == ["amount", "risk_violence"]


def test_the_bureaus_thresholds_decide(world: World) -> None:
    from jingwang.disputes.models import DisputeSettings

    DisputeSettings.objects.create(bureau=world.bureau, tier2_people=3, version=1)
    assert make_dispute(world, people_involved=3).tier == 2


PARTY = PartyInput(role="applicant", name="甲")


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"parties": []}, "parties", "at least one party"),
        ({"parties": [PartyInput(role="applicant", name=" ")]}, "parties.0.name", "required"),
        ({"parties": [PARTY, PartyInput(role="judge", name="乙")]}, "parties.1.role", "role"),
        (
            {"parties": [PARTY, PartyInput(role="respondent", name="乙", id_number="1234")]},
            "parties.1.id_number",
            "17 digits",
        ),
        (
            {"parties": [PartyInput(role="applicant", name="甲", phone="12345")]},
            "parties.0.phone",
            "11 digits",
        ),
        (
            {"parties": [PartyInput(role="applicant", name="某公司", kind="organisation", age=5)]},
            "parties.0.age",
            "Only a person",
        ),
        ({"amount": "-5"}, "amount", "negative"),
        ({"amount": "lots"}, "amount", "not an amount"),
        ({"people_involved": 1}, "people_involved", "as many people"),
        ({"departments": 0}, "departments", "from 1 to"),
        ({"risks": ["risk_fire"]}, "risks", "risk flags"),
        ({"facts": "  "}, "facts", "required"),
        ({"facts": "x" * 4001}, "facts", "At most 4000"),
        ({"source": "rumour"}, "source", "source"),
        ({"category": "no-such"}, "category", "Choose a category"),
        ({"lon": None}, "lon", "both longitude and latitude"),
        ({"coords": "bd09"}, "coords", "WGS-84"),
        ({"registered_at": timezone.now() + timedelta(days=1)}, "registered_at", "future"),
        ({"address": "东街\x07"}, "address", "control characters"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    world: World, values: dict[str, Any], field: str, text: str
) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidDispute) as exc:
        make_dispute(world, **values)
    assert refused(exc, field, text), (exc.value.field, exc.value.message)
    assert not Dispute.objects.exists() and not Party.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_category_of_another_bureau_or_out_of_use_is_refused(world: World) -> None:
    other = Bureau.objects.create(code="OT", name="别县公安局")
    foreign = Category.objects.create(bureau=other, code="neighbours", name="邻里纠纷")
    with pytest.raises(InvalidDispute) as exc:
        make_dispute(world, category=foreign)
    assert refused(exc, "category", "not one of this bureau's")
    retired = category(world, "old", "旧类别")
    retired.is_active = False
    retired.save()
    with pytest.raises(InvalidDispute) as exc:
        make_dispute(world, category=retired)
    assert refused(exc, "category", "no longer in use")


def test_a_category_may_be_given_by_its_code(world: World) -> None:
    category(world, "labour", "劳资纠纷")
    assert make_dispute(world, category="labour").category.code == "labour"


def test_a_failure_inside_the_write_leaves_nothing(world: World, monkeypatch: Any) -> None:
    # given the tier history cannot be written (after the dispute and its parties were)
    def broken(**kwargs: Any) -> None:
        raise IntegrityError("disk full")

    monkeypatch.setattr(TierChange.objects, "create", broken)
    before = AuditEvent.objects.count()
    with pytest.raises(IntegrityError):
        make_dispute(world)
    # then nothing of it remains
    assert not Dispute.objects.exists() and not Party.objects.exists()
    assert AuditEvent.objects.count() == before


def test_repeat_complaints_across_disputes_and_incidents_raise_the_tier(world: World) -> None:
    # given the same man complained once as a dispute and once by calling 110 this month
    make_dispute(world, parties=[PartyInput(role="applicant", name="刘大爷", phone=PHONE_A)])
    incident(world, "J1", PHONE_A)
    # and long ago, and in another station (these do not count)
    make_dispute(world, registered_at=timezone.now() - timedelta(days=200))
    incident(world, "J0", PHONE_A, received_at=timezone.now() - timedelta(days=200))
    # when he comes a third time
    third = make_dispute(world, parties=parties())
    # then the triage counts three complaints (this one included): tier 2, saying why
    assert third.tier == 2
    assert {"code": "repeat", "tier": 2, "params": {"threshold": 3, "value": 3}} in (
        third.tier_reasons
    )


def test_a_dispute_from_an_incident_carries_it_over_without_counting_it_twice(
    world: World,
) -> None:
    call = incident(world, "J9", PHONE_A)
    initial = actions.initial_from_incident(call)
    assert initial["facts"] == "楼上漏水" and initial["address"] == "东街12号"
    assert initial["parties"] == [
        {"role": "applicant", "kind": "person", "name": "刘大爷", "phone": PHONE_A}
    ]
    assert (initial["lon"], initial["lat"], initial["source"]) == (*IN_BLOCK_A, "incident")
    dispute = make_dispute(
        world,
        incident=call,
        source="walk_in",
        parties=[PartyInput(**p) for p in initial["parties"]],
    )
    assert dispute.source == "incident" and dispute.incident == call
    assert dispute.tier == 1  # the incident is this complaint, not a second one
    with pytest.raises(InvalidDispute) as exc:
        make_dispute(world, station=world.other_station, incident=call)
    assert refused(exc, "incident", "incident of this station")


# -- editing ------------------------------------------------------------------------------------


def test_an_edit_saves_what_changed_and_triages_again(world: World) -> None:
    dispute = make_dispute(world)
    edited = actions.update_dispute(
        world.users["officer"], dispute, version=1, people_involved=8, facts="漏水三个月"
    )
    assert (edited.tier, edited.people_involved, edited.facts, edited.version) == (
        2,
        8,
        "漏水三个月",
        2,
    )
    kinds = list(TierChange.objects.filter(dispute=dispute).values_list("kind", "to_tier"))
    assert kinds == [("triage", 1), ("triage", 2)]
    (event,) = events("update_dispute")
    assert event.detail_data["fields"] == ["facts", "people_involved"]
    assert event.detail_data["tier"] == {"from": 1, "to": 2}
    assert event.subject_id == str(dispute.pk)


def test_an_edit_replaces_the_parties_and_keeps_personal_data_personal(world: World) -> None:
    dispute = make_dispute(world)
    actions.update_dispute(
        world.users["officer"],
        dispute,
        version=1,
        parties=[PartyInput(role="applicant", name="王某", id_number=ID_ADULT)],
    )
    (party,) = Party.objects.filter(dispute=dispute)
    assert party.name == "王某" and party.id_number == ID_ADULT
    assert str(party.id_number).startswith("510722") and "********" in str(party.id_number)


def test_a_stale_edit_is_refused_and_nothing_is_written(world: World) -> None:
    dispute = make_dispute(world)
    actions.update_dispute(world.users["officer"], dispute, version=1, facts="第一次修改")
    before = snapshot(dispute)
    with pytest.raises(StaleEdit) as exc:
        actions.update_dispute(world.users["chief"], dispute, version=1, facts="过时的修改")
    assert "Someone else changed this dispute" in str(exc.value)
    assert snapshot(dispute) == before


def test_an_edit_with_nothing_new_writes_nothing(world: World) -> None:
    dispute = make_dispute(world)
    before = snapshot(dispute)
    actions.update_dispute(world.users["officer"], dispute, version=1, facts=dispute.facts)
    assert snapshot(dispute) == before


def test_an_unknown_field_is_refused(world: World) -> None:
    dispute = make_dispute(world)
    with pytest.raises(InvalidDispute) as exc:
        actions.update_dispute(world.users["officer"], dispute, version=1, status="performed")
    assert refused(exc, "status", "cannot be changed")


# -- the tier ------------------------------------------------------------------------------------


def test_an_officer_overrides_the_tier_with_a_reason_and_triage_leaves_it(world: World) -> None:
    dispute = make_dispute(world)
    with pytest.raises(InvalidDispute) as exc:
        actions.override_tier(world.users["officer"], dispute, version=1, tier=3, reason="")
    assert refused(exc, "reason", "required")
    with pytest.raises(InvalidDispute) as exc:
        actions.override_tier(world.users["officer"], dispute, version=1, tier=4, reason="x")
    assert refused(exc, "tier", "tier 1, 2 or 3")

    done = actions.override_tier(
        world.users["officer"], dispute, version=1, tier=3, reason="涉及多个部门"
    )
    assert (done.tier, done.tier_overridden, done.version) == (3, True, 2)
    assert done.tier_reasons == [
        {"code": "override", "tier": 3, "params": {"reason": "涉及多个部门"}}
    ]
    last = TierChange.objects.filter(dispute=dispute).last()
    assert last is not None
    assert (last.kind, last.from_tier, last.to_tier, last.reason) == (
        "override",
        1,
        3,
        "涉及多个部门",
    )
    # an edit does not move an officer's tier
    again = actions.update_dispute(world.users["officer"], done, version=2, people_involved=6)
    assert again.tier == 3
    assert [e.subject_id for e in events("override_tier")] == [str(dispute.pk)]


def test_escalating_and_de_escalating_keep_the_history(world: World) -> None:
    dispute = make_dispute(world)
    lead = member_of(world, 1, world.people["mediator"], "mediator")
    dispute = actions.set_lead(world.users["chief"], dispute, version=1, member=lead)
    up = actions.change_tier(world.users["chief"], dispute, version=2, tier=2, reason="调解不成")
    assert up.tier == 2 and up.lead is None  # the new body names its own lead
    assert Call.objects.filter(dispute=dispute, member=lead).exists()  # the call stays
    down = actions.change_tier(world.users["chief"], up, version=3, tier=1, reason="情绪平复")
    assert down.tier == 1
    history = TierChange.objects.filter(dispute=dispute).values_list("kind", "from_tier", "to_tier")
    assert list(history) == [("triage", None, 1), ("escalate", 1, 2), ("deescalate", 2, 1)]
    assert len(events("escalate_dispute")) == 1 and len(events("deescalate_dispute")) == 1
    with pytest.raises(Refused) as exc:
        actions.change_tier(world.users["chief"], down, version=4, tier=1, reason="x")
    assert refused(exc, "tier", "already in tier 1")


# -- members called, the lead ----------------------------------------------------------------------


def test_calling_a_member_is_idempotent_and_only_from_the_tiers_body(world: World) -> None:
    dispute = make_dispute(world, people_involved=6)  # tier 2
    outside = mediation_member(world)
    first = actions.call_member(world.users["chief"], dispute, outside.member)
    second = actions.call_member(world.users["chief"], dispute, outside.member)
    assert first.pk == second.pk and Call.objects.filter(dispute=dispute).count() == 1
    (event,) = events("call_member")
    assert event.subject_id == str(dispute.pk)
    tier1 = member_of(world, 1, world.people["grid_worker"], "grid_worker")
    with pytest.raises(InvalidDispute) as exc:
        actions.call_member(world.users["chief"], dispute, tier1)
    assert refused(exc, "member", "tier-2 body")


def test_a_lead_is_a_member_of_the_tiers_body_and_is_called(world: World) -> None:
    dispute = make_dispute(world)
    lead = member_of(world, 1, world.people["mediator"], "mediator")
    done = actions.set_lead(world.users["chief"], dispute, version=1, member=lead)
    assert done.lead == lead and Call.objects.filter(dispute=dispute, member=lead).exists()
    assert about(dispute) == ["register_dispute", "set_lead_mediator"]
    outside = mediation_member(world)  # tier 2
    with pytest.raises(InvalidDispute) as exc:
        actions.set_lead(world.users["chief"], done, version=2, member=outside.member)
    assert refused(exc, "member", "tier-1 body")


# -- the legal track -----------------------------------------------------------------------------


def dated(world: World, day: date, **kw: Any) -> Dispute:
    return make_dispute(world, registered_at=at(day, 9), **kw)


def test_police_mediation_is_due_in_three_working_days(world: World) -> None:
    dispute = dated(world, date(2026, 6, 8))
    done = actions.choose_track(
        world.users["officer"], dispute, version=1, track="police", accepted_on=date(2026, 6, 8)
    )
    # accepted on a Monday: due on Thursday
    assert (done.track, done.track_started, done.deadline) == (
        "police",
        date(2026, 6, 8),
        date(2026, 6, 11),
    )
    assert not done.deadline_uncertain
    (event,) = events("choose_track")
    assert event.subject_id == str(dispute.pk) and event.detail_data["track"] == "police"


def test_police_mediation_counts_over_a_holiday_onto_a_make_up_saturday(world: World) -> None:
    # accepted the day before the National Day holiday (Oct 1–7, 2026): Oct 8, 9 and the
    # make-up working Saturday Oct 10
    dispute = dated(world, date(2026, 9, 30))
    done = actions.choose_track(
        world.users["officer"], dispute, version=1, track="police", accepted_on=date(2026, 9, 30)
    )
    assert done.deadline == date(2026, 10, 10)


def test_peoples_mediation_is_due_a_month_later_and_extends_once(world: World) -> None:
    dispute = dated(world, date(2026, 6, 8))
    done = actions.choose_track(
        world.users["officer"], dispute, version=1, track="people", accepted_on=date(2026, 6, 8)
    )
    assert done.deadline == date(2026, 7, 8)
    with pytest.raises(InvalidDispute) as exc:
        actions.extend_mediation(world.users["officer"], done, version=2, reason="")
    assert refused(exc, "reason", "required")
    longer = actions.extend_mediation(
        world.users["officer"], done, version=2, reason="双方同意延长"
    )
    assert longer.extended and longer.deadline == date(2026, 8, 10)  # Aug 8 is a Saturday
    with pytest.raises(Refused) as exc2:
        actions.extend_mediation(world.users["officer"], longer, version=3, reason="再延")
    assert refused(exc2, "status", "already been extended")
    assert len(events("extend_mediation")) == 1


def test_only_a_peoples_mediation_extends(world: World) -> None:
    dispute = make_dispute(world)
    police = actions.choose_track(world.users["officer"], dispute, version=1, track="police")
    with pytest.raises(Refused) as exc:
        actions.extend_mediation(world.users["officer"], police, version=2, reason="同意")
    assert refused(exc, "track", "Only a people's mediation")


def test_police_mediation_is_refused_when_an_exclusion_applies(world: World) -> None:
    dispute = make_dispute(world)
    before = snapshot(dispute)
    with pytest.raises(Refused) as exc:
        actions.choose_track(
            world.users["officer"],
            dispute,
            version=1,
            track="police",
            exclusions=["hired_assault", "group_fight"],
        )
    assert exc.value.field == "exclusions"
    assert "Hiring someone to injure another" in exc.value.message
    assert "A gang fight" in exc.value.message
    assert snapshot(dispute) == before
    with pytest.raises(Refused) as exc:
        actions.choose_track(
            world.users["officer"], dispute, version=1, track="police", exclusions=["bribes"]
        )
    assert refused(exc, "exclusions", "not one of the exclusions")
    # people's mediation is still open to it
    assert (
        actions.choose_track(
            world.users["officer"], dispute, version=1, track="people", exclusions=["group_fight"]
        ).track
        == "people"
    )


@pytest.mark.parametrize(
    "child",
    [
        PartyInput(role="respondent", name="小明", age=12),
        PartyInput(role="respondent", name="小明", id_number=ID_CHILD),
    ],
    ids=["by age", "by ID number"],
)
def test_a_party_under_16_needs_a_guardian_for_police_mediation(
    world: World, child: PartyInput
) -> None:
    adult = PartyInput(role="applicant", name="刘大爷", phone=PHONE_A)
    dispute = make_dispute(world, parties=[adult, child])
    with pytest.raises(Refused) as exc:
        actions.choose_track(world.users["officer"], dispute, version=1, track="police")
    assert refused(exc, "parties.1.guardian_name", "小明 is under 16")
    assert Dispute.objects.get(pk=dispute.pk).track == ""
    # with the guardian named, it goes ahead
    child.guardian_name, child.guardian_phone = "小明妈妈", PHONE_B
    fixed = actions.update_dispute(
        world.users["officer"], dispute, version=1, parties=[adult, child]
    )
    done = actions.choose_track(world.users["officer"], fixed, version=2, track="police")
    assert done.track == "police"


def test_the_track_cannot_change_after_a_session(world: World) -> None:
    dispute = make_dispute(world)
    dispute = actions.choose_track(world.users["officer"], dispute, version=1, track="people")
    actions.record_session(
        world.users["officer"], dispute, version=2, held_at=timezone.now(), result="adjourned"
    )
    with pytest.raises(Refused) as exc:
        actions.choose_track(world.users["officer"], dispute, version=3, track="police")
    assert refused(exc, "track", "can no longer be changed")


def test_acceptance_cannot_be_in_the_future_or_before_registration(world: World) -> None:
    dispute = make_dispute(world)
    with pytest.raises(InvalidDispute) as exc:
        actions.choose_track(
            world.users["officer"],
            dispute,
            version=1,
            track="people",
            accepted_on=timezone.localdate() + timedelta(days=2),
        )
    assert refused(exc, "accepted_on", "future")
    with pytest.raises(InvalidDispute) as exc:
        actions.choose_track(
            world.users["officer"], dispute, version=1, track="people", accepted_on="2020-01-01"
        )
    assert refused(exc, "accepted_on", "before the dispute was registered")


# -- sessions -------------------------------------------------------------------------------------


def on_track(world: World, track: str = "police", day: date | None = None, **kw: Any) -> Dispute:
    dispute = dated(world, day, **kw) if day else make_dispute(world, **kw)
    return actions.choose_track(
        world.users["officer"], dispute, version=1, track=track, accepted_on=day
    )


def test_a_session_needs_a_track(world: World) -> None:
    dispute = make_dispute(world)
    with pytest.raises(Refused) as exc:
        actions.record_session(
            world.users["officer"], dispute, version=1, held_at=timezone.now(), result="failed"
        )
    assert refused(exc, "track", "Choose the legal track")


def test_a_session_is_recorded_with_its_participants_called(world: World) -> None:
    dispute = on_track(world, "people")
    mediator = member_of(world, 1, world.people["mediator"], "mediator")
    session = actions.record_session(
        world.users["officer"],
        dispute,
        version=2,
        held_at=timezone.now() - timedelta(hours=1),
        result="adjourned",
        place="调解室",
        participants=[mediator],
        said="双方各自陈述",
        offered="楼上维修水管",
    )
    assert (session.tier, session.result, session.place) == (1, "adjourned", "调解室")
    assert list(session.participants.all()) == [mediator]
    assert Call.objects.filter(dispute=dispute, member=mediator).exists()
    assert Dispute.objects.get(pk=dispute.pk).version == 3
    (event,) = events("record_session")
    assert (event.object_type, event.subject_type, event.subject_id) == (
        "disputes.session",
        "disputes.dispute",
        str(dispute.pk),
    )


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"held_at": None}, "held_at", "required"),
        ({"held_at": "yesterday"}, "held_at", "not a date and time"),
        ({"held_at": timezone.now() + timedelta(days=1)}, "held_at", "future"),
        ({"held_at": timezone.now() - timedelta(days=30)}, "held_at", "before the dispute"),
        ({"result": "maybe"}, "result", "result"),
        ({"participants": ["钱调解"]}, "participants", "members of this station"),
        ({"said": "x" * 4001}, "said", "At most 4000"),
    ],
)
def test_bad_sessions_are_refused_naming_the_field(
    world: World, values: dict[str, Any], field: str, text: str
) -> None:
    dispute = on_track(world, "people")
    before = snapshot(dispute)
    given: dict[str, Any] = {"held_at": timezone.now(), "result": "failed"} | values
    with pytest.raises(InvalidDispute) as exc:
        actions.record_session(world.users["officer"], dispute, version=2, **given)
    assert refused(exc, field, text), (exc.value.field, exc.value.message)
    assert snapshot(dispute) == before


def test_a_member_of_another_station_cannot_take_part(world: World) -> None:
    dispute = on_track(world, "people")
    stranger = Person.objects.create(
        station=world.other_station, name="外所调解员", kind="mediator"
    )
    theirs = actions.add_member(
        world.users["other_chief"],
        actions.ensure_bodies(world.other_station)[0],
        stranger,
        role="mediator",
    )
    with pytest.raises(InvalidDispute) as exc:
        actions.record_session(
            world.users["officer"],
            dispute,
            version=2,
            held_at=timezone.now(),
            result="failed",
            participants=[theirs],
        )
    assert refused(exc, "participants", "members of this station")


def test_police_mediation_allows_two_sessions_the_second_within_seven_working_days(
    world: World,
) -> None:
    day = date(2026, 6, 8)
    dispute = on_track(world, "police", day)
    assert dispute.deadline == date(2026, 6, 11)
    # a first session without agreement: the deadline moves to 7 working days after it
    actions.record_session(
        world.users["officer"], dispute, version=2, held_at=at(day, 15), result="adjourned"
    )
    after_first = Dispute.objects.get(pk=dispute.pk)
    assert after_first.deadline == date(2026, 6, 17)
    # a second one past that day is refused, naming the day
    with pytest.raises(Refused) as exc:
        actions.record_session(
            world.users["officer"],
            dispute,
            version=3,
            held_at=at(date(2026, 6, 18)),
            result="failed",
        )
    assert refused(exc, "held_at", "within 7 working days")
    assert "2026-06-17" in exc.value.message
    actions.record_session(
        world.users["officer"], dispute, version=3, held_at=at(date(2026, 6, 17)), result="failed"
    )
    # and a third is refused
    with pytest.raises(Refused) as exc:
        actions.record_session(
            world.users["officer"],
            dispute,
            version=4,
            held_at=at(date(2026, 6, 17), 16),
            result="agreed",
        )
    assert refused(exc, "held_at", "at most 2 sessions")
    assert Session.objects.filter(dispute=dispute).count() == 2


def test_a_grid_worker_mediates_tier_1_disputes_only(world: World) -> None:
    worker = world.users["grid_worker"]
    small = on_track(world, "people")
    actions.record_session(worker, small, version=2, held_at=timezone.now(), result="adjourned")
    larger = on_track(world, "people", people_involved=9)
    assert larger.tier == 2
    before = snapshot(larger)
    with pytest.raises(Refused) as exc:
        actions.record_session(worker, larger, version=2, held_at=timezone.now(), result="failed")
    assert refused(exc, "tier", "grid workers mediate tier-1 disputes only")
    assert snapshot(larger) == before


def test_an_outside_member_called_to_a_dispute_records_its_session(world: World) -> None:
    dispute = on_track(world, "people", people_involved=6)
    outside = mediation_member(world)
    actions.call_member(world.users["chief"], dispute, outside.member)
    session = actions.record_session(
        outside.user,
        dispute,
        version=2,
        held_at=timezone.now(),
        result="agreed",
        participants=[outside.member],
    )
    assert session.created_by == outside.user
    (event,) = events("record_session")
    assert event.actor_role == "mediation_member"


def test_a_stale_session_is_refused(world: World) -> None:
    dispute = on_track(world, "people")
    before = snapshot(dispute)
    with pytest.raises(StaleEdit):
        actions.record_session(
            world.users["officer"], dispute, version=1, held_at=timezone.now(), result="failed"
        )
    assert snapshot(dispute) == before


# -- agreement, follow-up ----------------------------------------------------------------------------


def agreed(world: World, **kw: Any) -> Dispute:
    dispute = on_track(world, "people", **kw)
    actions.record_session(
        world.users["officer"], dispute, version=2, held_at=timezone.now(), result="agreed"
    )
    return Dispute.objects.get(pk=dispute.pk)


def agreement(world: World, dispute: Dispute, **kw: Any) -> Agreement:
    values: dict[str, Any] = {
        "form": "written",
        "facts": "楼上水管漏水致楼下天花板受损",
        "terms": "楼上于十日内修好水管并赔偿八百元",
        "performance": "一次付清，维修完毕后楼下确认",
        "perform_by": timezone.localdate() + timedelta(days=10),
        "signed_on": timezone.localdate(),
        "signatories": ["刘大爷", "楼下住户"],
        "copies": 3,
    }
    values.update(kw)
    return actions.record_agreement(
        world.users["officer"], dispute, version=dispute.version, **values
    )


def test_an_agreement_needs_an_agreeing_session(world: World) -> None:
    dispute = on_track(world, "people")
    with pytest.raises(Refused) as exc:
        agreement(world, dispute)
    assert refused(exc, "status", "in which the parties agreed")


def test_an_agreement_is_numbered_and_its_follow_up_falls_due(world: World) -> None:
    dispute = agreed(world)
    deal = agreement(world, dispute)
    assert deal.number == f"{dispute.number}-X1"
    assert deal.status == "pending" and deal.signatories == ["刘大爷", "楼下住户"]
    from jingwang.core import workdays

    assert deal.followup_due == workdays.add_working_days(deal.perform_by, 5).on
    fresh = Dispute.objects.get(pk=dispute.pk)
    assert fresh.status == "agreed" and not fresh.is_closed
    (event,) = events("record_agreement")
    assert event.object_type == "disputes.agreement" and event.subject_id == str(dispute.pk)


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"signatories": ["刘大爷"]}, "signatories", "at least two parties"),
        ({"copies": 0}, "copies", "copies"),
        ({"form": "video"}, "form", "written or an oral"),
        ({"terms": ""}, "terms", "required"),
        ({"perform_by": "2020-01-01"}, "perform_by", "before it was signed"),
        ({"signed_on": timezone.localdate() + timedelta(days=3)}, "signed_on", "future"),
        ({"signed_on": "someday"}, "signed_on", "not a date"),
        ({"form": "oral", "signatories": []}, "signatories", "who agreed"),
    ],
)
def test_bad_agreements_are_refused_naming_the_field(
    world: World, values: dict[str, Any], field: str, text: str
) -> None:
    dispute = agreed(world)
    before = snapshot(dispute)
    with pytest.raises(InvalidDispute) as exc:
        agreement(world, dispute, **values)
    assert refused(exc, field, text), (exc.value.field, exc.value.message)
    assert snapshot(dispute) == before


def test_an_oral_agreement_needs_no_copies(world: World) -> None:
    deal = agreement(world, agreed(world), form="oral", copies=0, signatories=["刘大爷", "楼下"])
    assert (deal.form, deal.copies) == ("oral", 0)


def test_a_carried_out_agreement_closes_the_dispute(world: World) -> None:
    dispute = agreed(world)
    deal = agreement(world, dispute)
    visit = actions.record_followup(
        world.users["grid_worker"],
        deal,
        version=4,
        visited_at=timezone.now(),
        method="visit",
        result="performed",
        notes="已修好",
    )
    fresh = Dispute.objects.get(pk=dispute.pk)
    assert fresh.status == "performed" and fresh.is_closed and fresh.closed_at is not None
    assert Agreement.objects.get(pk=deal.pk).status == "performed"
    assert visit.result == "performed"
    (event,) = events("record_followup")
    assert event.object_type == "disputes.followup" and event.subject_id == str(dispute.pk)
    # a concluded follow-up takes no more visits
    with pytest.raises(Refused) as exc:
        actions.record_followup(
            world.users["officer"],
            deal,
            version=5,
            visited_at=timezone.now(),
            method="phone",
            result="performed",
        )
    assert exc.value.field == "status"


def test_an_agreement_not_carried_out_reopens_the_dispute(world: World) -> None:
    dispute = agreed(world)
    deal = agreement(world, dispute)
    actions.record_followup(
        world.users["officer"],
        deal,
        version=4,
        visited_at=timezone.now(),
        method="phone",
        result="not_performed",
    )
    fresh = Dispute.objects.get(pk=dispute.pk)
    assert (fresh.status, fresh.reopened, fresh.closed_at) == ("open", 1, None)
    from jingwang.core import workdays

    today = timezone.localdate()
    expected = workdays.next_working_day(
        date(today.year + (today.month == 12), today.month % 12 + 1, today.day) - timedelta(days=1)
    ).on
    assert fresh.track_started == today and fresh.deadline == expected
    assert Agreement.objects.get(pk=deal.pk).status == "unperformed"
    assert about(dispute)[-2:] == ["record_followup", "reopen_dispute"]
    # it can be mediated again and reach a second agreement
    actions.record_session(
        world.users["officer"], fresh, version=5, held_at=timezone.now(), result="agreed"
    )
    second = agreement(world, Dispute.objects.get(pk=dispute.pk))
    assert second.number == f"{dispute.number}-X2"


def test_a_partly_carried_out_agreement_is_visited_again_later(world: World) -> None:
    dispute = agreed(world)
    deal = agreement(world, dispute)
    actions.record_followup(
        world.users["officer"],
        deal,
        version=4,
        visited_at=timezone.now(),
        method="visit",
        result="partly",
    )
    from jingwang.core import workdays

    fresh = Agreement.objects.get(pk=deal.pk)
    assert fresh.status == "pending"
    assert fresh.followup_due == workdays.add_working_days(timezone.localdate(), 5).on
    assert Dispute.objects.get(pk=dispute.pk).status == "agreed"


def test_a_stale_follow_up_is_refused(world: World) -> None:
    dispute = agreed(world)
    deal = agreement(world, dispute)
    before = snapshot(dispute)
    with pytest.raises(StaleEdit):
        actions.record_followup(
            world.users["officer"],
            deal,
            version=3,
            visited_at=timezone.now(),
            method="visit",
            result="performed",
        )
    assert snapshot(dispute) == before and not FollowUp.objects.exists()


# -- referral, withdrawal ---------------------------------------------------------------------------


def test_a_failed_mediation_is_referred_telling_the_parties(world: World) -> None:
    dispute = make_dispute(world)
    with pytest.raises(InvalidDispute) as exc:
        actions.refer_dispute(
            world.users["officer"], dispute, version=1, to="department", told="请去住建局"
        )
    assert refused(exc, "department", "required")
    with pytest.raises(InvalidDispute) as exc:
        actions.refer_dispute(world.users["officer"], dispute, version=1, to="court", told="")
    assert refused(exc, "told", "required")
    referral = actions.refer_dispute(
        world.users["officer"], dispute, version=1, to="court", told="可向人民法院起诉"
    )
    fresh = Dispute.objects.get(pk=dispute.pk)
    assert (fresh.status, fresh.is_closed, referral.to) == ("referred", True, "court")
    (event,) = events("refer_dispute")
    assert event.subject_id == str(dispute.pk)
    # a closed dispute is not referred again, nor edited
    with pytest.raises(Refused) as exc2:
        actions.refer_dispute(world.users["officer"], fresh, version=2, to="court", told="x")
    assert refused(exc2, "status", "Referred")
    with pytest.raises(Refused):
        actions.update_dispute(world.users["officer"], fresh, version=2, facts="改")


def test_a_withdrawn_dispute_is_closed_with_its_reason(world: World) -> None:
    dispute = make_dispute(world)
    with pytest.raises(InvalidDispute) as exc:
        actions.withdraw_dispute(world.users["officer"], dispute, version=1, reason=" ")
    assert refused(exc, "reason", "required")
    done = actions.withdraw_dispute(
        world.users["officer"], dispute, version=1, reason="双方自行和解"
    )
    assert done.status == "withdrawn" and done.closed_at is not None
    (event,) = events("withdraw_dispute")
    assert event.detail_data["reason"] == "双方自行和解"


def test_the_whole_story_is_on_the_disputes_timeline(world: World) -> None:
    dispute = make_dispute(world)
    mediator = member_of(world, 1, world.people["mediator"], "mediator")
    actions.call_member(world.users["chief"], dispute, mediator)
    dispute = actions.choose_track(world.users["officer"], dispute, version=1, track="people")
    actions.record_session(
        world.users["officer"], dispute, version=2, held_at=timezone.now(), result="failed"
    )
    dispute = actions.change_tier(
        world.users["chief"], dispute, version=3, tier=2, reason="调解不成"
    )
    actions.record_session(
        world.users["officer"], dispute, version=4, held_at=timezone.now(), result="agreed"
    )
    deal = agreement(world, Dispute.objects.get(pk=dispute.pk))
    actions.record_followup(
        world.users["officer"],
        deal,
        version=6,
        visited_at=timezone.now(),
        method="visit",
        result="performed",
    )
    assert about(dispute) == [
        "register_dispute",
        "call_member",
        "choose_track",
        "record_session",
        "escalate_dispute",
        "record_session",
        "record_agreement",
        "record_followup",
    ]


# -- bodies and rosters -------------------------------------------------------------------------


def test_a_stations_bodies_are_made_once(world: World) -> None:
    first = actions.ensure_bodies(world.station)
    again = actions.ensure_bodies(world.station)
    assert [b.pk for b in first] == [b.pk for b in again]
    assert [(b.tier, b.name) for b in first] == [
        (1, "警民联调工作站"),
        (2, "警民和谐工作队"),
        (3, "矛盾纠纷调解室"),
    ]
    assert Body.objects.filter(station=world.station).count() == 3
    assert len(events("seed_mediation_bodies")) == 1


def test_a_roster_takes_people_of_its_station_in_its_tiers_roles(world: World) -> None:
    tier = bodies(world)
    chief = world.users["chief"]
    member = actions.add_member(chief, tier[1], world.people["grid_worker"], role="grid_worker")
    assert member.is_active and member.body == tier[1]
    (event,) = events("add_body_member")
    assert event.station_id == world.station.pk
    with pytest.raises(InvalidDispute) as exc:
        actions.add_member(chief, tier[1], world.people["grid_worker"], role="grid_worker")
    assert refused(exc, "person", "already a member")
    with pytest.raises(InvalidDispute) as exc:
        actions.add_member(chief, tier[3], world.people["officer"], role="deputy")
    assert refused(exc, "role", "role this tier's body has")
    with pytest.raises(InvalidDispute) as exc:
        actions.add_member(chief, tier[3], world.people["officer"], role="department")
    assert refused(exc, "department", "required")
    with pytest.raises(InvalidDispute) as exc:
        actions.add_member(chief, tier[1], world.people["other_officer"], role="officer")
    assert refused(exc, "person", "person of this station")
    ended = actions.end_membership(chief, member)
    assert not ended.is_active and len(events("end_body_membership")) == 1
    with pytest.raises(Refused) as exc2:
        actions.end_membership(chief, member)
    assert refused(exc2, "person", "already ended")
    # ended, they may join again
    assert actions.add_member(chief, tier[1], world.people["grid_worker"], role="grid_worker")
    assert Member.objects.filter(body=tier[1]).count() == 2


def test_refusals_speak_the_users_language(world: World) -> None:
    dispute = make_dispute(world)
    with override("zh-hans"), pytest.raises(InvalidDispute) as exc:
        actions.override_tier(world.users["officer"], dispute, version=1, tier=9, reason="x")
    assert (exc.value.field, exc.value.message) == ("tier", "请选择第1、2或3级。")
    with override("zh-hans"), pytest.raises(StaleEdit) as stale:
        actions.withdraw_dispute(world.users["officer"], dispute, version=7, reason="x")
    with override("zh-hans"):  # the message is made when shown, in the reader's language
        assert str(stale.value).startswith("在您操作期间，他人已修改此纠纷")


def test_a_deadline_in_a_year_not_in_the_calendar_is_marked_uncertain(world: World) -> None:
    # 2027's holidays are in neither the package's years nor the admin's table
    dispute = dated(world, date(2026, 11, 30))
    done = actions.choose_track(
        world.users["officer"], dispute, version=1, track="people", accepted_on=date(2026, 12, 1)
    )
    assert done.deadline == date(2027, 1, 1) and done.deadline_uncertain
    sure = actions.choose_track(
        world.users["officer"], done, version=2, track="police", accepted_on=date(2026, 12, 1)
    )
    assert sure.deadline == date(2026, 12, 4) and not sure.deadline_uncertain
