"""Typed checks of one value of a row: each turns what the file holds into a plain value or
reports problem codes with their parameters.

A check receives a value that is present: a string already stripped and not empty, or what a
spreadsheet cell or a JSON property holds (a number, a date, a boolean, a list, …). Absent
values never reach it: the reader reports ``required`` for a required field and gives None.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from jingwang.lib import pii

# PositiveIntegerField holds up to 2**31 - 1 on every database Django supports.
INT_MAX = 2**31 - 1

# problem(code, **params): records a problem of the value being checked.
Report = Callable[..., None]


class _Invalid:
    """The value of a field whose check reported a problem."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass(frozen=True)
class Context:
    """What a check may need beyond the value: the time zone of naive dates and times."""

    tz: tzinfo | None = None


@dataclass(frozen=True)
class Field:
    """A column (CSV, XLSX) or property (GeoJSON) of a row.

    ``name`` is the field's name and its first spelling; ``aliases`` are other spellings of the
    column (Chinese ones too), all compared ignoring case and surrounding spaces. ``unique``: two
    rows of a file may not give the same value (``duplicate_code``, on the later row).
    """

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    unique: bool = False

    @property
    def spellings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.strip().lower() for s in (self.name, *self.aliases)))

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        """The value to keep, or INVALID after reporting why not."""
        return value


@dataclass(frozen=True)
class Text(Field):
    """Text of at most ``max_length`` characters. Whole numbers are read as their digits."""

    max_length: int | None = None

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        text = as_text(value)
        if text is None:
            problem("not_text")
            return INVALID
        if self.max_length is not None and len(text) > self.max_length:
            problem("too_long", limit=self.max_length, length=len(text))
            return INVALID
        return text


@dataclass(frozen=True)
class Choice(Field):
    """One of a fixed set of values. ``values`` maps every accepted spelling (compared ignoring
    case) to the value stored; the message lists the spellings in this order."""

    values: Mapping[str, str] = field(default_factory=dict)

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        text = as_text(value)
        if text is None:
            problem("not_text")
            return INVALID
        found = self.values.get(text.lower())
        if found is None:
            problem("unknown_choice", value=text[:40], choices=", ".join(self.values))
            return INVALID
        return found


@dataclass(frozen=True)
class Integer(Field):
    """A whole number within [minimum, maximum]; ``1,200`` and ``12.0`` are read as 1200 and 12."""

    minimum: int | None = 0
    maximum: int | None = INT_MAX

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        number = _to_integer(value)
        if number is None:
            problem("not_an_integer", value=shown(value))
            return INVALID
        if not _at_least(number, self.minimum, value, problem):
            return INVALID
        if self.maximum is not None and number > self.maximum:
            problem("too_large", value=shown(value), limit=self.maximum)
            return INVALID
        return int(number)


@dataclass(frozen=True)
class Number(Field):
    """A number within [minimum, maximum] (None: no bound)."""

    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        number = to_float(value)
        if number is None or math.isnan(number):
            problem("not_a_number", value=shown(value))
            return INVALID
        if not _at_least(number, self.minimum, value, problem):
            return INVALID
        if self.maximum is not None and number > self.maximum:
            problem("too_large", value=shown(value), limit=_plain(self.maximum))
            return INVALID
        return number


@dataclass(frozen=True)
class Date(Field):
    """A date: a date cell of a spreadsheet, or text such as 2024-03-05, 2024/3/5, 2024.3.5,
    2024年3月5日 or 20240305 (a time after it is ignored)."""

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        parsed = parse_datetime(value) if isinstance(value, str) else None
        day = parse_date(value) if isinstance(value, str) else None
        if day is None and parsed is not None:
            day = parsed.date()
        if day is None:
            problem("not_a_date", value=shown(value))
            return INVALID
        return day


@dataclass(frozen=True)
class DateTime(Field):
    """A date and time: a date-time cell, or text such as 2024-03-05 14:30, 2024/3/5 14:30:05,
    2024年3月5日 14时30分, 20240305143000, or ISO 8601 with an offset. Times without an offset
    are in the context's time zone."""

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        moment: datetime | None = None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            moment = parse_datetime(value)
        if moment is None:
            problem("not_a_datetime", value=shown(value))
            return INVALID
        if moment.tzinfo is None and context.tz is not None:
            moment = moment.replace(tzinfo=context.tz)
        return moment


