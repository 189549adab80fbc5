"""The doors of callbacks, rectifications and a station's callback settings.

Built on ``incidents.queries`` (the incidents a user sees). Two further rules:

- an officer-only callback (``rules.officer_only``) does not exist for a user who is not an
  officer: not in their queue, and opening it is a 404 with a ``denied`` event, like any other
  row outside their scope;
- rectifications are the managers' (``rectifications.manage``: the station chief, the bureau
  admin); the others see their events on the incident's timeline.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from jingwang.accounts import scope
from jingwang.accounts.roles import Perm, Role, has_perm
from jingwang.incidents import rules
from jingwang.incidents.models import Callback, Rectification, StationCallbackSettings
from jingwang.incidents.queries import (
    callbacks_visible_to,
    rectifications_visible_to,
)

# The roles whose queue is their own grids' (the others see their whole scope).
GRID_QUEUE_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY})
QUEUE_ASSIGNMENTS = ("community_officer", "auxiliary")


def workable_callbacks(user: Any) -> QuerySet[Callback]:
    """The callbacks a user may open and work: within scope, ``callbacks.work``, and the
    officer-only ones only for officers."""
    if not has_perm(user, Perm.CALLBACKS_WORK):
        return Callback.objects.none()
    rows = callbacks_visible_to(user)
    if getattr(user, "role", None) not in rules.OFFICER_ROLES:
        rows = rows.filter(officer_only=False)
    return rows


def access_callback(user: Any, callback_id: Any, *, write: bool = False) -> Callback:
    rows = workable_callbacks(user).select_related(
        "incident", "incident__category", "incident__category__parent", "incident__grid", "station"
    )
    return scope.access(user, rows, callback_id, write=write, write_perm=Perm.CALLBACKS_WORK)


def callback_queue(user: Any, today: date, *, everyone: bool = False) -> QuerySet[Callback]:
    """ "My callbacks": due today or overdue. An officer's and an auxiliary's are those of the
    grids they are assigned to (and the grids below); ``everyone`` widens it to their whole
    scope. A chief's and a bureau admin's are their stations'."""
    rows = workable_callbacks(user).filter(status=Callback.Status.DUE, due_on__lte=today)
    if not everyone and getattr(user, "role", None) in GRID_QUEUE_ROLES:
        rows = rows.filter(incident__grid_id__in=scope.assigned_grids(user, QUEUE_ASSIGNMENTS))
    return rows.select_related("incident", "incident__category", "incident__grid").order_by(
        "due_on", "id"
    )


def managed_rectifications(user: Any) -> QuerySet[Rectification]:
    if not has_perm(user, Perm.RECTIFICATIONS_MANAGE):
        return Rectification.objects.none()
    return rectifications_visible_to(user)


def access_rectification(user: Any, rectification_id: Any, *, write: bool = False) -> Rectification:
    if not has_perm(user, Perm.RECTIFICATIONS_MANAGE):
        scope.deny(
            user, "incidents.rectification", rectification_id, mode="write" if write else "read"
        )
    rows = managed_rectifications(user).select_related(
        "incident", "incident__category", "callback", "owner", "station"
    )
    return scope.access(
        user, rows, rectification_id, write=write, write_perm=Perm.RECTIFICATIONS_MANAGE
    )


def overdue(rows: QuerySet[Rectification], today: date) -> QuerySet[Rectification]:
    return rows.filter(status=Rectification.Status.OPEN, due_on__lt=today)


def callback_settings_of(station: Any) -> StationCallbackSettings:
    """A station's callback settings (an unsaved row of defaults, version 0, when never saved).
    The caller has already let the user configure ``station``."""
    found = StationCallbackSettings.objects.filter(station=station).first()
    if found is not None:
        return found
    return StationCallbackSettings(station=station, version=0)


# ---------------------------------------------------------------------------------------------
# Home page panels (core/home.py)


def callbacks_panel(user: Any) -> dict[str, Any] | None:
    """ "Callbacks due": the user's queue today (due today, overdue). Hidden when empty."""
    today = timezone.localdate()
    counts = callback_queue(user, today).aggregate(
        due=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today))
    )
    if not counts["due"]:
        return None
    return {"due": counts["due"], "overdue": counts["overdue"]}


def rectifications_panel(user: Any) -> dict[str, Any] | None:
    """Open and overdue rectifications, the nearest deadlines first. Always shown to their
    managers (a chief is glad to read "none open")."""
    today = timezone.localdate()
    rows = managed_rectifications(user).filter(status=Rectification.Status.OPEN)
    counts = rows.aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)))
    first = list(rows.select_related("incident").order_by("due_on", "id")[:5])
    return {"open": counts["open"], "overdue": counts["overdue"], "first": first, "today": today}
