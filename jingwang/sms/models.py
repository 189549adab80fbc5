"""Text messages: what was sent to whom and how it went; the numbers that asked for no more.

A ``Message`` is written by ``sms.actions.send`` and delivered by a job through the configured
gateway (``sms.gateways``); its status follows the delivery (queued → sending → sent →
delivered, or held for the quiet hours, refused, failed). Numbers are personal data: encrypted,
with a keyed hash for lookup (``core.personal``). An ``OptOut`` is keyed by that hash, so an
opt-out holds for every station and every later message to the number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.core.personal import PHONE, PersonalData, personal_uid

# The one-time links texts carry: /s/<token> (the callback survey), /sms/u/<token>/ (opt-out).
ONE_TIME_LINK = re.compile(r"(/s/|/sms/u/)[A-Za-z0-9_.:-]+")


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        HELD = "held", _("Held for the quiet hours")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused (not sent)")

    class Reason(models.TextChoices):
        NONE = "", "—"
        OPTED_OUT = "opted_out", _("The number opted out")
        DAILY_CAP = "daily_cap", _("The number's daily limit was reached")
        TIMEOUT = "timeout", _("The gateway did not answer in time")
        GATEWAY_ERROR = "gateway_error", _("The gateway could not be reached or failed")
        REJECTED = "rejected", _("The gateway refused the message")
        UNDELIVERED = "undelivered", _("The operator reported it undelivered")
        INTERRUPTED = "interrupted", _("Sending was interrupted; not retried, to never send twice")

    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="sms_messages"
    )
    pii_uid = personal_uid()
    phone = PersonalData(PHONE, _("mobile phone"))
    if TYPE_CHECKING:  # the columns PersonalData adds
        phone_encrypted: str
        phone_hash: str
    text = models.CharField(_("text"), max_length=500)
    purpose = models.CharField(_("purpose"), max_length=40)
    ref = models.CharField(_("reference"), max_length=100, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices, blank=True)
    error = models.CharField(_("gateway's answer"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    backend = models.CharField(max_length=16, blank=True)
    gateway_id = models.CharField(_("gateway's message id"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("text message")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["station", "status", "created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["purpose", "ref"]),
        ]
        constraints = [
            # A delivery report finds its message by the gateway's id.
            models.UniqueConstraint(
                fields=["backend", "gateway_id"],
                condition=~Q(gateway_id=""),
                name="sms_message_gateway_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pk} · {self.phone} · {self.status}"

    @property
    def shown_text(self) -> str:
        """The text as staff pages show it: one-time links (a survey, an opt-out page) keep
        their path but not their token, which would open them for whoever reads the outbox."""
        return ONE_TIME_LINK.sub(lambda m: m.group(1) + "…", self.text)


class DailyCount(models.Model):
    """Messages accepted for one number on one day: the row the daily cap is counted on, locked
    by the sender so two senders at once cannot both take the last place."""

    phone_hash = models.CharField(max_length=64)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone_hash", "day"], name="sms_daily_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.count}"


class OptOut(models.Model):
    """A number that asked for no more texts (any station's)."""

    class Source(models.TextChoices):
        REPLY = "reply", _("Replied 退订 / TD")
        PAGE = "page", _("Opt-out page")
        STAFF = "staff", _("Staff")

    pii_uid = personal_uid()
    phone = PersonalData(PHONE, _("mobile phone"))
    if TYPE_CHECKING:
        phone_encrypted: str
        phone_hash: str
    # The station whose message it answered (or whose staff recorded it): whose page lists it.
    station = models.ForeignKey(
        "territory.Station",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sms_opt_outs",
    )
    source = models.CharField(_("opted out by"), max_length=8, choices=Source.choices)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS opt-out")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=~Q(phone_hash=""),
                name="sms_opt_out_phone_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone} · {self.source}"


class Reply(models.Model):
    """A text a number sent back through the gateway (kept once per gateway id)."""

    pii_uid = personal_uid()
    phone = PersonalData(PHONE, _("mobile phone"))
    if TYPE_CHECKING:
        phone_encrypted: str
        phone_hash: str
    station = models.ForeignKey(
        "territory.Station", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.CharField(_("text"), max_length=500)
    gateway_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    opted_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # The gateway may post a reply twice: it is kept once.
            models.UniqueConstraint(
                fields=["gateway_id"],
                condition=~Q(gateway_id=""),
                name="sms_reply_gateway_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone} · {self.text[:20]}"
