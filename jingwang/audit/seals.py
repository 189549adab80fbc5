"""Sealed checkpoints of the audit chain, kept in a file outside the database.

One line per checkpoint, appended and never rewritten (``JINGWANG_AUDIT_SEAL_FILE``, by default
``var/audit-seals.log``), each a JSON object::

    {"at":"2026-12-01T06:10:00.000000+00:00","hash":"<64 hex>","mac":"<64 hex>","seq":1234,"v":1}

``seq`` and ``hash`` are those of the newest event when the seal was made, ``at`` the time (UTC),
``mac`` HMAC-SHA256 under the audit key over ``[v, seq, hash, at]`` (``chain.seal_mac``). Someone
who can write the database but not this file cannot cut the chain short behind a checkpoint;
someone who can write this file but has no key cannot forge a checkpoint.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from jingwang.audit import chain

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Checkpoint:
    line: int  # 1-based line number in the file
    seq: int
    hash: str
    at: str
    valid: bool  # well formed, and its MAC checks under the audit key


def path() -> Path:
    from django.conf import settings

    return Path(settings.AUDIT_SEAL_FILE)


def format_line(seq: int, hash_: str, at: str) -> str:
    entry = {"v": 1, "seq": seq, "hash": hash_, "at": at, "mac": chain.seal_mac(seq, hash_, at)}
    return json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"


def parse(number: int, text: str, key: bytes) -> Checkpoint:
    try:
        entry: Any = json.loads(text)
        seq, hash_, at, mac = entry["seq"], entry["hash"], entry["at"], entry["mac"]
        well_formed = (
            entry.get("v") == 1
            and isinstance(seq, int)
            and not isinstance(seq, bool)
            and seq >= 0
            and isinstance(hash_, str)
            and bool(HEX64.match(hash_))
            and isinstance(at, str)
            and isinstance(mac, str)
        )
    except (ValueError, TypeError, KeyError):
        return Checkpoint(number, 0, "", "", False)
    if not well_formed:
        return Checkpoint(number, seq if isinstance(seq, int) else 0, "", "", False)
    valid = chain.same(mac, chain.seal_mac(seq, hash_, at, key))
    return Checkpoint(number, seq, hash_, at, valid)


def read_lines(lines: Iterator[str] | list[str]) -> list[Checkpoint]:
    key = chain.current_key()
    return [
        parse(number, text.strip(), key)
        for number, text in enumerate(lines, start=1)
        if text.strip()
    ]


def read(file: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the seal file (none when it does not exist yet)."""
    file = file or path()
    if not file.is_file():
        return []
    with file.open(encoding="utf-8", errors="replace") as handle:
        return read_lines(list(handle))


@contextmanager
def locked(file: Path | None = None) -> Iterator[IO[str]]:
    """The seal file opened for appending under an exclusive lock (one sealer at a time)."""
    file = file or path()
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def append(handle: IO[str], line: str) -> None:
    handle.seek(0, os.SEEK_END)
    handle.write(line)
    handle.flush()
    os.fsync(handle.fileno())
