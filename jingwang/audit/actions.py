"""Writing and verifying the audit chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from jingwang.audit.context import client_ip
from jingwang.audit.models import GENESIS, AuditEvent, ChainHead


def record(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    station_id: int | None = None,
    outcome: str = AuditEvent.Outcome.OK,
    detail: dict[str, Any] | None = None,
    actor_name: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction: if it fails, the action fails."""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    if station_id is None and obj is not None:
        station_id = getattr(obj, "station_id", None)
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            actor_id=actor.pk if authenticated else None,
            actor_name=actor_name or (actor.get_username() if authenticated else "system"),
            actor_role=getattr(actor, "role", "") if authenticated else "",
            ip=client_ip.get(),
            action=action,
            object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
            object_id=object_id or (str(obj.pk) if obj is not None else ""),
            station_id=station_id,
            outcome=outcome,
            detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
            prev_hash=head.hash,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


@dataclass
class Break:
    seq: int
    reason: str


def verify(batch: int = 5000) -> tuple[int, Break | None]:
    """Walk the chain in order; return how many events were checked and the first break."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return checked, Break(expected_seq, "missing")
            if event.prev_hash != expected_prev:
                return checked, Break(event.seq, "prev_hash")
            if event.compute_hash() != event.hash:
                return checked, Break(event.seq, "hash")
            expected_prev, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
            checked += 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != last_seq or head.hash != expected_prev):
        return checked, Break(last_seq + 1, "truncated")
    return checked, None
