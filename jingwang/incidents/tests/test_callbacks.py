"""Working a callback: the queue, the caller's number, attempts, the answers; and who may not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.incidents import actions_callbacks as actions
from jingwang.incidents.models import Callback, CallbackAttempt, Incident, Rectification
from jingwang.incidents.tests.callback_helpers import (
    PHONE,
    add_user,
    at,
    due_callback,
    one_working_day_before,
    rows_of,
)

TABLES = (Callback, CallbackAttempt, Rectification, Incident)


def denied(world, name):
    return AuditEvent.objects.filter(outcome="denied", actor_id=world.users[name].id).count()


@pytest.fixture
def aux_b(world):
    """An auxiliary of grid B: callbacks of grid A are not theirs."""
    return add_user(world, "aux_b", "auxiliary", world.block_b, "auxiliary")


def test_my_callbacks_are_those_of_my_grids_due_today_or_overdue(world, aux_b):
    today = timezone.localdate()
    mine = due_callback(world, due_on=today)
    late = due_callback(world, due_on=today - timedelta(days=3))
    later = due_callback(world, due_on=today + timedelta(days=1))
    in_b = due_callback(world, due_on=today, grid=world.block_b)
    page = world.client("auxiliary").get("/incidents/callbacks/")
    assert page.status_code == 200
    shown = {c.pk for c in page.context["page"]}
    assert shown == {mine.pk, late.pk, in_b.pk}  # the cast's auxiliary works the whole sector
    assert later.pk not in shown
    page_b = world.client("aux_b").get("/incidents/callbacks/")
    assert {c.pk for c in page_b.context["page"]} == {in_b.pk}
    # The chief sees the station's; the other station's chief nothing of it.
    chief = world.client("chief").get("/incidents/callbacks/")
    assert {c.pk for c in chief.context["page"]} == {mine.pk, late.pk, in_b.pk}
    other = world.client("other_chief").get("/incidents/callbacks/")
    assert list(other.context["page"]) == []


def test_an_auxiliary_works_a_callback_on_a_phone_and_sees_the_number_only_then(world):
    callback = due_callback(world)
    client = world.client("auxiliary")
    page = client.get(f"/incidents/callbacks/{callback.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert PHONE not in text and "139****1111" in text
    shown = client.post(f"/incidents/callbacks/{callback.pk}/number/", HTTP_HX_REQUEST="true")
    assert shown.status_code == 200
    assert f'href="tel:{PHONE}"' in shown.content.decode()
    event = AuditEvent.objects.get(action="unmask")
    assert event.actor_id == world.users["auxiliary"].id
    assert (event.object_type, event.object_id) == ("incidents.incident", str(callback.incident_id))
    assert '"because": "callback"' in event.detail
    # The people pages still refuse the auxiliary (no pii.unmask): only this door opened.
    assert client.post(f"/people/{world.people['officer'].id}/unmask/").status_code == 404


def test_the_answers_close_the_callback_and_show_on_the_incident_timeline(world):
    from jingwang.audit.queries import timeline

    callback = due_callback(world)
    response = world.client("auxiliary").post(
        f"/incidents/callbacks/{callback.pk}/answer/",
        {
            "speed": "satisfied",
            "attitude": "basically",
            "handling": "satisfied",
            "suggestions": "处理及时",
            "version": "1",
        },
    )
    assert response.status_code == 302
    callback.refresh_from_db()
    assert (callback.status, callback.channel, callback.speed, callback.attitude) == (
        "done",
        "phone",
        "satisfied",
        "basically",
    )
    assert callback.done_by == world.users["auxiliary"]
    assert not Rectification.objects.exists()
    assert "record_callback" in [e.action for e in timeline(callback.incident)]
    # The number is no longer shown to anyone through the callback door.
    number = world.client("auxiliary").post(f"/incidents/callbacks/{callback.pk}/number/")
    assert number.status_code == 404


def test_a_dissatisfied_answer_opens_a_rectification_for_the_chief(world):
    from jingwang.core import workdays

    callback = due_callback(world)
    world.client("auxiliary").post(
        f"/incidents/callbacks/{callback.pk}/answer/",
        {
            "speed": "satisfied",
            "attitude": "dissatisfied",
            "handling": "basically",
            "suggestions": "民警说话不耐烦",
            "version": "1",
        },
    )
    rectification = Rectification.objects.get()
    assert rectification.owner == world.users["chief"]
    assert rectification.caller_words == "民警说话不耐烦"
    assert rectification.status == "open"
    expected = workdays.add_working_days(timezone.localdate(), 5).on
    assert rectification.due_on == expected
    event = AuditEvent.objects.get(action="open_rectification")
    assert event.subject_id == str(callback.incident_id)
    assert '"dissatisfied": ["attitude"]' in event.detail


def test_a_stale_answer_gets_the_conflict_message_and_writes_nothing(world):
    callback = due_callback(world)
    actions.record_attempt(world.users["officer"], callback, outcome="no_answer", version=1)
    response = world.client("auxiliary").post(
        f"/incidents/callbacks/{callback.pk}/answer/",
        {"speed": "satisfied", "attitude": "satisfied", "handling": "satisfied", "version": "1"},
        follow=True,
    )
    assert "其他人已处理过它" in response.content.decode()  # the conflict message, in Chinese
    callback.refresh_from_db()
    assert callback.status == "due" and callback.speed == ""


def test_an_answer_missing_a_question_names_it(world):
    callback = due_callback(world)
    response = world.client("auxiliary").post(
        f"/incidents/callbacks/{callback.pk}/answer/",
        {"speed": "satisfied", "attitude": "satisfied", "version": "1"},
    )
    assert response.status_code == 400
    assert "handling" in response.context["answers"].errors
    assert Callback.objects.get().status == "due"


def test_three_failed_attempts_over_two_working_days_close_it_as_unreachable(world):
    callback = due_callback(world)
    today = timezone.localdate()
    before = one_working_day_before(today)
    for outcome in ("no_answer", "call_later"):
        CallbackAttempt.objects.create(
            callback=callback,
            outcome=outcome,
            by=world.users["auxiliary"],
            at=at(before, 10),
        )
    client = world.client("auxiliary")
    response = client.post(
        f"/incidents/callbacks/{callback.pk}/attempt/",
        {"outcome": "no_answer", "note": "无人接听", "version": "1"},
    )
    assert response.status_code == 302 and response["Location"] == "/incidents/callbacks/"
    callback.refresh_from_db()
    assert (callback.status, callback.failed_attempts) == ("unreachable", 3)
    assert AuditEvent.objects.filter(action="callback_unreachable").count() == 1


def test_three_failed_attempts_on_one_day_keep_it_due(world):
    callback = due_callback(world)
    client = world.client("auxiliary")
    for version, outcome in enumerate(("no_answer", "refused", "wrong_number"), start=1):
        response = client.post(
            f"/incidents/callbacks/{callback.pk}/attempt/",
            {"outcome": outcome, "version": str(version)},
        )
        assert response.status_code == 302
    callback.refresh_from_db()
    assert (callback.status, callback.failed_attempts) == ("due", 3)
    assert (
        AuditEvent.objects.filter(
            action="callback_attempt", subject_id=str(callback.incident_id)
        ).count()
        == 3
    )


def test_an_officer_only_callback_is_not_an_auxiliarys(world):
    callback = due_callback(world, code="public_order.domestic_violence")
    assert callback.officer_only
    before, refused = rows_of(*TABLES), denied(world, "auxiliary")
    client = world.client("auxiliary")
    assert callback.pk not in {c.pk for c in client.get("/incidents/callbacks/").context["page"]}
    assert client.get(f"/incidents/callbacks/{callback.pk}/").status_code == 404
    for path, data in (
        ("number/", {}),
        ("attempt/", {"outcome": "no_answer", "version": "1"}),
        (
            "answer/",
            {
                "speed": "satisfied",
                "attitude": "satisfied",
                "handling": "satisfied",
                "version": "1",
            },
        ),
    ):
        assert client.post(f"/incidents/callbacks/{callback.pk}/{path}", data).status_code == 404
    assert rows_of(*TABLES) == before
    assert denied(world, "auxiliary") == refused + 4
    assert not AuditEvent.objects.filter(action="unmask").exists()
    # An officer works it.
    officer = world.client("officer")
    assert officer.get(f"/incidents/callbacks/{callback.pk}/").status_code == 200
    assert officer.post(f"/incidents/callbacks/{callback.pk}/number/").status_code == 200


WRITES = [
    ("number/", {}),
    ("attempt/", {"outcome": "no_answer", "version": "1"}),
    (
        "answer/",
        {"speed": "dissatisfied", "attitude": "satisfied", "handling": "satisfied", "version": "1"},
    ),
]


@pytest.mark.parametrize("path, data", WRITES)
@pytest.mark.parametrize(
    "name", ["aux_b", "other_chief", "other_officer", "grid_worker", "auditor", "system_admin"]
)
def test_who_may_not_work_a_callback_gets_404_and_nothing_changes(world, aux_b, name, path, data):
    callback = due_callback(world)  # in grid A
    before, refused = rows_of(*TABLES), denied(world, name)
    response = world.client(name).post(f"/incidents/callbacks/{callback.pk}/{path}", data)
    assert response.status_code == 404
    assert rows_of(*TABLES) == before
    assert denied(world, name) > refused
    assert not AuditEvent.objects.filter(
        action__in=["unmask", "callback_attempt", "record_callback"]
    ).exists()


@pytest.mark.parametrize("name", ["aux_b", "other_chief", "grid_worker", "auditor"])
def test_who_may_not_work_a_callback_cannot_open_it(world, aux_b, name):
    callback = due_callback(world)
    refused = denied(world, name)
    assert world.client(name).get(f"/incidents/callbacks/{callback.pk}/").status_code == 404
    assert denied(world, name) > refused


def test_the_home_page_tells_who_works_callbacks_what_is_due(world, aux_b):
    due_callback(world, due_on=timezone.localdate() - timedelta(days=2))
    page = world.client("auxiliary").get("/").content.decode()
    assert 'id="panel-callbacks"' in page
    assert 'id="panel-callbacks"' not in world.client("aux_b").get("/").content.decode()
    assert 'id="panel-callbacks"' not in world.client("grid_worker").get("/").content.decode()
