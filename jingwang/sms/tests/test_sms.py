"""Sending texts: the rules (quiet hours, daily cap, opt-outs), delivery with retries, and what
the gateway posts back, against a fake SMS platform started by the tests."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from jingwang.audit.models import AuditEvent
from jingwang.sms import actions, rules
from jingwang.sms.actions import send
from jingwang.sms.models import Message, OptOut, Reply
from jingwang.sms.queries import opt_out_token, opted_out
from jingwang.sms.tests.conftest import SECRET, SHANGHAI, post_signed

PHONE = "13812345678"
OTHER_PHONE = "13987654321"


def _send(world: Any, phone: str = PHONE, **kwargs: Any) -> Message:
    kwargs.setdefault("text", "您好，请对昨日处警进行评价。")
    kwargs.setdefault("purpose", "callback_survey")
    kwargs.setdefault("ref", "incidents.callback:42")
    return send(station=world.station, phone=phone, actor=world.users["chief"], **kwargs)


def _reload(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


# ---------------------------------------------------------------------------------------------
# Pure rules.


@pytest.mark.parametrize(
    "reply", ["退订", "TD", "td", " Td ", "TD。", "【退订】", "ｔｄ", "退订!", "\n td \n"]
)
def test_a_reply_asking_to_stop_is_an_opt_out(reply: str) -> None:
    assert rules.is_opt_out(reply)


@pytest.mark.parametrize("reply", ["", "好的", "TDD", "不退订", "满意", "T D X", "1"])
def test_other_replies_are_not(reply: str) -> None:
    assert not rules.is_opt_out(reply)


@pytest.mark.parametrize(
    ("hour", "quiet"), [(20, False), (21, True), (23, True), (0, True), (7, True), (8, False)]
)
def test_quiet_hours_wrap_midnight(hour: int, quiet: bool) -> None:
    assert rules.in_quiet_hours(datetime(2026, 12, 1, hour, 30, tzinfo=SHANGHAI), 21, 8) is quiet


def test_quiet_hours_end_at_the_next_eight_oclock() -> None:
    evening = datetime(2026, 12, 1, 22, 15, tzinfo=SHANGHAI)
    night = datetime(2026, 12, 2, 3, 0, tzinfo=SHANGHAI)
    assert rules.quiet_hours_end(evening, 21, 8) == datetime(2026, 12, 2, 8, tzinfo=SHANGHAI)
    assert rules.quiet_hours_end(night, 21, 8) == datetime(2026, 12, 2, 8, tzinfo=SHANGHAI)


def test_back_off_doubles_and_is_capped() -> None:
    waits = [rules.backoff(n, 60).total_seconds() for n in range(1, 6)]
    assert waits == [60, 120, 240, 480, 960]
    assert rules.backoff(30, 60) == timedelta(hours=6)


def test_a_signature_is_checked_with_its_timestamp() -> None:
    body = b'{"reports": []}'
    now = time.time()
    stamp = str(int(now))
    good = rules.signature(SECRET, stamp, body)
    assert rules.signature_problem(SECRET, stamp, good, body, now) is None
    assert rules.signature_problem(SECRET, stamp, "sha256=" + good, body, now) is None
    assert rules.signature_problem(SECRET, stamp, good, body + b" ", now) == "signature"
    assert rules.signature_problem(SECRET, stamp, good, body, now + 3600) == "stale"
    assert rules.signature_problem(SECRET, "x", good, body, now) == "stale"
    assert rules.signature_problem("", stamp, good, body, now) == "unconfigured"


# ---------------------------------------------------------------------------------------------
# Sending with the outbox (the default backend).


def test_a_text_in_the_day_goes_out_through_the_outbox_and_is_audited(
    world: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    assert message.status == "queued"  # as the caller sees it: delivery runs on commit
    message = _reload(message)
    assert message.status == "sent" and message.attempts == 1
    assert message.backend == "outbox" and message.gateway_id.startswith("outbox-")
    assert message.phone == PHONE and str(message.phone) == "138****5678"
    assert PHONE not in message.phone_encrypted
    actions_done = list(
        AuditEvent.objects.filter(object_type="sms.message", object_id=str(message.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions_done == ["send_sms", "update_sms_status"]


def test_nothing_is_delivered_for_a_transaction_that_rolled_back(
    world: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _send(world)
            raise RuntimeError
    assert callbacks == [] and not Message.objects.exists()


def test_bad_numbers_and_texts_are_refused_naming_the_field(world: Any, clock: Any) -> None:
    for phone, text, field in [
        ("12345", "hi", "phone"),
        ("", "hi", "phone"),
        (PHONE, "  ", "text"),
    ]:
        with pytest.raises(actions.InvalidMessage) as refused:
            _send(world, phone=phone, text=text)
        assert refused.value.field == field and str(refused.value)
    with pytest.raises(actions.InvalidMessage):
        _send(world, text="字" * 501)
    assert not Message.objects.exists()


def test_a_text_in_the_quiet_hours_is_held_until_eight(
    world: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock.set(2026, 12, 1, 22, 30)
    with django_capture_on_commit_callbacks(execute=True):
        held = _send(world)
        urgent = _send(world, phone=OTHER_PHONE, urgent=True, purpose="fraud_warning")
    assert held.status == "held"
    assert held.next_attempt_at == datetime(2026, 12, 2, 8, tzinfo=SHANGHAI)
    assert _reload(urgent).status == "sent"  # urgent: the quiet hours do not hold it
    clock.set(2026, 12, 2, 7, 59)
    actions.deliver_due()
    actions.deliver(held.pk)  # a job run early does nothing
    assert _reload(held).status == "held"
    clock.set(2026, 12, 2, 8, 0)
    assert actions.deliver_due() == 1
    assert _reload(held).status == "sent"
    assert actions.deliver_due() == 0


def test_a_retry_falling_in_the_quiet_hours_waits_for_the_morning(
    world: Any, clock: Any, fake_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock.set(2026, 12, 1, 20, 59)
    fake_gateway.plan = ["fail"]
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    assert _reload(message).status == "queued"
    clock.set(2026, 12, 1, 21, 5)
    actions.deliver_due()
    message = _reload(message)
    assert message.status == "held" and message.attempts == 1
    assert message.next_attempt_at == datetime(2026, 12, 2, 8, tzinfo=SHANGHAI)


def test_the_daily_cap_refuses_the_next_text_to_that_number(
    world: Any, clock: Any, settings: Any
) -> None:
    settings.SMS_DAILY_CAP = 2
    first, second, third = (_send(world) for _ in range(3))
    other = _send(world, phone=OTHER_PHONE)
    assert [first.status, second.status, other.status] == ["queued", "queued", "queued"]
    assert (third.status, third.reason) == ("refused", "daily_cap")
    event = AuditEvent.objects.filter(action="send_sms", object_id=str(third.pk)).get()
    assert json.loads(event.detail)["reason"] == "daily_cap"
    clock.set(2026, 12, 2, 9, 0)  # a new day in Shanghai
    assert _send(world).status == "queued"


def test_an_opted_out_number_is_refused_and_its_pending_texts_too(world: Any, clock: Any) -> None:
    clock.set(2026, 12, 1, 23, 0)
    held = _send(world)
    assert held.status == "held"
    row, created = actions.opt_out(PHONE, source="staff", station=world.station)
    assert created and opted_out(PHONE) and opted_out("+86 138 1234 5678")
    assert (_reload(held).status, _reload(held).reason) == ("refused", "opted_out")
    refused = _send(world)
    assert (refused.status, refused.reason) == ("refused", "opted_out")
    assert actions.opt_out(PHONE, source="page") == (row, False)
    assert OptOut.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# The HTTP gateway, against the fake platform.


def test_the_gateway_gets_the_signed_text_with_the_account_and_template(
    world: Any, clock: Any, fake_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    message = _reload(message)
    assert (message.status, message.gateway_id, message.backend) == ("sent", "gw-1", "http")
    [received] = fake_gateway.received
    assert received["mobile"] == PHONE
    assert received["content"] == "【三台公安】您好，请对昨日处警进行评价。"
    assert received["params"] == ["您好，请对昨日处警进行评价。"]
    assert (received["account"], received["template_id"]) == ("santai", "T-001")
    assert received["reference"] == message.pii_uid.hex


def test_failures_are_retried_with_growing_waits_then_the_text_goes_out(
    world: Any, clock: Any, fake_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_gateway.plan = ["fail", "timeout", "fail"]
    start = clock.now
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    message = _reload(message)
    assert (message.status, message.reason, message.attempts) == ("queued", "gateway_error", 1)
    assert message.error == "HTTP 503"
    assert message.next_attempt_at == start + timedelta(seconds=60)

    clock.now = start + timedelta(seconds=59)
    assert actions.deliver_due() == 0  # not yet
    clock.now = start + timedelta(seconds=60)
    actions.deliver_due()
    message = _reload(message)
    assert (message.status, message.reason, message.attempts) == ("queued", "timeout", 2)
    assert message.next_attempt_at == clock.now + timedelta(seconds=120)

    clock.now += timedelta(seconds=120)
    actions.deliver_due()
    message = _reload(message)
    assert message.attempts == 3 and message.next_attempt_at == clock.now + timedelta(seconds=240)

    clock.now += timedelta(seconds=240)
    actions.deliver_due()
    message = _reload(message)
    assert (message.status, message.attempts, message.reason) == ("sent", 4, "")
    assert len(fake_gateway.received) == 4
    statuses = [
        json.loads(detail)["status"]
        for detail in AuditEvent.objects.filter(action="update_sms_status")
        .order_by("seq")
        .values_list("detail", flat=True)
    ]
    assert statuses == ["queued", "queued", "queued", "sent"]


def test_a_text_fails_after_the_last_attempt(
    world: Any,
    clock: Any,
    fake_gateway: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SMS_MAX_ATTEMPTS = 2
    fake_gateway.plan = ["fail", "fail", "fail"]
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    clock.now += timedelta(minutes=5)
    actions.deliver_due()
    message = _reload(message)
    assert (message.status, message.attempts, message.reason) == ("failed", 2, "gateway_error")
    clock.now += timedelta(hours=1)
    assert actions.deliver_due() == 0
    assert len(fake_gateway.received) == 2


def test_a_refusal_by_the_platform_is_not_retried(
    world: Any, clock: Any, fake_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_gateway.plan = ["reject"]
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    message = _reload(message)
    assert (message.status, message.reason) == ("failed", "rejected")
    assert "40001" in message.error


def test_a_job_delivered_twice_sends_once(world: Any, clock: Any, fake_gateway: Any) -> None:
    message = _send(world)  # inside the test's transaction: the job is not run on commit
    actions.deliver(message.pk)
    actions.deliver(message.pk)
    actions.deliver_due()
    assert len(fake_gateway.received) == 1
    assert _reload(message).attempts == 1


def test_a_text_stuck_while_sending_fails_as_interrupted_and_is_not_sent_again(
    world: Any, clock: Any, fake_gateway: Any
) -> None:
    message = _send(world)
    Message.objects.filter(pk=message.pk).update(
        status="sending", attempts=1, last_attempt_at=clock.now
    )
    clock.now += timedelta(hours=1)
    actions.deliver_due()
    message = _reload(message)
    assert (message.status, message.reason) == ("failed", "interrupted")
    assert fake_gateway.received == []


def test_an_unreachable_gateway_is_a_transient_failure(
    world: Any, clock: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SMS_BACKEND, settings.SMS_URL, settings.SMS_TIMEOUT = "http", "http://127.0.0.1:9/", 1
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(world)
    message = _reload(message)
    assert (message.status, message.reason) == ("queued", "gateway_error")


# ---------------------------------------------------------------------------------------------
# Reports and replies posted back by the platform to the running server.


def test_the_platform_reports_delivery_back_to_the_server(
    world: Any, clock: Any, fake_gateway: Any, live: Any
) -> None:
    delivered, lost = (_send(world, phone=phone) for phone in (PHONE, OTHER_PHONE))
    assert [_reload(m).status for m in (delivered, lost)] == ["sent", "sent"]
    status, answer = fake_gateway.report(
        live.url,
        [
            {"msgId": "gw-1", "status": "DELIVRD"},
            {"msgId": "gw-2", "status": "UNDELIV", "error": "关机"},
            {"msgId": "gw-404", "status": "DELIVRD"},
        ],
    )
    assert status == 200 and answer == {"accepted": 2, "unknown": ["gw-404"]}
    assert _reload(delivered).status == "delivered"
    lost = _reload(lost)
    assert (lost.status, lost.reason, lost.error) == ("failed", "undelivered", "关机")
    # The same report again changes nothing and writes no second event.
    events = AuditEvent.objects.filter(action="update_sms_status").count()
    status, answer = fake_gateway.report(live.url, [{"msgId": "gw-1", "status": "DELIVRD"}])
    assert status == 200
    assert AuditEvent.objects.filter(action="update_sms_status").count() == events


def test_a_reply_td_opts_the_number_out(world: Any, clock: Any, live: Any, settings: Any) -> None:
    settings.SMS_REPORT_SECRET = SECRET
    message = _send(world)
    url = f"{live.url}/sms/gateway/replies"
    replies = [
        {"mobile": PHONE, "content": " td。", "id": "mo-1"},
        {"mobile": OTHER_PHONE, "content": "满意", "id": "mo-2"},
    ]
    status, answer = post_signed(url, {"replies": replies})
    assert status == 200 and answer == {"accepted": 2, "opted_out": 1}
    assert opted_out(PHONE) and not opted_out(OTHER_PHONE)
    row = OptOut.objects.get()
    assert (row.source, row.station_id, row.message_id) == ("reply", world.station.id, message.id)
    # Posted again (the platform retries): kept once.
    assert post_signed(url, {"replies": replies})[0] == 200
    assert Reply.objects.count() == 2 and OptOut.objects.count() == 1
    assert _send(world).status == "refused"


BAD_POSTS = [
    ("no signature", {}, 401),
    ("wrong secret", {"secret": "another"}, 401),
    ("old timestamp", {"timestamp": str(int(time.time()) - 3600)}, 401),
]


@pytest.mark.parametrize(("case", "how", "expected"), BAD_POSTS)
@pytest.mark.parametrize("path", ["reports", "replies"])
def test_posts_not_signed_with_the_secret_are_refused(
    world: Any,
    settings: Any,
    client: Client,
    case: str,
    how: dict[str, str],
    expected: int,
    path: str,
) -> None:
    settings.SMS_REPORT_SECRET = SECRET
    message = _send(world)
    Message.objects.filter(pk=message.pk).update(status="sent", gateway_id="gw-1")
    data = {"reports": [{"msgId": "gw-1", "status": "DELIVRD"}]}
    if path == "replies":
        data = {"replies": [{"mobile": PHONE, "content": "TD"}]}
    body = json.dumps(data).encode()
    stamp = how.get("timestamp", str(int(time.time())))
    headers: dict[str, str] = {}
    if case != "no signature":
        headers = {
            "X-Timestamp": stamp,
            "X-Signature": rules.signature(how.get("secret", SECRET), stamp, body),
        }
    response = client.post(
        f"/sms/gateway/{path}", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == expected
    assert response.json()["errors"][0]["message"]
    assert _reload(message).status == "sent" and not OptOut.objects.exists()


def _signed(client: Client, path: str, body: bytes) -> Any:
    stamp = str(int(time.time()))
    return client.post(
        f"/sms/gateway/{path}",
        data=body,
        content_type="application/json",
        HTTP_X_TIMESTAMP=stamp,
        HTTP_X_SIGNATURE=rules.signature(SECRET, stamp, body),
    )


JUNK = [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b"null",
    b"42",
    b'{"reports": "x"}',
    b'{"reports": [1, 2]}',
    b'{"reports": [{"msgId": null, "status": "DELIVRD"}]}',
    b'{"reports": [{"msgId": {"a": 1}, "status": []}]}',
    b'{"reports": [{"msgId": true, "status": "x"}]}',
    b'{"replies": [{"mobile": "12", "content": "TD"}]}',
    b'{"replies": [{"mobile": "13812345678", "content": "\\u0000"}]}',
    json.dumps({"reports": [{"msgId": "x" * 65, "status": "DELIVRD"}]}).encode(),
]


@pytest.mark.parametrize("body", JUNK)
@pytest.mark.parametrize("path", ["reports", "replies"])
def test_junk_is_answered_in_json_never_500(
    db: Any, settings: Any, client: Client, body: bytes, path: str
) -> None:
    settings.SMS_REPORT_SECRET = SECRET
    response = _signed(client, path, body)
    assert 400 <= response.status_code < 500
    assert response.json()["errors"][0]["message"]


def test_the_gateway_endpoints_take_only_signed_posts(
    db: Any, client: Client, settings: Any
) -> None:
    response = client.get("/sms/gateway/reports")
    assert response.status_code == 405 and response["Allow"] == "POST"
    settings.SMS_REPORT_SECRET = ""
    refused = _signed(client, "reports", b"{}")
    assert refused.status_code == 403 and refused.json()["errors"]


# ---------------------------------------------------------------------------------------------
# The opt-out link (no login) and the staff's pages.


def test_the_opt_out_link_opens_without_login_and_opts_out_on_confirmation(
    world: Any, clock: Any
) -> None:
    message = _send(world)
    link = actions.opt_out_link(message)
    assert link == f"/sms/u/{opt_out_token(message)}/"
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    assert "138****5678" in page.content.decode() and PHONE not in page.content.decode()
    assert not opted_out(PHONE)  # opening the link (a preview) does not opt out
    done = client.post(link)
    assert done.status_code == 200 and opted_out(PHONE)
    row = OptOut.objects.get()
    assert (row.source, row.message_id, row.by_id) == ("page", message.id, None)
    event = AuditEvent.objects.get(action="opt_out_sms")
    assert event.actor_id is None and json.loads(event.detail)["source"] == "page"
    assert client.post(link).status_code == 200 and OptOut.objects.count() == 1


@pytest.mark.parametrize(
    "token",
    ["1-AAAAAAAAAAAAAAAA", "x-y", "999999-abc", "", "1", "-", "١-abc", "1" * 30 + "-a"],
)
def test_a_forged_or_guessed_opt_out_link_is_404(world: Any, clock: Any, token: str) -> None:
    message = _send(world)
    forged = token.replace("1-", f"{message.pk}-", 1) if token.startswith("1-") else token
    response = Client().post(f"/sms/u/{forged}/")
    assert response.status_code == 404 and not OptOut.objects.exists()


def test_the_link_base_makes_the_link_absolute(world: Any, clock: Any, settings: Any) -> None:
    settings.SMS_LINK_BASE = "https://jw.example"
    assert actions.opt_out_link(_send(world)).startswith("https://jw.example/sms/u/")


def test_the_chief_reads_the_outbox_with_masked_numbers_and_counts(world: Any, clock: Any) -> None:
    _send(world)
    _send(world, phone=OTHER_PHONE)
    actions.opt_out(OTHER_PHONE, source="staff", station=world.station)  # refuses the pending one
    refused = _send(world, phone=OTHER_PHONE)
    page = world.client("chief").get("/sms/?station=TC")
    text = page.content.decode()
    assert page.status_code == 200
    assert "138****5678" in text and PHONE not in text and OTHER_PHONE not in text
    statuses = dict((value, n) for value, _label, n in page.context["statuses"])
    assert (statuses["queued"], statuses["refused"], page.context["total"]) == (1, 2, 3)
    only = world.client("chief").get("/sms/?station=TC&status=refused")
    assert [m.pk for m in only.context["page"]][0] == refused.pk
    assert len(only.context["page"]) == 2
    unknown = world.client("chief").get("/sms/?station=TC&status=bogus")  # the filter resets
    assert unknown.status_code == 200 and len(unknown.context["page"]) == 3


def test_another_station_sees_none_of_its_texts(world: Any, clock: Any) -> None:
    _send(world)
    other = world.client("other_chief").get("/sms/")
    assert other.status_code == 200 and list(other.context["page"]) == []
    assert world.client("other_chief").get("/sms/?station=TC").status_code == 404


def test_staff_opt_a_number_out_from_the_outbox_and_by_hand(world: Any, clock: Any) -> None:
    message = _send(world)
    chief = world.client("chief")
    response = chief.post(f"/sms/messages/{message.pk}/opt-out/")
    assert response.status_code == 302 and opted_out(PHONE)
    row = OptOut.objects.get()
    assert (row.source, row.by_id) == ("staff", world.users["chief"].id)
    added = chief.post("/sms/opt-outs/?station=TC", {"phone": "139 8765 4321"})
    assert added.status_code == 302 and opted_out(OTHER_PHONE)
    bad = chief.post("/sms/opt-outs/?station=TC", {"phone": "12"})
    assert bad.status_code == 400 and "11" in bad.content.decode()
    listed = chief.get("/sms/opt-outs/?station=TC").content.decode()
    assert "138****5678" in listed and "139****4321" in listed and PHONE not in listed


def test_another_stations_chief_cannot_opt_out_a_number_of_tc(world: Any, clock: Any) -> None:
    message = _send(world)
    response = world.client("other_chief").post(f"/sms/messages/{message.pk}/opt-out/")
    assert response.status_code == 404 and not OptOut.objects.exists()
    assert AuditEvent.objects.filter(
        outcome="denied", actor_id=world.users["other_chief"].id, object_type="sms.message"
    ).exists()
