"""Sending texts and everything that changes them; each change writes its audit event.

    from jingwang.sms.actions import send
    message = send(station=station, phone="13812345678", text="...", purpose="callback_survey",
                   ref="incidents.callback:42", urgent=False, actor=user_or_None)

``send`` saves the message in the caller's transaction and decides at once: ``refused`` (the
number opted out, or its daily cap is reached), ``held`` (quiet hours, unless urgent: it goes
out when they end) or ``queued`` (a delivery job is enqueued when the transaction commits). The
job (``deliver``) claims the message before handing it to the gateway, so a job delivered twice
never sends twice; a transient failure is retried with exponential back-off, up to
``JINGWANG_SMS_MAX_ATTEMPTS``. The periodic job (``deliver_due``) releases held messages and
retries. The gateway's delivery reports and the recipients' replies come back through
``apply_report`` and ``receive_reply``; a reply 退订 / TD opts the number out (``opt_out``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.audit.actions import record
from jingwang.core.jobs import enqueue_on_commit
from jingwang.core.personal import PHONE, validated
from jingwang.sms import rules
from jingwang.sms.gateways import Result, gateway
from jingwang.sms.models import DailyCount, Message, OptOut, Reply
from jingwang.sms.queries import opt_out_token, opted_out
from jingwang.territory.models import Station

Status = Message.Status
Reason = Message.Reason
PENDING = (Status.QUEUED, Status.HELD)


def clock() -> datetime:
    """Now (a function of its own so that tests can move the clock of this module alone)."""
    return timezone.now()


class InvalidMessage(ValueError):
    """A text that cannot be sent as given: ``field`` names what is wrong."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field


