"""Strict parsing of what comes in a URL's query or a form's fields.

``str.isdigit()`` is true for "²" and "⒉", which ``int()`` then refuses: every number taken from
a request goes through here instead. A value that does not parse is ``BadParameter``, answered
with a 400 that names the parameter (a page, or the API's JSON errors), never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

DIGITS = re.compile(r"[0-9]{1,18}")
# Row ids and revisions are positive and fit a 64-bit column.
MAX_KEY = 2**63 - 1


class BadParameter(Exception):
    """A request parameter that does not parse; the message names it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def parse_int(value: Any, *, minimum: int = 0, maximum: int = MAX_KEY) -> int | None:
    """ASCII digits within [minimum, maximum] (an optional leading minus when minimum < 0)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if minimum <= value <= maximum else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    negative = text.startswith("-") and minimum < 0
    digits = text[1:] if negative else text
    if not DIGITS.fullmatch(digits):
        return None
    number = -int(digits) if negative else int(digits)
    return number if minimum <= number <= maximum else None


def key_or_code(value: Any) -> tuple[int | None, str]:
    """A station or similar given by id or code: (the id if it is one, the text as a code)."""
    text = str(value).strip()[:64]
    return parse_int(text, minimum=1), text


def int_param(
    data: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int = 0,
    maximum: int = MAX_KEY,
    required: bool = False,
) -> int | None:
    """A whole number from ``request.GET`` or ``request.POST`` (the last value if repeated)."""
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise BadParameter(name, _("“%(name)s” is required.") % {"name": name})
        return default
    number = parse_int(raw, minimum=minimum, maximum=maximum)
    if number is None:
        raise BadParameter(
            name,
            _("“%(name)s” must be a whole number from %(minimum)s to %(maximum)s.")
            % {"name": name, "minimum": minimum, "maximum": maximum},
        )
    return number


def choice_param(
    data: Mapping[str, Any], name: str, choices: Iterable[str], default: str = ""
) -> str:
    """One of ``choices``; anything else is the default (a filter a person can reset)."""
    raw = data.get(name)
    return raw if isinstance(raw, str) and raw in set(choices) else default


def text_param(data: Mapping[str, Any], name: str, *, max_length: int = 100) -> str:
    """Free text (a search box), stripped and cut to a sane length."""
    raw = data.get(name)
    return raw.strip()[:max_length] if isinstance(raw, str) else ""


def date_param(data: Mapping[str, Any], name: str) -> date | None:
    """A day as YYYY-MM-DD (a list's "from" and "to"); empty is None, anything else that does not
    parse is ``BadParameter``."""
    raw = text_param(data, name, max_length=20)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(
            name, _("“%(name)s” must be a date such as 2026-03-05.") % {"name": name}
        ) from None