@dataclass(frozen=True)
class Phone(Field):
    """A mainland mobile number (11 digits from 1; spaces, dashes and +86 are dropped)."""

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        text = as_text(value)
        normal = pii.normalise_phone(text) if text is not None else ""
        if not pii.PHONE_PATTERN.match(normal):
            # The value is personal data: the message does not repeat it.
            problem("bad_phone")
            return INVALID
        return normal


@dataclass(frozen=True)
class IdNumber(Field):
    """An 18-character resident ID number (GB 11643: birth date and check digit)."""

    def check(self, value: Any, problem: Report, context: Context) -> Any:
        # A number cell cannot hold one: 18 digits lose their last ones in a float.
        text = value if isinstance(value, str) else None
        reason = "format" if text is None else pii.id_number_error(text)
        if reason == "birth_date":
            problem("id_number_birth_date")
        elif reason == "check_digit":
            problem("id_number_check_digit")
        elif reason is not None:
            problem("id_number_format")
        if reason is not None or text is None:
            return INVALID
        return pii.normalise_id_number(text)


# ---------------------------------------------------------------------------------------------
# Values


def as_text(value: Any) -> str | None:
    """Text as given, or the digits of a whole number; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        # A spreadsheet keeps every number as a float: code 101 arrives as 101.0.
        return str(int(value))
    return None


def shown(value: Any) -> str:
    """A value for a message: at most 40 characters."""
    return str(value)[:40]


def to_float(value: Any) -> float | None:
    """A number given as a number or as text; None if it is not one. Huge integers are ±inf."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float's range
        return math.inf if value > 0 else -math.inf
    except ValueError:
        return None


def _to_integer(value: Any) -> int | float | None:
    """A whole number (exact for ints), ±inf for huge ones, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.replace(",", "")
    number = to_float(value)
    if number is None or math.isnan(number) or (math.isfinite(number) and number % 1):
        return None
    return number


def _at_least(number: float, minimum: float | None, value: Any, problem: Report) -> bool:
    if minimum is None or number >= minimum:
        return True
    if minimum == 0:
        problem("negative", value=shown(value))
    else:
        problem("too_small", value=shown(value), limit=_plain(minimum))
    return False


def _plain(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


# ---------------------------------------------------------------------------------------------
# Dates in the usual Chinese ways of writing them

_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})|([0-9]{4})([0-9]{2})([0-9]{2})", re.A)
_TIME = r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
_ZONE = r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
_DATETIMES = (
    # 2024-03-05 14:30[:05[.123]][+08:00], also with a T
    re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[ T]" + _TIME + _ZONE, re.A),
    # 20240305 14:30[:05], 20240305T1430[05], 20240305143005
    re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})[ T]?" + _TIME + _ZONE, re.A),
    re.compile(
        r"([0-9]{4})([0-9]{2})([0-9]{2})[ T]?([0-9]{2})([0-9]{2})(?:([0-9]{2})()?)?" + _ZONE,
        re.A,
    ),
)
_DOTTED_DATE = re.compile(r"^([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})(?=$|[ T])", re.A)


def _normal(text: str) -> str:
    """Full-width digits and signs made plain; 年 月 日 时 点 分 秒 made into - and :."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _DOTTED_DATE.sub(r"\1-\2-\3", text)
    for mark, plain in (("年", "-"), ("月", "-"), ("日", " "), ("/", "-")):
        text = text.replace(mark, plain)
    for mark, plain in (("时", ":"), ("点", ":"), ("分", ":"), ("秒", "")):
        text = text.replace(mark, plain)
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip()


def parse_date(text: str) -> date | None:
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:  # the usual case, parsed in C
            return date.fromisoformat(text)
        except ValueError:
            pass
    match = _DATE.fullmatch(_normal(text))
    if match is None:
        return None
    y, m, d = (int(g) for g in match.groups() if g is not None)
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_datetime(text: str) -> datetime | None:
    """A date and time; aware only when the text gives an offset."""
    if len(text) >= 16 and text[4] == "-" and text[10] in " T" and text.isascii():
        try:  # the usual case (2024-03-05 14:30[:05][+08:00]), parsed in C
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    normal = _normal(text)
    match = next((m for m in (r.fullmatch(normal) for r in _DATETIMES) if m is not None), None)
    if match is None:
        return None
    y, m, d, hour, minute = (int(g) for g in match.groups()[:5])
    second = int(match.group(6) or 0)
    micro = int((match.group(7) or "0").ljust(6, "0"))
    zone = _offset(match.group(8)) if match.group(8) else None
    try:
        return datetime(y, m, d, hour, minute, second, micro, tzinfo=zone)
    except ValueError:
        return None


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
