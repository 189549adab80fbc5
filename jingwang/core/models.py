"""Tables of the shared pieces."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KeyFingerprint(models.Model):
    """A public fingerprint of a key the data in this database was written with, so a server
    started with another key says so instead of failing on every page (never the key itself)."""

    name = models.CharField(max_length=32, unique=True)
    fingerprint = models.CharField(max_length=64)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} {self.fingerprint}"


class CalendarYear(models.Model):
    """A year of the working-day calendar as the system admin entered it (jingwang.core.workdays):
    its holidays and make-up working days are its ``days``. A year with a row is known, and its
    days replace whatever the ``chinese-calendar`` package says of that year; a year without one
    is the package's, or unknown (deadlines in it are estimates, shown with a warning)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    # Each saved change adds one (the stale-edit check); 0 would be "not in the table".
    version = models.PositiveIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """One holiday or make-up working day (调休上班) of an entered year."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        MAKEUP = "makeup", _("Make-up working day")

    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("day"), unique=True)  # a day is one thing, once
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(_("holiday"), max_length=32)  # of the holiday it is or makes up for

    class Meta:
        ordering = ["day"]
        verbose_name = _("calendar day")

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.name}"
