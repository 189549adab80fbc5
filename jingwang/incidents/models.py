"""Incidents (警情), their next-day callbacks (回访) and rectifications (整改).

An incident is recorded (form, API, the 110 system's daily export), placed in its grid by its
point (``territory.placement``), handled and closed. A closed incident whose caller can be
reached gets one callback, due on the next working day and queued for the officers and
auxiliaries of its grid; it is answered by phone (attempts recorded) or through a one-time SMS
survey link. A 不满意 answer opens a rectification owned by the station chief.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.core.config import BureauSettings
from jingwang.core.personal import ADDRESS, PHONE, PersonalData, personal_uid
from jingwang.territory.placement import Placed


class Category(models.Model):
    """The two-level category list of a bureau (configurable by the system admin).

    A top-level category has no parent; its sub-categories name it as parent. ``officer_only``
    marks categories where contact could endanger the caller (domestic violence, sexual
    assault): their callbacks are never sent an SMS and are called only by an officer.
    """

    bureau = models.ForeignKey(
        "territory.Bureau", on_delete=models.PROTECT, related_name="incident_categories"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    officer_only = models.BooleanField(
        _("callback by an officer only, never by SMS"), default=False
    )
    is_active = models.BooleanField(_("in use"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("incident category")
        ordering = ["bureau", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["bureau", "code"], name="incident_category_code"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the active language (the English name falls back to the Chinese)."""
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


class IncidentSettings(BureauSettings):
    """Per-bureau settings of the incident loop (edited by the system admin)."""

    callback_due_days = models.PositiveSmallIntegerField(
        _("callback due after (working days)"), default=1
    )
    callback_attempts = models.PositiveSmallIntegerField(
        _("failed attempts before a callback closes as unreachable"), default=3
    )
    callback_attempt_days = models.PositiveSmallIntegerField(
        _("working days the failed attempts must span"), default=2
    )
    rectification_days = models.PositiveSmallIntegerField(
        _("rectification deadline (working days)"), default=5
    )
    survey_hours = models.PositiveSmallIntegerField(_("SMS survey link valid (hours)"), default=72)


class StationCallbackSettings(models.Model):
    """What a station decides for its own callbacks (edited by the station chief)."""

    station = models.OneToOneField(
        "territory.Station", on_delete=models.CASCADE, related_name="callback_settings"
    )
    sms_survey = models.BooleanField(_("send callers an SMS survey link"), default=False)
    officer_only_categories = models.ManyToManyField(
        Category,
        blank=True,
        related_name="+",
        verbose_name=_("further categories called only by an officer"),
    )
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.station_id}"


class Incident(Placed):
    class Source(models.TextChoices):
        CALL_110 = "call_110", _("110 call")
        WALK_IN = "walk_in", _("Walk-in")
        PATROL = "patrol", _("Patrol")
        GRID_WORKER = "grid_worker", _("Grid worker")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        DISPATCHED = "dispatched", _("Dispatched")
        ARRIVED = "arrived", _("On scene")
        CLOSED = "closed", _("Closed")

    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="incidents"
    )
    number = models.CharField(_("incident number"), max_length=32)
    received_at = models.DateTimeField(_("received"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="incidents"
    )
    summary = models.TextField(_("what happened"), max_length=2000, blank=True)
    pii_uid = personal_uid()
    address = PersonalData(ADDRESS, _("address"))
    caller_name = models.CharField(_("caller's name"), max_length=50, blank=True)
    caller_phone = PersonalData(PHONE, _("caller's phone"))
    if TYPE_CHECKING:  # the columns PersonalData adds
        address_encrypted: str
        address_hash: str
        caller_phone_encrypted: str
        caller_phone_hash: str
    officer = models.ForeignKey(
        "people.Person",
        verbose_name=_("handling officer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    result = models.TextField(_("result"), max_length=2000, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("incident")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["station", "number"], name="incident_number_unique"),
        ]
        indexes = [
            models.Index(fields=["station", "received_at"]),
            models.Index(fields=["grid", "received_at"]),
            models.Index(fields=["station", "status"]),
            # The map's counts per grid (territory.maps.points_in_view): a covering index.
            models.Index(fields=["station", "grid"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def reachable(self) -> bool:
        """The caller can be called back (a phone number was given)."""
        return bool(self.caller_phone_encrypted)


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY = "basically", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class Callback(models.Model):
    """The next-day callback of one closed incident."""

    class Status(models.TextChoices):
        DUE = "due", _("Due")
        DONE = "done", _("Done")
        UNREACHABLE = "unreachable", _("Unreachable")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS survey")

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="callback")
    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="callbacks"
    )
    due_on = models.DateField(_("due"))
    officer_only = models.BooleanField(_("officer only"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DUE
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, blank=True)
    speed = models.CharField(_("response speed"), max_length=16, choices=Rating.choices, blank=True)
    attitude = models.CharField(_("attitude"), max_length=16, choices=Rating.choices, blank=True)
    handling = models.CharField(_("handling"), max_length=16, choices=Rating.choices, blank=True)
    suggestions = models.TextField(_("suggestions"), max_length=2000, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("callback")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["station", "status", "due_on"]),
            # The queue: the callbacks still due, by due day (a small partial index instead of
            # a walk through the whole index above; bench/pages.py).
            models.Index(
                fields=["due_on", "id"],
                condition=models.Q(status="due"),
                name="callback_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.due_on}"

    @property
    def dissatisfied(self) -> bool:
        return Rating.DISSATISFIED in (self.speed, self.attitude, self.handling)


class CallbackAttempt(models.Model):
    """A call that did not get the answers."""

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer")
        REFUSED = "refused", _("Refused")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        CALL_LATER = "call_later", _("Call later")

    callback = models.ForeignKey(Callback, on_delete=models.PROTECT, related_name="attempts")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.callback_id} · {self.outcome}"


class SurveyLink(models.Model):
    """A one-time link to the SMS survey: only a hash of its token is stored."""

    callback = models.ForeignKey(Callback, on_delete=models.PROTECT, related_name="survey_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)  # the sms.Message that carried it

    def __str__(self) -> str:
        return f"{self.callback_id} · {self.expires_at}"


class Rectification(models.Model):
    """整改: what a 不满意 answer opens, owned by the station chief."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="rectifications")
    callback = models.OneToOneField(
        Callback, on_delete=models.PROTECT, related_name="rectification"
    )
    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="rectifications"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField(_("deadline"))
    caller_words = models.TextField(_("the caller's words"), max_length=2000, blank=True)
    findings = models.TextField(_("findings"), max_length=4000, blank=True)
    actions_taken = models.TextField(_("actions taken"), max_length=4000, blank=True)
    closing_rating = models.CharField(
        _("closing callback"), max_length=16, choices=Rating.choices, blank=True
    )
    closing_note = models.TextField(_("closing callback notes"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("rectification")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["station", "status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.due_on}"
