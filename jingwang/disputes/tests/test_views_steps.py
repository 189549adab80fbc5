"""The steps on a dispute's page, each through its POST: a done step goes back to the page
with a message, a refused one shows the message next to its field, a stale one the conflict,
and those without the right get a 404 and a ``denied`` event, with nothing changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.disputes.models import Agreement, Call, Dispute, Member, TierChange
from jingwang.disputes.tests.helpers import make_dispute, mediation_member, member_of
from tests.cast import World

MOMENT = "%Y-%m-%dT%H:%M"


def english(client: Client) -> None:
    client.post("/accounts/language/", {"language": "en"})


def now(delta: timedelta = timedelta(0)) -> str:
    return (timezone.localtime() + delta).strftime(MOMENT)


def last_seq() -> int:
    found = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return found or 0


def denied(user: Any, before: int) -> bool:
    return AuditEvent.objects.filter(
        seq__gt=before, actor_id=user.pk, action="access", outcome="denied"
    ).exists()


def fresh(dispute: Dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


def post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data)


def done(response: Any, dispute: Dispute) -> None:
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == f"/disputes/{dispute.pk}/"


def field_error(response: Any, form: str, field: str) -> str:
    """The errors shown next to ``field`` in the step form ``form`` of the page."""
    body = response.content.decode()
    block = body.split(f'id="{form}-form"')[1].split("</form>")[0]
    chunks = [c for c in block.split('<div class="field')[1:] if f'name="{field}"' in c]
    assert len(chunks) == 1 and chunks[0].startswith(' invalid"'), (form, field, block[:2000])
    return chunks[0]


def mediator(world: World, tier: int = 1) -> Member:
    return member_of(world, tier, world.people["mediator"], "mediator")


# ---------------------------------------------------------------------------------------------
# The journey: call, lead, track, a failed session, escalation, agreement, PDF, follow-up


def test_the_mediation_journey_through_the_page(world: World) -> None:
    dispute = make_dispute(world, people_involved=6)  # 6 people: tier 2
    assert dispute.tier == 2
    officer = world.client("officer")
    english(officer)
    tier2 = member_of(world, 2, world.people["officer"], "officer")
    tier3 = member_of(world, 3, world.people["mediator"], "mediator")
    shown = officer.get(f"/disputes/{dispute.pk}/").content.decode()
    for step in ("override", "tier", "call", "lead", "track", "refer", "withdraw"):
        assert f'id="{step}-form"' in shown, step
    assert 'id="session-form"' not in shown  # no track chosen yet

    # call and lead
    url = f"/disputes/{dispute.pk}"
    done(post(officer, f"{url}/call/", {"version": dispute.version, "member": tier2.pk}), dispute)
    assert Call.objects.filter(dispute=dispute, member=tier2).exists()
    d = fresh(dispute)
    done(post(officer, f"{url}/lead/", {"version": d.version, "member": tier2.pk}), d)
    assert fresh(d).lead == tier2

    # police mediation is refused for a group fight, next to the exclusions
    d = fresh(d)
    refused = post(
        officer,
        f"{url}/track/",
        {"version": d.version, "track": "police", "exclusions": ["group_fight"]},
    )
    assert refused.status_code == 400
    assert '<li class="error">' in refused.content.decode()
    assert field_error(refused, "track", "exclusions")
    assert fresh(d).track == "" and fresh(d).version == d.version
    # people's mediation: a deadline
    done(post(officer, f"{url}/track/", {"version": d.version, "track": "people"}), d)
    d = fresh(d)
    assert d.track == "people" and d.deadline is not None

    # a failed session, with the members taking part
    data = {
        "version": d.version,
        "held_at": now(-timedelta(hours=1)),
        "result": "failed",
        "participants": [tier2.pk],
        "said": "双方各执一词",
    }
    done(post(officer, f"{url}/session/", data), d)
    d = fresh(d)
    session = d.sessions.get()
    assert session.result == "failed" and list(session.participants.all()) == [tier2]

    # escalated to tier 3 with a reason; the history keeps both steps
    done(post(officer, f"{url}/tier/", {"version": d.version, "tier": 3, "reason": "调解失败"}), d)
    d = fresh(d)
    assert d.tier == 3
    assert list(d.tier_changes.values_list("kind", "to_tier")) == [("triage", 2), ("escalate", 3)]
    page = officer.get(f"{url}/").content.decode()
    assert "调解失败" in page.split('id="tier-history"')[1]

    # an agreement needs a session that agreed: first the session, then the agreement
    data = {
        "version": d.version,
        "held_at": now(-timedelta(minutes=10)),
        "result": "agreed",
        "participants": [tier3.pk],
    }
    done(post(officer, f"{url}/session/", data), d)
    d = fresh(d)
    page = officer.get(f"{url}/").content.decode()
    assert 'id="agreement-form"' in page
    for name in ("刘大爷", "楼下住户"):  # the parties' names to tick as signatories
        assert f'value="{name}"' in page.split('id="agreement-form"')[1].split("</form>")[0]
    data = {
        "version": d.version,
        "form": "written",
        "facts": "漏水纠纷",
        "terms": "刘大爷负责维修水管并赔偿800元",
        "performance": "一次性支付",
        "perform_by": str(timezone.localdate() + timedelta(days=7)),
        "signed_on": str(timezone.localdate()),
        "signatories": ["刘大爷", "楼下住户"],
        "copies": "3",
    }
    done(post(officer, f"{url}/agreement/", data), d)
    d = fresh(d)
    agreement = d.agreements.get()
    assert d.status == "agreed" and agreement.signatories == ["刘大爷", "楼下住户"]

    # its PDF
    pdf = pytest.importorskip("jingwang.disputes.agreement_pdf")
    assert pdf is not None
    response = officer.get(f"/disputes/agreements/{agreement.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert body.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="export", object_type="disputes.agreement").exists()

    # the follow-up marks it carried out
    page = officer.get(f"{url}/").content.decode()
    assert f'id="followup-{agreement.pk}-form"' in page
    data = {
        "version": d.version,
        "visited_at": now(-timedelta(minutes=1)),
        "method": "visit",
        "result": "performed",
    }
    done(post(officer, f"/disputes/agreements/{agreement.pk}/followup/", data), d)
    d = fresh(d)
    assert d.status == "performed" and d.closed_at is not None
    assert Agreement.objects.get(pk=agreement.pk).status == "performed"
    page = officer.get(f"{url}/").content.decode()
    assert 'id="steps"' not in page and "record_followup" in page  # closed; on the timeline


# ---------------------------------------------------------------------------------------------
# Each step's refusals


def test_a_stale_version_gets_the_conflict_message_and_changes_nothing(world: World) -> None:
    dispute = make_dispute(world)
    officer = world.client("officer")
    english(officer)
    url = f"/disputes/{dispute.pk}"
    done(post(officer, f"{url}/track/", {"version": dispute.version, "track": "people"}), dispute)
    d = fresh(dispute)
    response = post(
        officer, f"{url}/override/", {"version": dispute.version, "tier": 3, "reason": "x"}
    )
    assert response.status_code == 409
    assert "Someone else changed this dispute" in response.content.decode()
    assert fresh(d).tier == 1 and fresh(d).version == d.version
    # a version that is no number at all: the form is out of date, nothing happens
    response = post(officer, f"{url}/withdraw/", {"version": "abc", "reason": "x"})
    assert response.status_code == 400 and "out of date" in response.content.decode()
    assert fresh(d).status == "open"


def test_an_override_needs_a_reason_named_next_to_its_field(world: World) -> None:
    dispute = make_dispute(world)
    officer = world.client("officer")
    english(officer)
    url = f"/disputes/{dispute.pk}"
    response = post(officer, f"{url}/override/", {"version": dispute.version, "tier": 3})
    assert response.status_code == 400
    assert "This field is required." in field_error(response, "override", "reason")
    assert 'id="step-override" open' in response.content.decode()
    assert fresh(dispute).tier == 1
    data = {"version": dispute.version, "tier": 3, "reason": "当事人情绪激动"}
    done(post(officer, f"{url}/override/", data), dispute)
    d = fresh(dispute)
    assert d.tier == 3 and d.tier_overridden
    assert d.tier_changes.filter(kind=TierChange.Kind.OVERRIDE, reason="当事人情绪激动").exists()


def test_a_session_in_the_future_is_refused_next_to_its_time(world: World) -> None:
    dispute = make_dispute(world)
    officer = world.client("officer")
    english(officer)
    url = f"/disputes/{dispute.pk}"
    done(post(officer, f"{url}/track/", {"version": dispute.version, "track": "police"}), dispute)
    d = fresh(dispute)
    data = {"version": d.version, "held_at": now(timedelta(days=1)), "result": "agreed"}
    response = post(officer, f"{url}/session/", data)
    assert response.status_code == 400
    assert "future" in field_error(response, "session", "held_at")
    assert not d.sessions.exists()


def test_extend_refer_and_withdraw(world: World) -> None:
    officer = world.client("officer")
    english(officer)
    first = make_dispute(world)
    url = f"/disputes/{first.pk}"
    done(post(officer, f"{url}/track/", {"version": first.version, "track": "people"}), first)
    d = fresh(first)
    deadline = d.deadline
    assert deadline is not None
    data = {"version": d.version, "reason": "双方同意延长"}
    done(post(officer, f"{url}/extend/", data), d)
    d = fresh(d)
    assert d.extended and d.deadline is not None and d.deadline > deadline
    # a department referral needs the department, named next to it
    data = {"version": d.version, "to": "department", "told": "请到住建部门反映"}
    response = post(officer, f"{url}/refer/", data)
    assert response.status_code == 400 and field_error(response, "refer", "department")
    done(post(officer, f"{url}/refer/", data | {"department": "住建局"}), d)
    d = fresh(d)
    assert d.status == "referred" and d.referrals.get().department == "住建局"
    assert 'id="referrals"' in officer.get(f"{url}/").content.decode()

    second = make_dispute(world)
    data = {"version": second.version, "reason": "申请人撤回"}
    done(post(officer, f"/disputes/{second.pk}/withdraw/", data), second)
    assert fresh(second).status == "withdrawn"


# ---------------------------------------------------------------------------------------------
# Who may take which step


@pytest.mark.parametrize("name", ["other_chief", "other_officer", "system_admin", "auditor"])
def test_those_outside_get_404_and_nothing_changes(world: World, name: str) -> None:
    dispute = make_dispute(world)
    client = world.client(name)
    url = f"/disputes/{dispute.pk}"
    steps: list[tuple[str, dict[str, Any]]] = [
        ("override", {"tier": 3, "reason": "x"}),
        ("track", {"track": "people"}),
        ("withdraw", {"reason": "x"}),
    ]
    for step, data in steps:
        before = last_seq()
        response = post(client, f"{url}/{step}/", {"version": dispute.version, **data})
        assert response.status_code == 404, step
        assert denied(world.users[name], before), step
    d = fresh(dispute)
    assert (d.version, d.tier, d.track, d.status) == (dispute.version, 1, "", "open")


def test_the_auxiliary_may_not_mediate_nor_triage(world: World) -> None:
    dispute = make_dispute(world)
    client = world.client("auxiliary")
    shown = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert 'id="steps"' not in shown and 'id="edit"' in shown
    before = last_seq()
    response = post(client, f"/disputes/{dispute.pk}/track/", {"version": 1, "track": "people"})
    assert response.status_code == 404 and denied(world.users["auxiliary"], before)
    before = last_seq()
    data = {"version": 1, "tier": 2, "reason": "x"}
    response = post(client, f"/disputes/{dispute.pk}/tier/", data)
    assert response.status_code == 404 and denied(world.users["auxiliary"], before)
    assert fresh(dispute).version == dispute.version


def test_a_grid_worker_mediates_tier_1_only(world: World) -> None:
    client = world.client("grid_worker")
    english(client)
    general = make_dispute(world)
    shown = client.get(f"/disputes/{general.pk}/").content.decode()
    assert 'id="track-form"' in shown and 'id="override-form"' not in shown
    done(post(client, f"/disputes/{general.pk}/track/", {"version": 1, "track": "people"}), general)
    larger = make_dispute(world, people_involved=6)
    shown = client.get(f"/disputes/{larger.pk}/").content.decode()
    assert 'id="track-form"' not in shown
    response = post(client, f"/disputes/{larger.pk}/track/", {"version": 1, "track": "people"})
    assert response.status_code == 400
    assert "grid workers mediate tier-1 disputes only" in response.content.decode()
    assert fresh(larger).track == ""


def test_an_outside_member_records_a_session_of_a_dispute_they_are_called_to(
    world: World,
) -> None:
    from jingwang.disputes import actions

    outside = mediation_member(world)
    dispute = make_dispute(world, people_involved=6)
    actions.call_member(world.users["officer"], dispute, outside.member)
    d = actions.choose_track(
        world.users["officer"], fresh(dispute), version=fresh(dispute).version, track="people"
    )
    client = Client()
    client.force_login(outside.user)
    shown = client.get(f"/disputes/{d.pk}/").content.decode()
    assert 'id="session-form"' in shown and 'id="override-form"' not in shown
    data = {
        "version": d.version,
        "held_at": now(-timedelta(hours=1)),
        "result": "adjourned",
        "participants": [outside.member.pk],
    }
    done(post(client, f"/disputes/{d.pk}/session/", data), d)
    assert fresh(d).sessions.get().result == "adjourned"
    # another dispute, not called to: 404 and a denied event
    other = make_dispute(world, people_involved=7)
    before = last_seq()
    response = post(client, f"/disputes/{other.pk}/withdraw/", {"version": 1, "reason": "x"})
    assert response.status_code == 404 and denied(outside.user, before)
    assert fresh(other).status == "open"


def test_the_pdf_of_another_stations_agreement_is_404(world: World) -> None:
    from jingwang.disputes import actions

    dispute = make_dispute(world)
    officer = world.users["officer"]
    d = actions.choose_track(officer, dispute, version=dispute.version, track="people")
    actions.record_session(
        officer, d, version=d.version, held_at=timezone.now() - timedelta(hours=1), result="agreed"
    )
    d = fresh(d)
    agreement = actions.record_agreement(
        officer,
        d,
        version=d.version,
        form="oral",
        facts="事实",
        terms="条款",
        performance="当场履行",
        perform_by=timezone.localdate(),
        signed_on=timezone.localdate(),
        signatories=["刘大爷", "楼下住户"],
        copies=0,
    )
    client = world.client("other_chief")
    before = last_seq()
    response = client.get(f"/disputes/agreements/{agreement.pk}/pdf/")
    assert response.status_code == 404 and denied(world.users["other_chief"], before)
    assert not AuditEvent.objects.filter(action="export").exists()
