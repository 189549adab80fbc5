"""The append-only audit log, chained under a key kept outside the database.

Each event's hash is a MAC (under ``JINGWANG_AUDIT_KEY``) of its own fields and the previous
event's hash, so altering, removing, reordering or appending a row breaks the chain at that row;
``jingwang audit verify`` finds the first break, and sealed checkpoints kept outside the database
(``jingwang audit seal``) catch a chain cut short at its end. See ``chain.py`` for the arithmetic.
Database triggers (see the migrations) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import json

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.audit import chain
from jingwang.audit.chain import GENESIS

__all__ = ["GENESIS", "AuditEvent", "ChainHead"]


class AuditEvent(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok", _("succeeded")
        DENIED = "denied", _("denied")
        FAILED = "failed", _("failed")

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_name = models.CharField(_("who"), max_length=150)
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    ip = models.CharField(_("from"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True)
    station_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    detail = models.TextField(_("detail"), blank=True)  # canonical JSON
    # The parent whose timeline shows this event too (a callback's incident).
    subject_type = models.CharField(_("subject type"), max_length=64, blank=True)
    subject_id = models.CharField(_("subject"), max_length=64, blank=True)
    version = models.PositiveSmallIntegerField(default=chain.KEYED)  # how ``hash`` is made
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
            models.Index(fields=["subject_type", "subject_id"], name="audit_event_subject"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")

    def compute_hash(self, key: bytes | None = None) -> str:
        """The hash this event must carry (a MAC under the audit key, for version 2)."""
        return chain.event_hash(self, key)

    @property
    def detail_data(self) -> dict[str, object]:
        return json.loads(self.detail) if self.detail else {}

    @property
    def action_label(self) -> str:
        """The action in the reader's language (the code itself if no app registers it)."""
        from jingwang.audit.vocabulary import label

        return label(self.action)


class ChainHead(models.Model):
    """One row: the last sequence number and hash, locked while an event is appended.

    ``mac`` binds the two under the audit key, so the head cannot be moved back without it.
    """

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)
    mac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"
