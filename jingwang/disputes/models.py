"""Disputes (矛盾纠纷) and their three-tier joint mediation (三级联调).

A dispute is registered (a grid worker's phone, the desk, an incident, the API), placed in its
grid by its point (``territory.placement``) and triaged by the rules of ``rules.py`` into tier 1
(the police–civilian mediation workstation, 警民联调工作站), tier 2 (the harmony team,
警民和谐工作队) or tier 3 (the dispute mediation room, 矛盾纠纷调解室); every tier change is a
``TierChange`` row, so the history stays. Each tier's ``Body`` has a roster of ``Member``s; the
members called to a dispute (``Call``) may see it even from outside the station (the third
dimension of scope). Mediation follows a legal track (治安调解 or 人民调解) with a deadline in
working days; each ``Session`` is recorded; the case ends in an ``Agreement`` (written or oral,
followed up by ``FollowUp`` visits until carried out; an unperformed one reopens the dispute),
or in a ``Referral`` (court, arbitration, letters and visits, another department).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.core.choicelists import BureauChoice
from jingwang.core.config import BureauSettings
from jingwang.core.personal import ADDRESS, ID_NUMBER, PHONE, PersonalData, personal_uid
from jingwang.territory.placement import Placed


class Tier(models.IntegerChoices):
    WORKSTATION = 1, _("Tier 1 · police–civilian mediation workstation")
    HARMONY_TEAM = 2, _("Tier 2 · police–civilian harmony team")
    MEDIATION_ROOM = 3, _("Tier 3 · dispute mediation room")


class Category(BureauChoice):
    """A bureau's dispute categories (neighbours, marriage and family, ...; configurable)."""

    class Meta(BureauChoice.Meta):
        verbose_name = _("dispute category")
        constraints = [
            models.UniqueConstraint(fields=["bureau", "code"], name="dispute_category_code"),
        ]


class DisputeSettings(BureauSettings):
    """Per-bureau thresholds of triage and the deadlines of mediation (the system admin's)."""

    tier2_people = models.PositiveIntegerField(_("people involved for tier 2"), default=5)
    tier3_people = models.PositiveIntegerField(_("people involved for tier 3"), default=20)
    tier2_amount = models.PositiveIntegerField(
        _("amount at stake for tier 2 (yuan)"), default=10000
    )
    tier3_amount = models.PositiveIntegerField(
        _("amount at stake for tier 3 (yuan)"), default=100000
    )
    repeat_complaints = models.PositiveSmallIntegerField(
        _("complaints by one party that make a repeat complainant"), default=3
    )
    repeat_months = models.PositiveSmallIntegerField(
        _("months over which repeat complaints count"), default=3
    )
    tier3_departments = models.PositiveSmallIntegerField(
        _("departments involved for tier 3"), default=2
    )
    police_days = models.PositiveSmallIntegerField(
        _("police mediation: done within (working days)"), default=3
    )
    police_second_days = models.PositiveSmallIntegerField(
        _("police mediation: a further session within (working days)"), default=7
    )
    people_months = models.PositiveSmallIntegerField(
        _("people's mediation: closed within (months)"), default=1
    )
    followup_days = models.PositiveSmallIntegerField(
        _("follow-up visit due after the performance date (working days)"), default=5
    )


class Body(models.Model):
    """A station's mediation body of one tier (seeded on first use, one per tier)."""

    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="mediation_bodies"
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        verbose_name = _("mediation body")
        ordering = ["station", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["station", "tier"], name="mediation_body_tier"),
        ]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A person on a body's roster, in their role there."""

    class Role(models.TextChoices):
        MEDIATOR = "mediator", _("Full-time mediator")
        GRID_WORKER = "grid_worker", _("Grid worker")
        OFFICER = "officer", _("Community officer")
        COMMUNITY = "community", _("Community representative")
        DEPUTY = "deputy", _("People's Congress deputy")
        CPPCC_MEMBER = "cppcc_member", _("CPPCC member")
        CONDUCT_SUPERVISOR = "conduct_supervisor", _("Police conduct supervisor")
        JUDICIAL_OFFICE = "judicial_office", _("Judicial office")
        LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
        DEPARTMENT = "department", _("Other department")

    # The roles each tier's body offers (the tier decides which members are offered).
    TIER_ROLES = {
        1: ("mediator", "grid_worker", "officer"),
        2: ("mediator", "officer", "community", "deputy", "cppcc_member", "conduct_supervisor"),
        3: ("mediator", "officer", "judicial_office", "law_enforcement", "department"),
    }

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="members")
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="mediation_memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    department = models.CharField(_("department or body"), max_length=80, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    since = models.DateField(_("since"), default=timezone.localdate)

    class Meta:
        verbose_name = _("mediation body member")
        ordering = ["body", "role", "person__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["body", "person"],
                condition=models.Q(is_active=True),
                name="one_active_membership",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.role}"


