"""What reading a file can find: problems (errors), notices, and the limits a file must keep."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One error, as a code and its parameters, never a sentence (the caller translates).

    ``row`` is None and ``field`` "" for a problem of the whole file; ``field`` is the column or
    property as the file spells it.
    """

    code: str
    row: int | None = None
    field: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """Something the reader should know about a file that was read without error."""

    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """How much one file may hold, so that a huge or hopeless file fails fast.

    ``rows``: data rows (lines, features, sheet rows) per file; ``vertices``: coordinates per
    shape; ``problems``: checking stops once this many problems were found (the rest of the
    file is only counted).
    """

    rows: int = 1_000_000
    vertices: int = 100_000
    problems: int = 1_000
