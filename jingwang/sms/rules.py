"""The pure rules of sending texts: quiet hours, back-off, what a reply means. No database."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import datetime, time, timedelta

# A reply that asks for no more texts: 退订 or TD, in any case, with spaces or punctuation
# around it (the usual wording in Chinese texts: "回TD退订").
OPT_OUT_WORDS = frozenset({"退订", "td"})


def is_opt_out(reply: str) -> bool:
    """Whether a reply is 退订 / TD (any case, full-width too, spaces and punctuation around)."""
    text = unicodedata.normalize("NFKC", reply or "")
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")
    return kept.casefold() in OPT_OUT_WORDS


def in_quiet_hours(at: datetime, start: int, end: int) -> bool:
    """Whether the local time ``at`` falls in the quiet hours [start:00, end:00).

    The hours may wrap midnight (21 → 8) or not (13 → 14); start == end means none.
    """
    hour = at.hour
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def quiet_hours_end(at: datetime, start: int, end: int) -> datetime:
    """When the quiet hours holding ``at`` (an aware local time) end: the next ``end``:00."""
    ends = at.replace(hour=end, minute=0, second=0, microsecond=0)
    if ends <= at:
        ends = datetime.combine(at.date() + timedelta(days=1), time(end), tzinfo=at.tzinfo)
    return ends


def backoff(attempts: int, base_seconds: int, cap_seconds: int = 6 * 3600) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: base, 2×base, 4×base, ..."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """How the gateway signs what it posts back: hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_problem(
    secret: str, timestamp: str, given: str, body: bytes, now: float, leeway: int = 300
) -> str | None:
    """Why a signed post is refused ("unconfigured", "stale", "signature"), or None."""
    if not secret:
        return "unconfigured"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 16):
        return "stale"
    if abs(now - int(timestamp)) > leeway:
        return "stale"
    given = given.removeprefix("sha256=").strip().lower()
    if not given.isascii() or not hmac.compare_digest(given, signature(secret, timestamp, body)):
        return "signature"
    return None