class Dispute(Placed):
    class Source(models.TextChoices):
        WALK_IN = "walk_in", _("Walk-in")
        GRID_WORKER = "grid_worker", _("Grid worker")
        INCIDENT = "incident", _("From an incident")
        PHONE = "phone", _("Phone")
        REFERRAL = "referral", _("Referred by another department")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Being mediated")
        AGREED = "agreed", _("Agreement reached")
        PERFORMED = "performed", _("Agreement carried out")
        REFERRED = "referred", _("Referred")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Track(models.TextChoices):
        NONE = "", _("Not chosen")
        POLICE = "police", _("Police mediation of a public-order case (治安调解)")
        PEOPLE = "people", _("People's mediation (人民调解)")

    # The risk flags, in the order forms and rules list them.
    RISKS = ("risk_violence", "risk_criminal", "risk_group", "risk_petitions", "risk_vulnerable")

    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="disputes"
    )
    number = models.CharField(_("dispute number"), max_length=32)
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="disputes"
    )
    facts = models.TextField(_("facts"), max_length=4000)
    amount = models.DecimalField(
        _("amount at stake (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    people_involved = models.PositiveIntegerField(_("people involved"), default=2)
    departments = models.PositiveSmallIntegerField(_("departments involved"), default=1)
    pii_uid = personal_uid()
    address = PersonalData(ADDRESS, _("address"))
    if TYPE_CHECKING:  # the columns PersonalData adds
        address_encrypted: str
        address_hash: str
    risk_violence = models.BooleanField(_("risk of violence"), default=False)
    risk_criminal = models.BooleanField(_("likely to turn criminal"), default=False)
    risk_group = models.BooleanField(_("group dispute"), default=False)
    risk_petitions = models.BooleanField(_("repeated petitions"), default=False)
    risk_vulnerable = models.BooleanField(_("a vulnerable party"), default=False)
    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=1)
    # The triage rules' reasons for the current tier (rules.Reason as dicts), or the override.
    tier_reasons = models.JSONField(default=list, blank=True)
    tier_overridden = models.BooleanField(_("tier set by an officer"), default=False)
    lead = models.ForeignKey(
        Member,
        verbose_name=_("lead mediator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leading",
    )
    track = models.CharField(_("legal track"), max_length=8, choices=Track.choices, blank=True)
    track_started = models.DateField(_("mediation accepted on"), null=True, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    # The calendar did not know the deadline's year for certain (core.workdays).
    deadline_uncertain = models.BooleanField(default=False)
    extended = models.BooleanField(_("extended with both parties' consent"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    reopened = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dispute")
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["station", "number"], name="dispute_number_unique"),
        ]
        indexes = [
            models.Index(fields=["station", "registered_at"]),
            models.Index(fields=["grid", "registered_at"]),
            models.Index(fields=["station", "status", "deadline"]),
            models.Index(fields=["station", "grid"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.PERFORMED, self.Status.REFERRED, self.Status.WITHDRAWN)


class Party(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    class Role(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        RESPONDENT = "respondent", _("Respondent")
        THIRD_PARTY = "third_party", _("Third party")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PERSON)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    name = models.CharField(_("name"), max_length=80)
    # For a person whose ID number is not given: their age (under 16 needs a guardian).
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    pii_uid = personal_uid()
    id_number = PersonalData(ID_NUMBER, _("ID number"))
    phone = PersonalData(PHONE, _("phone"))
    guardian_name = models.CharField(_("guardian"), max_length=50, blank=True)
    guardian_phone = PersonalData(PHONE, _("guardian's phone"))
    if TYPE_CHECKING:  # the columns PersonalData adds
        id_number_encrypted: str
        id_number_hash: str
        phone_encrypted: str
        phone_hash: str
        guardian_phone_encrypted: str
        guardian_phone_hash: str
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("party")
        ordering = ["dispute", "order", "id"]
        indexes = [
            models.Index(fields=["id_number_hash"]),
            models.Index(fields=["phone_hash"]),
        ]

    def __str__(self) -> str:
        return self.name


class TierChange(models.Model):
    """One step of a dispute's tier history: triage, an override, an escalation or a
    de-escalation, with its reasons."""

    class Kind(models.TextChoices):
        TRIAGE = "triage", _("Triage")
        OVERRIDE = "override", _("Set by an officer")
        ESCALATE = "escalate", _("Escalated")
        DEESCALATE = "deescalate", _("De-escalated")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="tier_changes")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    from_tier = models.PositiveSmallIntegerField(null=True, blank=True, choices=Tier.choices)
    to_tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    reasons = models.JSONField(default=list, blank=True)
    reason = models.TextField(_("reason"), max_length=1000, blank=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["dispute", "at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {self.from_tier} → {self.to_tier}"


class Call(models.Model):
    """A body member called to a dispute: they see it, even from outside the station."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="calls")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="calls")
    called_at = models.DateTimeField(default=timezone.now)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["dispute", "called_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "member"], name="one_call_per_member"),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {self.member_id}"


class Session(models.Model):
    class Result(models.TextChoices):
        AGREED = "agreed", _("Agreement reached")
        ADJOURNED = "adjourned", _("Adjourned, to continue")
        FAILED = "failed", _("Failed")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices)
    held_at = models.DateTimeField(_("held"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    participants = models.ManyToManyField(
        Member, blank=True, related_name="sessions", verbose_name=_("members taking part")
    )
    others = models.CharField(_("others taking part"), max_length=500, blank=True)
    said = models.TextField(_("what was said"), max_length=4000, blank=True)
    offered = models.TextField(_("what was offered"), max_length=4000, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("mediation session")
        ordering = ["dispute", "held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {self.held_at:%Y-%m-%d} · {self.result}"


class Agreement(models.Model):
    class Form(models.TextChoices):
        WRITTEN = "written", _("Written")
        ORAL = "oral", _("Oral")

    class Status(models.TextChoices):
        PENDING = "pending", _("To be carried out")
        PERFORMED = "performed", _("Carried out")
        UNPERFORMED = "unperformed", _("Not carried out")

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="agreements")
    number = models.CharField(_("agreement number"), max_length=40)
    form = models.CharField(_("form"), max_length=8, choices=Form.choices)
    facts = models.TextField(_("facts and issues"), max_length=4000)
    terms = models.TextField(_("terms agreed"), max_length=4000)
    performance = models.TextField(_("how it is carried out"), max_length=2000)
    perform_by = models.DateField(_("carried out by"))
    signed_on = models.DateField(_("signed on"))
    # The names of the parties who signed (or, for an oral agreement, agreed).
    signatories = models.JSONField(_("signed by"), default=list)
    copies = models.PositiveSmallIntegerField(_("copies"), default=3)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    followup_due = models.DateField(_("follow-up due"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("mediation agreement")
        ordering = ["dispute", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "number"], name="agreement_number_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class FollowUp(models.Model):
    class Method(models.TextChoices):
        VISIT = "visit", _("Visit")
        PHONE = "phone", _("Phone")

    class Result(models.TextChoices):
        PERFORMED = "performed", _("Carried out")
        PARTLY = "partly", _("Partly carried out, in progress")
        NOT_PERFORMED = "not_performed", _("Not carried out")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="followups")
    visited_at = models.DateTimeField(_("visited"))
    method = models.CharField(_("how"), max_length=8, choices=Method.choices)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("follow-up visit")
        ordering = ["agreement", "visited_at", "id"]

    def __str__(self) -> str:
        return f"{self.agreement_id} · {self.visited_at:%Y-%m-%d} · {self.result}"


class Referral(models.Model):
    class To(models.TextChoices):
        COURT = "court", _("Court")
        ARBITRATION = "arbitration", _("Arbitration")
        PETITIONS = "petitions", _("Letters and visits office")
        DEPARTMENT = "department", _("Another department")

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="referrals")
    to = models.CharField(_("referred to"), max_length=16, choices=To.choices)
    department = models.CharField(_("department"), max_length=80, blank=True)
    told = models.TextField(_("what the parties were told"), max_length=2000)
    referred_at = models.DateTimeField(_("referred"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("referral")
        ordering = ["dispute", "referred_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {self.to}"
