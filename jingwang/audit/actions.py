"""Writing, verifying and sealing the audit chain.

``record()`` and ``record_many()`` append inside the caller's transaction: if the audit write
fails, the action fails. ``verify()`` walks the whole chain and the sealed checkpoints and names
the first bad event; ``seal()`` appends a checkpoint to the seal file (``seals.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jingwang.audit import chain, seals, vocabulary
from jingwang.audit.context import client_ip
from jingwang.audit.models import GENESIS, AuditEvent, ChainHead
from jingwang.audit.seals import Checkpoint
from jingwang.core import bulk


class ChainHeadTampered(RuntimeError):
    """The chain head's MAC does not check: it was moved or altered, or the key is wrong."""

    def __str__(self) -> str:
        return (
            "the audit chain head fails its check (moved or altered, or JINGWANG_AUDIT_KEY is not "
            "the key that wrote the chain): nothing can be recorded; run `jingwang audit verify`"
        )


def _label(obj: models.Model | None) -> tuple[str, str]:
    return (obj._meta.label_lower, str(obj.pk)) if obj is not None else ("", "")


def _event(
    actor: Any,
    action: str,
    obj: models.Model | None,
    *,
    at: datetime,
    station_id: int | None,
    outcome: str,
    detail: dict[str, Any] | None,
    actor_name: str | None,
    object_type: str | None,
    object_id: str | None,
    subject: models.Model | None,
) -> AuditEvent:
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    if station_id is None and obj is not None:
        station_id = getattr(obj, "station_id", None)
    own_type, own_id = _label(obj)
    subject_type, subject_id = _label(subject)
    return AuditEvent(
        at=at,
        actor_id=actor.pk if authenticated else None,
        actor_name=actor_name or (actor.get_username() if authenticated else "system"),
        actor_role=getattr(actor, "role", "") if authenticated else "",
        ip=client_ip.get(),
        action=action,
        object_type=object_type or own_type,
        object_id=object_id or own_id,
        subject_type=subject_type,
        subject_id=subject_id,
        station_id=station_id,
        outcome=outcome,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
        version=chain.KEYED,
    )


@dataclass
class _Head:
    seq: int
    hash: str
    mac: str = ""


