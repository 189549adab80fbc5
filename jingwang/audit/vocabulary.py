"""The audit vocabulary: every action an audit event may name, with its label in the reader's
language. ``record()`` refuses an action no app registered, so a forgotten one fails the tests.

An app registers its actions once, from its ``AppConfig.ready()``; the codes are what
``record()`` is given, the labels are what the audit page shows (with the code as a tooltip)::

    from django.utils.translation import gettext_lazy as _

    AUDIT_ACTIONS = {
        "open_incident": _("Opened an incident"),
        "record_callback": _("Recorded a callback"),
    }

    class IncidentsConfig(AppConfig):
        def ready(self) -> None:
            from jingwang.audit.vocabulary import register_actions

            register_actions(AUDIT_ACTIONS)

A code is lower case (``a-z``, digits, ``_``), at most 64 characters, and belongs to one app:
registering a code again with another label is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.functional import Promise

Label = str | Promise

CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_actions: dict[str, Label] = {}


class UnknownAction(LookupError):
    """``record()`` was given an action no app registered."""


def register_actions(actions: Mapping[str, Label]) -> None:
    """Add an app's actions (code → lazily translated label) to the vocabulary."""
    for code, label_ in actions.items():
        if not CODE.match(code):
            raise ImproperlyConfigured(
                f"audit action {code!r}: a code is a-z, digits and _ (at most 64 characters)"
            )
        known = _actions.get(code)
        if known is not None and _msgid(known) != _msgid(label_):
            raise ImproperlyConfigured(
                f"audit action {code!r} is registered twice with different labels "
                f"({_msgid(known)!r}, {_msgid(label_)!r})"
            )
        _actions[code] = label_


def _msgid(label_: Label) -> str:
    with translation.override(None):
        return str(label_)


def is_registered(code: str) -> bool:
    return code in _actions


def check(code: str) -> None:
    """Raise UnknownAction unless ``code`` is registered (called by ``record()``)."""
    if code not in _actions:
        raise UnknownAction(
            f"audit action {code!r} is not registered: add it to AUDIT_ACTIONS in your app's "
            "apps.py (see jingwang/audit/vocabulary.py)"
        )


def label(code: str) -> str:
    """The action's label in the active language; the code itself when no app registers it
    (an event written by an older version of the code)."""
    found = _actions.get(code)
    return code if found is None else str(found)


def registered() -> dict[str, Label]:
    """Every registered action: code → label."""
    return dict(_actions)
