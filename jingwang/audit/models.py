"""The append-only, hash-chained audit log.

Each event's hash covers its own fields and the previous event's hash, so altering, removing or
reordering a row breaks the chain at that row; ``jingwang audit verify`` finds the first break.
Database triggers (see the migration) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


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
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")

    def canonical(self) -> bytes:
        fields = [
            str(self.seq),
            self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "" if self.actor_id is None else str(self.actor_id),
            self.actor_name,
            self.actor_role,
            self.ip,
            self.action,
            self.object_type,
            self.object_id,
            "" if self.station_id is None else str(self.station_id),
            self.outcome,
            self.detail,
            self.prev_hash,
        ]
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @property
    def detail_data(self) -> dict[str, object]:
        return json.loads(self.detail) if self.detail else {}


class ChainHead(models.Model):
    """One row: the last sequence number and hash, locked while an event is appended."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"