def _locked_head(key: bytes, connection: Any) -> _Head:
    """The chain head, locked until the caller's transaction ends; refuses a tampered head."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table = connection.ops.quote_name(ChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash, mac FROM {table} WHERE id = 1{lock}")
        found = cursor.fetchone()
    if found is None:  # the installation's first event
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"mac": chain.head_mac(0, GENESIS, key)}
        )
        found = (head.seq, head.hash, head.mac)
    seq, hash_, mac = found
    if not chain.same(mac, chain.head_mac(seq, hash_, key)):
        raise ChainHeadTampered()
    return _Head(seq, hash_)


def _chain(head: _Head, events: list[AuditEvent], key: bytes) -> None:
    for event in events:
        event.seq, event.prev_hash = head.seq + 1, head.hash
        event.hash = chain.event_hash(event, key)
        head.seq, head.hash = event.seq, event.hash
    head.mac = chain.head_mac(head.seq, head.hash, key)


def _move(head: _Head) -> None:
    ChainHead.objects.filter(pk=1).update(seq=head.seq, hash=head.hash, mac=head.mac)


_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
_CHAINED = [i for i, f in enumerate(_FIELDS) if f.attname in ("seq", "prev_hash", "hash")]


def _insert_sql(connection: Any) -> str:
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in _FIELDS)}) "
        f"VALUES ({', '.join(['%s'] * len(_FIELDS))}) RETURNING {quote('id')}"
    )


def _params(event: AuditEvent, connection: Any) -> list[Any]:
    params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _FIELDS]
    for i in _CHAINED:
        params[i] = getattr(event, _FIELDS[i].attname)
    return params


def _append_one(event: AuditEvent, key: bytes, connection: Any) -> None:
    """Lock the head, chain ``event`` and write it and the moved head, in as few round trips as
    the database allows: the head stays locked until the caller commits, so every statement
    here is time that all other audited writers wait."""
    params = _params(event, connection)  # converted before the lock is taken
    head = _locked_head(key, connection)
    _chain(head, [event], key)
    for i in _CHAINED:
        params[i] = getattr(event, _FIELDS[i].attname)
    insert = _insert_sql(connection)
    move = (
        f"UPDATE {connection.ops.quote_name(ChainHead._meta.db_table)} "
        "SET seq = %s, hash = %s, mac = %s WHERE id = 1"
    )
    moved = [head.seq, head.hash, head.mac]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one round trip
            cursor.execute(f"WITH moved AS ({move}) {insert}", [*moved, *params])
            (event.pk,) = cursor.fetchone()
        else:
            cursor.execute(insert, params)
            (event.pk,) = cursor.fetchone()
            cursor.execute(move, moved)
    event._state.adding, event._state.db = False, connection.alias


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
    subject: models.Model | None = None,
) -> AuditEvent:
    """Append one event: ``actor`` did ``action`` (a registered code) to ``obj``.

    ``subject`` names the parent whose timeline shows the event too (a callback's incident).
    The station is ``obj.station_id`` unless given. Runs inside the caller's transaction, best
    last in it (the chain head stays locked until the transaction ends): if it fails, the
    action fails. Raises ``vocabulary.UnknownAction`` for an action no app registered.
    """
    vocabulary.check(action)
    event = _event(
        actor,
        action,
        obj,
        at=timezone.now(),
        station_id=station_id,
        outcome=outcome,
        detail=detail,
        actor_name=actor_name,
        object_type=object_type,
        object_id=object_id,
        subject=subject,
    )
    key = chain.current_key()
    connection = connections[router.db_for_write(AuditEvent)]
    with transaction.atomic(using=connection.alias, savepoint=False):
        _append_one(event, key, connection)
    return event


Detail = dict[str, Any] | Callable[[Any], dict[str, Any]] | None
Subject = models.Model | Callable[[Any], models.Model | None] | None


def record_many(
    actor: Any,
    action: str,
    objs: Iterable[models.Model],
    *,
    station_id: int | None = None,
    outcome: str = AuditEvent.Outcome.OK,
    detail: Detail = None,
    subject: Subject = None,
) -> list[AuditEvent]:
    """Append one event per object, in order, under one lock of the chain head (bulk insert).

    ``detail`` and ``subject`` are either one value for every event or a function of the object.
    Same rules as ``record()``; nothing is written for no objects.
    """
    vocabulary.check(action)
    now = timezone.now()
    events = [
        _event(
            actor,
            action,
            obj,
            at=now,
            station_id=station_id,
            outcome=outcome,
            detail=detail(obj) if callable(detail) else detail,
            actor_name=None,
            object_type=None,
            object_id=None,
            subject=subject(obj) if callable(subject) else subject,
        )
        for obj in objs
    ]
    if not events:
        return []
    key = chain.current_key()
    connection = connections[router.db_for_write(AuditEvent)]
    with transaction.atomic(using=connection.alias, savepoint=False):
        head = _locked_head(key, connection)
        _chain(head, events, key)
        bulk.create(AuditEvent, events)  # one statement, whatever the number of events
        _move(head)
    return events


# ---------------------------------------------------------------------------------------------
# Verifying


REASONS: dict[str, Promise] = {
    "hash": _("the event does not match its MAC (altered, or written without the audit key)"),
    "key": _(
        "no keyed event matches its MAC: JINGWANG_AUDIT_KEY is not the key that wrote the chain"
    ),
    "prev_hash": _("the event does not link to the one before it (altered, inserted or reordered)"),
    "missing": _("the event is missing (removed)"),
    "unkeyed": _("the event carries a plain hash where the chain is keyed (rewritten)"),
    "truncated": _(
        "the chain ends before its head or a sealed checkpoint: this event and the ones after "
        "it were removed"
    ),
    "head": _("the chain head fails its check (moved back or altered)"),
    "seal": _("the event differs from its sealed checkpoint (rewritten)"),
    "seal_mac": _("a checkpoint in the seal file fails its check (the seal file was altered)"),
}


@dataclass
class Break:
    seq: int
    reason: str  # a key of REASONS
    line: int | None = None  # for seal_mac: the line of the seal file

    @property
    def explanation(self) -> str:
        return str(REASONS[self.reason])


@dataclass
class Verification:
    checked: int = 0  # events whose hash and link were checked
    legacy: int = 0  # of them, events from before the audit key (plain SHA-256)
    checkpoints: int = 0  # sealed checkpoints compared with the chain
    last_sealed: int | None = None  # the newest checkpoint's event
    broken: Break | None = None
    sealed: list[Checkpoint] = field(default_factory=list, repr=False)


class ChainBroken(Exception):
    def __init__(self, broken: Break) -> None:
        super().__init__(f"audit chain broken at event {broken.seq}: {broken.explanation}")
        self.broken = broken


class _Walker:
    """Checks events one after the other, from a trusted starting point."""

    def __init__(self, after_seq: int = 0, after_hash: str = GENESIS, key: bytes = b"") -> None:
        self.expected = after_seq + 1
        self.prev = after_hash
        self.keyed = after_seq > 0  # a checkpoint is only ever made of a keyed chain
        self.key = key
        self.checked = self.legacy = 0

    def step(self, event: AuditEvent) -> Break | None:
        if event.seq != self.expected:
            return Break(self.expected, "missing")
        if not chain.same(event.prev_hash, self.prev):
            return Break(event.seq, "prev_hash")
        if event.version == chain.LEGACY and self.keyed:
            return Break(event.seq, "unkeyed")
        if event.version not in (chain.LEGACY, chain.KEYED):
            return Break(event.seq, "hash")
        if not chain.same(event.hash, chain.event_hash(event, self.key)):
            return Break(event.seq, "hash")
        self.keyed = self.keyed or event.version == chain.KEYED
        self.legacy += event.version == chain.LEGACY
        self.checked += 1
        self.expected, self.prev = event.seq + 1, event.hash
        return None

    def finish(self) -> Break | None:
        # Plain events with no keyed one after them: after the key came, every chain ends in a
        # keyed event (the migration appended one), so these were rewritten without the key.
        if self.legacy and not self.keyed:
            return Break(1, "unkeyed")
        return None

    @property
    def last(self) -> int:
        return self.expected - 1


def _events_after(seq: int, batch: int) -> Iterator[AuditEvent]:
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq")[:batch])
        yield from rows
        if len(rows) < batch:
            return
        seq = rows[-1].seq


def _wrong_key(walker: _Walker, broken: Break) -> Break:
    """A MAC failure at the first keyed event, and at the newest event or the head too: the
    key is wrong, not the events (an administrator would not know what to look for)."""
    if broken.reason != "hash" or walker.keyed:
        return broken
    newest = AuditEvent.objects.order_by("-seq").first()
    head = ChainHead.objects.filter(pk=1).first()
    newest_fails = (
        newest is not None
        and newest.seq != broken.seq
        and newest.version == chain.KEYED
        and not chain.same(newest.hash, chain.event_hash(newest, walker.key))
    )
    head_fails = head is not None and not chain.same(
        head.mac, chain.head_mac(head.seq, head.hash, walker.key)
    )
    return Break(broken.seq, "key") if newest_fails or head_fails else broken


def _check_head(
    head: ChainHead | None, last: int, hash_at_head: str | None, key: bytes
) -> Break | None:
    if head is None:
        head = ChainHead.objects.filter(pk=1).first()  # the first event may have come meanwhile
        if head is None:
            return Break(1, "head") if last else None
    if not chain.same(head.mac, chain.head_mac(head.seq, head.hash, key)):
        return Break(min(head.seq, last) + 1, "head")
    if head.seq > last:
        return Break(last + 1, "truncated")
    if head.seq and (hash_at_head is None or not chain.same(hash_at_head, head.hash)):
        return Break(head.seq, "head")
    return None


def verify(batch: int = 5000) -> Verification:
    """Walk the whole chain and compare it with its head and every sealed checkpoint.

    Returns what was checked and the first break: the earliest bad event of the chain, else a
    chain shorter than its head or a checkpoint, else a checkpoint that fails its own MAC.
    """
    key = chain.current_key()
    # The seal file and the head first, the events last: events appended while this runs only
    # lengthen the chain past them.
    sealed = seals.read()
    head = ChainHead.objects.filter(pk=1).first()
    result = Verification(sealed=sealed)
    valid = {cp.seq: cp for cp in sealed if cp.valid}
    walker = _Walker(key=key)
    hash_at_head: str | None = None
    broken: Break | None = None
    for event in _events_after(0, batch):
        broken = walker.step(event)
        if broken is not None:
            broken = _wrong_key(walker, broken)
            break
        checkpoint = valid.get(event.seq)
        if checkpoint is not None:
            if not chain.same(checkpoint.hash, event.hash):
                broken = Break(event.seq, "seal")
                break
            result.checkpoints += 1
        if head is not None and event.seq == head.seq:
            hash_at_head = event.hash
    result.checked, result.legacy = walker.checked, walker.legacy
    if broken is None:
        broken = walker.finish()
    if broken is None and valid and max(valid) > walker.last:
        broken = Break(walker.last + 1, "truncated")
    if broken is None:
        broken = _check_head(head, walker.last, hash_at_head, key)
    if broken is None:
        bad = next((cp for cp in sealed if not cp.valid), None)
        if bad is not None:
            broken = Break(bad.seq, "seal_mac", line=bad.line)
    result.broken = broken
    result.last_sealed = max(valid) if valid else None
    return result


# ---------------------------------------------------------------------------------------------
# Sealing


def seal(batch: int = 5000) -> Checkpoint | None:
    """Append a checkpoint of the newest event to the seal file, after checking every event
    since the previous checkpoint. None when nothing was appended since then (idempotent).

    Raises ChainBroken, writing nothing, when the chain since the last checkpoint is broken or
    shorter than it, or when the seal file holds a checkpoint that fails its MAC.
    """
    key = chain.current_key()
    with seals.locked() as handle:
        handle.seek(0)
        text = handle.readlines()
        lines = len(text)
        sealed = seals.read_lines(text)
        bad = next((cp for cp in sealed if not cp.valid), None)
        if bad is not None:
            raise ChainBroken(Break(bad.seq, "seal_mac", line=bad.line))
        last = max(sealed, key=lambda cp: cp.seq, default=None)
        start_seq, start_hash = (last.seq, last.hash) if last else (0, GENESIS)
        if start_seq:
            anchor = AuditEvent.objects.filter(seq=start_seq).values_list("hash", flat=True).first()
            if anchor is None:
                raise ChainBroken(Break(start_seq, "truncated"))
            if not chain.same(anchor, start_hash):
                raise ChainBroken(Break(start_seq, "seal"))
        head = ChainHead.objects.filter(pk=1).first()
        walker = _Walker(start_seq, start_hash, key)
        hash_at_head = start_hash if head is not None and head.seq == start_seq else None
        for event in _events_after(start_seq, batch):
            broken = walker.step(event)
            if broken is not None:
                raise ChainBroken(_wrong_key(walker, broken))
            if head is not None and event.seq == head.seq:
                hash_at_head = event.hash
        broken = walker.finish()
        if broken is None and head is not None and head.seq < start_seq:
            broken = Break(head.seq + 1, "truncated")  # a replayed old head
        if broken is None:
            broken = _check_head(head, walker.last, hash_at_head, key)
        if broken is not None:
            raise ChainBroken(broken)
        if walker.last == start_seq:
            return None
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        seals.append(handle, seals.format_line(walker.last, walker.prev, at))
        return Checkpoint(lines + 1, walker.last, walker.prev, at, True)
