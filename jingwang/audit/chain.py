"""The arithmetic of the audit chain: canonical bytes and MACs under the audit key.

Version 2 (every event written since the key was introduced): an event's ``hash`` is
HMAC-SHA256 under ``JINGWANG_AUDIT_KEY`` over its canonical fields, which include the previous
event's hash. Without the key nobody can make an event whose MAC checks, so an event cannot be
altered, inserted, reordered or appended, nor the chain re-linked after a removal.

Version 1 (events of installations made before the key): plain SHA-256 over the version-1
fields. They are not rewritten; the first keyed event (``audit_chain_keyed``, appended by the
migration that introduced the key) covers the last of them through its ``prev_hash``, so every one
of them is still fixed. A plain event after a keyed one is a forgery.

The chain head and each sealed checkpoint carry their own MAC, each with its own domain prefix so
that a MAC of one kind can never stand for another.

The functions take any object with the event's attributes, so the migrations' historical models
use them too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from functools import lru_cache
from typing import Any

GENESIS = "0" * 64
LEGACY = 1  # plain SHA-256, before the audit key
KEYED = 2  # HMAC-SHA256 under the audit key

_FIELDS = (
    "actor_name",
    "actor_role",
    "ip",
    "action",
    "object_type",
    "object_id",
)


@lru_cache(maxsize=4)
def key_from_hex(value: str) -> bytes:
    """The 32-byte audit key from its 64 hex characters; ValueError names what is wrong."""
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("JINGWANG_AUDIT_KEY must be 64 hex characters (32 bytes)")
    return key


def current_key() -> bytes:
    from django.conf import settings

    return key_from_hex(settings.AUDIT_KEY)


def _mac(key: bytes, domain: bytes, payload: bytes) -> str:
    return hmac.new(key, domain + b"\0" + payload, hashlib.sha256).hexdigest()


def _optional(value: Any) -> str:
    return "" if value is None else str(value)


def canonical(event: Any, version: int) -> bytes:
    """The bytes an event's hash covers, in the layout of its version."""
    fields = [
        str(event.seq),
        event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        _optional(event.actor_id),
        *(getattr(event, name) for name in _FIELDS),
        _optional(event.station_id),
        event.outcome,
        event.detail,
    ]
    if version >= KEYED:
        fields += [event.subject_type, event.subject_id, str(version)]
    fields.append(event.prev_hash)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(event: Any, key: bytes | None = None) -> str:
    """The hash an event must carry: by its ``version``, a MAC under the key or plain SHA-256."""
    if event.version == LEGACY:
        return hashlib.sha256(canonical(event, LEGACY)).hexdigest()
    return _mac(key or current_key(), b"jingwang-audit-event", canonical(event, event.version))


def head_mac(seq: int, hash_: str, key: bytes | None = None) -> str:
    return _mac(key or current_key(), b"jingwang-audit-head", f"{seq}:{hash_}".encode())


def seal_mac(seq: int, hash_: str, at: str, key: bytes | None = None) -> str:
    payload = json.dumps([1, seq, hash_, at], separators=(",", ":")).encode()
    return _mac(key or current_key(), b"jingwang-audit-seal", payload)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
