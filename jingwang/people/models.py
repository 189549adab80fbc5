"""People who cover the grids, their grid assignments and committee posts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.core.personal import ID_NUMBER, PHONE, PersonalData, personal_uid


class Person(models.Model):
    class Kind(models.TextChoices):
        OFFICER = "officer", _("Police officer")
        AUXILIARY = "auxiliary", _("Auxiliary officer")
        GRID_WORKER = "grid_worker", _("Grid worker")
        MEDIATOR = "mediator", _("Full-time mediator")
        DEPUTY = "deputy", _("People's Congress deputy")
        CPPCC_MEMBER = "cppcc_member", _("CPPCC member")
        CONDUCT_SUPERVISOR = "conduct_supervisor", _("Police conduct supervisor")
        JUDICIAL_OFFICE = "judicial_office", _("Judicial office staff")
        LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement staff")
        VOLUNTEER = "volunteer", _("Volunteer")

    station = models.ForeignKey(
        "territory.Station", on_delete=models.PROTECT, related_name="people"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50)
    badge_number = models.CharField(_("badge number"), max_length=20, blank=True)
    # Personal data: encrypted at rest and bound to this row, with a keyed hash for lookup.
    pii_uid = personal_uid()
    id_number = PersonalData(ID_NUMBER, _("ID number"))
    phone = PersonalData(PHONE, _("mobile phone"))
    if TYPE_CHECKING:  # the columns PersonalData adds
        id_number_encrypted: str
        id_number_hash: str
        phone_encrypted: str
        phone_hash: str
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("person")
        ordering = ["station", "name", "id"]
        indexes = [models.Index(fields=["station", "kind"])]
        constraints = [
            # One person per ID number in a station (the hash is keyed, the number encrypted).
            models.UniqueConstraint(
                fields=["station", "id_number_hash"],
                condition=~models.Q(id_number_hash=""),
                name="person_id_number_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_personal_data(self) -> bool:
        return bool(self.id_number_encrypted or self.phone_encrypted)


class GridAssignment(models.Model):
    class Role(models.TextChoices):
        COMMUNITY_OFFICER = "community_officer", _("Community officer")
        AUXILIARY = "auxiliary", _("Auxiliary officer")
        GRID_WORKER = "grid_worker", _("Grid worker")
        MEDIATOR = "mediator", _("Mediator")
        VOLUNTEER = "volunteer", _("Volunteer")

    # Which kinds of person may hold which assignment role.
    ALLOWED_KINDS = {
        "community_officer": {"officer"},
        "auxiliary": {"auxiliary"},
        "grid_worker": {"grid_worker"},
        "mediator": {"mediator"},
        "volunteer": {"volunteer"},
    }

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="assignments")
    grid = models.ForeignKey("territory.Grid", on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    since = models.DateField(_("since"), default=timezone.localdate)
    ended_at = models.DateField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid assignment")
        ordering = ["grid__code", "role", "person__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "grid", "role"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_assignment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.role} · {self.grid_id}"


class CommitteePost(models.Model):
    """A community officer holding a post on a village/community committee (村社班子任职)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="committee_posts")
    community = models.ForeignKey(
        "territory.Community", on_delete=models.PROTECT, related_name="committee_posts"
    )
    title = models.CharField(_("post"), max_length=50)
    since = models.DateField(_("since"), default=timezone.localdate)
    ended_at = models.DateField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("committee post")
        ordering = ["community__code", "title"]

    def __str__(self) -> str:
        return f"{self.person} · {self.title}"


class Reassignment(models.Model):
    """An assignment that could not follow its grid into a new grid version: review it.

    Created when a plan is applied and the person's grid did not keep its ground; resolved when
    the chief assigns the person again (or decides nothing is needed).
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="reassignments")
    role = models.CharField(_("role"), max_length=32, choices=GridAssignment.Role.choices)
    old_grid = models.ForeignKey(
        "territory.Grid", on_delete=models.PROTECT, related_name="reassignments_from"
    )
    suggested_grid = models.ForeignKey(
        "territory.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reassignments_to",
    )
    overlap = models.FloatField(_("overlap"), default=0)
    version = models.ForeignKey(
        "territory.GridVersion", on_delete=models.PROTECT, related_name="reassignments"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reassignment to review")
        ordering = ["old_grid__code", "role", "person__name"]

    def __str__(self) -> str:
        return f"{self.person} · {self.role} · {self.old_grid_id}"
