"""Field drafts: what was typed into a form survives a dropped network until the server saved it.

The browser half is ``static/jingwang/drafts.js`` (loaded by base.html on every page). A form
opts in with ``data-keep-draft="<key>"``; while the user types, the fields they changed are kept
in the browser's localStorage under that key (per user), with the server time of the page they
were typed on, and restored when the form is opened again. Fields marked ``data-personal`` (ID
and phone numbers), password, hidden and file fields are never kept.

A draft is forgotten only once the server confirmed the save: the view calls
``saved(request, key)`` after its action succeeded, and from then on every page of the session
carries ``<meta name="jingwang-draft-saved" content="<key>" data-saved-at="<server time>">``.
drafts.js removes a draft of that key typed on a page older than the save; a draft typed later
(the next person being added) is kept. So the marker needs no particular page to arrive: if the
answer to the save is lost, whichever page loads next clears the draft. A submit lost to the
network never reaches ``saved``, so its draft stays.

Times are the server's (milliseconds), on both sides of the comparison, so the phone's clock
does not matter. Markers live as long as the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

SESSION_KEY = "jingwang_saved_drafts"  # {form key: server time of its last save, ms}
MAX_KEPT = 50  # the forms saved most recently in a session


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def saved(request: HttpRequest, key: str) -> None:
    """Tell the browser to forget the draft of the form ``data-keep-draft="<key>"``.

    Call it once the action that saved the form succeeded, before answering (usually a
    redirect): every page of the session then carries the marker.
    """
    kept = {k: v for k, v in (request.session.get(SESSION_KEY) or {}).items() if k != key}
    kept[key] = now_ms()
    request.session[SESSION_KEY] = dict(list(kept.items())[-MAX_KEPT:])


def markers(request: HttpRequest) -> list[tuple[str, int]]:
    """The (form key, server time of its save) of drafts saved in this session."""
    session = getattr(request, "session", None)
    kept: Any = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(kept, dict):
        return []
    return [(str(key), int(at)) for key, at in kept.items()]


def context(request: HttpRequest) -> dict[str, Callable[[], Any]]:
    """Template context for base.html: ``draft_clock`` (the server time of this page) and
    ``saved_drafts`` (the markers); both computed only when a full page renders them."""
    return {"draft_clock": now_ms, "saved_drafts": lambda: markers(request)}