def _hold_until(now: datetime) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, or None outside them."""
    local = timezone.localtime(now)
    start, end = settings.SMS_QUIET_START, settings.SMS_QUIET_END
    if rules.in_quiet_hours(local, start, end):
        return rules.quiet_hours_end(local, start, end)
    return None


def _take_daily_place(phone_hash: str, day: Any) -> bool:
    """Count one more text to the number today, unless its cap is reached (the day's row is
    locked: two senders at once cannot both take the last place)."""
    DailyCount.objects.get_or_create(phone_hash=phone_hash, day=day)
    row = DailyCount.objects.select_for_update().get(phone_hash=phone_hash, day=day)
    if row.count >= settings.SMS_DAILY_CAP:
        return False
    DailyCount.objects.filter(pk=row.pk).update(count=F("count") + 1)
    return True


def send(
    *,
    station: Station,
    phone: str,
    text: str,
    purpose: str,
    ref: str = "",
    urgent: bool = False,
    actor: Any = None,
) -> Message:
    """Queue a text to ``phone`` (see the module's docstring). The signature (【三台公安】) is the
    gateway's to add: give the body. Raises ``InvalidMessage`` for a bad number or text."""
    try:
        phone = validated(PHONE, phone)
    except ValueError as exc:
        raise InvalidMessage("phone", exc) from exc
    if not phone:
        raise InvalidMessage("phone", _("A mobile number has 11 digits and starts with 1."))
    text = (text or "").strip()
    if not text:
        raise InvalidMessage("text", _("A text message cannot be empty."))
    if len(text) > 500:
        raise InvalidMessage("text", _("A text message has at most 500 characters."))
    if not purpose or len(purpose) > 40:
        raise InvalidMessage(
            "purpose", _("A text message needs a purpose of at most 40 characters.")
        )
    now = clock()
    author = actor if getattr(actor, "is_authenticated", False) else None
    message = Message(
        station=station,
        text=text,
        purpose=purpose,
        ref=(ref or "")[:100],
        urgent=urgent,
        created_by=author,
        created_at=now,
    )
    message.phone = phone
    with transaction.atomic():
        if opted_out(phone):
            message.status, message.reason = Status.REFUSED, Reason.OPTED_OUT
        elif not _take_daily_place(message.phone_hash, timezone.localtime(now).date()):
            message.status, message.reason = Status.REFUSED, Reason.DAILY_CAP
        else:
            hold = None if urgent else _hold_until(now)
            message.status = Status.HELD if hold else Status.QUEUED
            message.next_attempt_at = hold or now
        message.save()
        record(
            actor,
            "send_sms",
            message,
            detail={
                "purpose": purpose,
                "ref": message.ref,
                "urgent": urgent,
                "status": message.status,
                "reason": message.reason,
            },
        )
    if message.status == Status.QUEUED:
        from jingwang.sms.tasks import deliver_message

        enqueue_on_commit(deliver_message, message.pk)
    return message


# ---------------------------------------------------------------------------------------------
# Delivery (the jobs).


def _status_changed(message: Message, fields: list[str], **detail: Any) -> None:
    message.save(update_fields=fields)
    record(
        None,
        "update_sms_status",
        message,
        actor_name="sms",
        detail={"status": message.status, "reason": message.reason, **detail},
    )


def deliver(message_id: int) -> Message | None:
    """Hand one due message to the gateway; a no-op for one that is not due (already sent,
    being sent by another job, refused...), so running it twice never sends twice."""
    backend = gateway()
    now = clock()
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status not in PENDING:
            return message
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return message
        phone = message.phone.plaintext
        if opted_out(phone):
            message.status, message.reason, message.next_attempt_at = (
                Status.REFUSED,
                Reason.OPTED_OUT,
                None,
            )
            _status_changed(message, ["status", "reason", "next_attempt_at"])
            return message
        hold = None if message.urgent else _hold_until(now)
        if hold is not None:
            if message.status != Status.HELD or message.next_attempt_at != hold:
                message.status, message.next_attempt_at = Status.HELD, hold
                message.save(update_fields=["status", "next_attempt_at"])
            return message
        # Claimed: from here on no other job touches it, whatever the gateway does.
        message.status = Status.SENDING
        message.attempts += 1
        message.last_attempt_at = now
        message.next_attempt_at = None
        message.backend = backend.name
        message.save(
            update_fields=["status", "attempts", "last_attempt_at", "next_attempt_at", "backend"]
        )
    # The same reference on every attempt: a platform that keeps it can drop a duplicate.
    result = backend.send(phone, message.text, reference=message.pii_uid.hex)
    return _after_attempt(message.pk, result)


def _after_attempt(message_id: int, result: Result) -> Message:
    now = clock()
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status != Status.SENDING:  # declared interrupted meanwhile: leave it
            return message
        fields = ["status", "reason", "error", "next_attempt_at"]
        message.error = result.error[:200]
        message.next_attempt_at = None
        if result.ok:
            message.status, message.reason = Status.SENT, Reason.NONE
            message.gateway_id, message.sent_at = result.gateway_id[:64], now
            fields += ["gateway_id", "sent_at"]
        else:
            message.reason = (
                Reason.TIMEOUT
                if result.timeout
                else Reason.GATEWAY_ERROR
                if result.transient
                else Reason.REJECTED
            )
            if result.transient and message.attempts < settings.SMS_MAX_ATTEMPTS:
                message.status = Status.QUEUED
                wait = rules.backoff(message.attempts, settings.SMS_RETRY_SECONDS)
                message.next_attempt_at = now + wait
            else:
                message.status, message.failed_at = Status.FAILED, now
                fields.append("failed_at")
        _status_changed(message, fields, attempt=message.attempts, error=message.error)
    return message


def deliver_due(limit: int = 1000) -> int:
    """The periodic job: deliver the queued messages whose time came (retries, and the held ones
    once the quiet hours end); a message stuck in "sending" past any timeout fails as
    interrupted (it may have gone out: it is not sent again). Returns how many were enqueued."""
    from jingwang.sms.tasks import deliver_message

    now = clock()
    stale = now - timedelta(seconds=3 * settings.SMS_TIMEOUT + 300)
    for message_id in Message.objects.filter(
        status=Status.SENDING, last_attempt_at__lt=stale
    ).values_list("id", flat=True)[:limit]:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=message_id)
            if message.status == Status.SENDING:
                message.status, message.reason, message.failed_at = (
                    Status.FAILED,
                    Reason.INTERRUPTED,
                    now,
                )
                _status_changed(message, ["status", "reason", "failed_at"])
    due = list(
        Message.objects.filter(status__in=PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for message_id in due:
        deliver_message(message_id)
    return len(due)


# ---------------------------------------------------------------------------------------------
# What comes back from the gateway.

DELIVERED_WORDS = frozenset({"delivered", "delivrd", "success", "ok", "0"})


def apply_report(gateway_id: str, state: str, error: str = "") -> Message | None:
    """A delivery report: the message the gateway's id names becomes delivered or failed.
    None when no message has that id; a repeated report changes nothing."""
    delivered = str(state).strip().casefold() in DELIVERED_WORDS
    now = clock()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(gateway_id=gateway_id)
            .exclude(gateway_id="")
            .order_by("-id")
            .first()
        )
        if message is None or message.status != Status.SENT:
            return message
        if delivered:
            message.status, message.delivered_at = Status.DELIVERED, now
            _status_changed(message, ["status", "delivered_at"], report=str(state)[:40])
        else:
            message.status, message.reason, message.failed_at = (
                Status.FAILED,
                Reason.UNDELIVERED,
                now,
            )
            message.error = (error or str(state))[:200]
            _status_changed(
                message, ["status", "reason", "failed_at", "error"], report=str(state)[:40]
            )
    return message


def receive_reply(phone: str, text: str, gateway_id: str = "") -> Reply:
    """A text a number sent back. Kept once per gateway id; 退订 / TD opts the number out.
    Raises ``InvalidMessage`` for a number that is not a mobile number."""
    try:
        phone = validated(PHONE, phone)
    except ValueError as exc:
        raise InvalidMessage("phone", exc) from exc
    if not phone:
        raise InvalidMessage("phone", _("A mobile number has 11 digits and starts with 1."))
    gateway_id = (gateway_id or "")[:64]
    with transaction.atomic():
        if gateway_id:
            kept = Reply.objects.filter(gateway_id=gateway_id).first()
            if kept is not None:
                return kept
        phone_hash = Message.phone.hash(phone)
        last = Message.objects.filter(phone_hash=phone_hash).order_by("-created_at", "-id").first()
        reply = Reply(
            station_id=last.station_id if last else None,
            text=(text or "")[:500],
            gateway_id=gateway_id,
            received_at=clock(),
            opted_out=rules.is_opt_out(text),
        )
        reply.phone = phone
        try:
            with transaction.atomic():
                reply.save()
        except IntegrityError:  # the same reply, posted twice at once
            return Reply.objects.get(gateway_id=gateway_id)
        record(
            None,
            "receive_sms_reply",
            reply,
            station_id=reply.station_id,
            actor_name="sms",
            detail={"opt_out": reply.opted_out},
        )
        if reply.opted_out:
            opt_out(
                phone,
                source=OptOut.Source.REPLY,
                station=last.station if last else None,
                message=last,
            )
    return reply


def opt_out(
    phone: str,
    *,
    source: str,
    station: Station | None = None,
    message: Message | None = None,
    actor: Any = None,
) -> tuple[OptOut, bool]:
    """Stop every text to ``phone`` from now on, the queued and held ones included.
    Returns the opt-out and whether it is new (opting out twice changes nothing)."""
    phone = validated(PHONE, phone)
    phone_hash = OptOut.phone.hash(phone)
    with transaction.atomic():
        kept = OptOut.objects.filter(phone_hash=phone_hash).first()
        if kept is not None:
            return kept, False
        row = OptOut(
            station=station,
            source=source,
            message=message,
            by=actor if getattr(actor, "is_authenticated", False) else None,
            at=clock(),
        )
        row.phone = phone
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # another opt-out of the number at the same moment
            return OptOut.objects.get(phone_hash=phone_hash), False
        refused = Message.objects.filter(phone_hash=phone_hash, status__in=PENDING).update(
            status=Status.REFUSED, reason=Reason.OPTED_OUT, next_attempt_at=None
        )
        record(
            actor,
            "opt_out_sms",
            row,
            station_id=station.pk if station else None,
            actor_name=None if getattr(actor, "is_authenticated", False) else "sms",
            detail={"source": source, "pending_refused": refused},
        )
    return row, True


# ---------------------------------------------------------------------------------------------
# Links in texts.


def link(path: str) -> str:
    """An address recipients can open: ``JINGWANG_SMS_LINK_BASE`` + the path."""
    return f"{settings.SMS_LINK_BASE}{path}"


def opt_out_link(message: Message) -> str:
    """The signed link to the opt-out page of ``message``'s number (no login needed)."""
    return link(reverse("sms:opt_out_page", args=[opt_out_token(message)]))
