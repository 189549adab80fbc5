"""Where the current request comes from, for audit events written deep inside actions."""

from __future__ import annotations

from contextvars import ContextVar

client_ip: ContextVar[str] = ContextVar("client_ip", default="")


def ip_of(request: object) -> str:
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR", ""))
