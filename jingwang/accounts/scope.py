"""Who may see what: the station and grid scope of a user. The one place scope is decided.

Every app's ``queries.py`` builds its doors on the two helpers here:

- ``visible(user, rows, perm=..., station=..., grid=...)`` narrows a queryset to the rows the user
  may see: the permission, then the stations, then (for grid workers and volunteers) the grids,
  with an optional third dimension (``also``: rows the user is called to, such as the cases an
  outside member of a mediation body is invited to);
- ``access(user, rows, pk, ...)`` fetches one of them, or records a ``denied`` audit event and
  raises the same 404 for "missing" and "not yours".

``require(user, perm)`` refuses a page the same way. A refused read, write or unmasking is an
audit event with outcome ``denied`` (see ``deny``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from jingwang.accounts.roles import BUREAU_ROLES, GRID_ROLES, STATION_ROLES, has_perm

M = TypeVar("M", bound=models.Model)


def station_ids(user: Any) -> list[int]:
    """Stations whose data the user may see (empty for the 三员 and for unknown roles)."""
    from jingwang.territory.models import Station

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_jingwang_station_ids", None)
    if cached is not None:
        return list(cached)
    found: list[int] = []
    if user.role in BUREAU_ROLES and user.bureau_id:
        found = list(Station.objects.filter(bureau_id=user.bureau_id).values_list("id", flat=True))
    elif (user.role in STATION_ROLES or user.role in GRID_ROLES) and user.station_id:
        found = [user.station_id]
    user._jingwang_station_ids = tuple(found)
    return found


def grid_ids(user: Any) -> set[int] | None:
    """Grids a grid-scoped user may see (their assigned grids and everything below them).

    None means the user is not limited to particular grids within their stations.
    """
    if getattr(user, "role", None) not in GRID_ROLES:
        return None
    return assigned_grids(user)


def assigned_grids(user: Any, roles: tuple[str, ...] | None = None) -> set[int]:
    """The current grids the user is assigned to (in the given assignment roles, or any), and
    the grids below them; cached on the user object for the request (see ``forget``)."""
    from jingwang.people.models import GridAssignment
    from jingwang.territory.models import Grid

    cache = user.__dict__.setdefault("_jingwang_assigned_grids", {})
    if roles not in cache:
        rows = GridAssignment.objects.filter(
            person__user=user, ended_at__isnull=True, grid__version__is_current=True
        )
        if roles is not None:
            rows = rows.filter(role__in=roles)
        cache[roles] = Grid.with_descendants(rows.values_list("grid_id", flat=True))
    found: set[int] = cache[roles]
    return found


def forget(user: Any) -> None:
    """Drop the scope cached on a user object (after their assignments changed)."""
    for name in ("_jingwang_station_ids", "_jingwang_assigned_grids"):
        if hasattr(user, name):
            delattr(user, name)


GridRule = str | Callable[[set[int]], Q] | None


def visible(
    user: Any,
    rows: QuerySet[M],
    *,
    perm: str,
    station: str | None = "station_id",
    grid: GridRule = None,
    also: Q | None = None,
) -> QuerySet[M]:
    """The rows of ``rows`` the user may see.

    ``station`` is the lookup of the row's station id (None: rows of no station, which only
    ``also`` can open). ``grid`` says how a grid-scoped user (grid worker, volunteer) reaches a
    row: the lookup of the row's grid id, or a function of their grid ids giving a ``Q``; without
    it they see none of these rows. ``also`` opens further rows whatever the station and grids
    (a third dimension: the cases an outside member is called to).
    """
    if not has_perm(user, perm):
        return rows.none()
    scope = Q(pk__in=[])
    if station is not None:
        scope = Q(**{f"{station}__in": station_ids(user)})
        limited = grid_ids(user)
        if limited is not None:
            if grid is None:
                scope = Q(pk__in=[])
            elif isinstance(grid, str):
                scope &= Q(**{f"{grid}__in": limited})
            else:
                scope &= grid(limited)
    if also is not None:
        scope |= also
    return rows.filter(scope)


def access(
    user: Any,
    rows: QuerySet[M],
    pk: Any,
    *,
    write: bool = False,
    write_perm: str | None = None,
) -> M:
    """The row ``pk`` of the already scoped ``rows``, or a ``denied`` event and a 404.

    ``write`` asks for the right to change it: ``write_perm`` is then required as well.
    """
    label = rows.model._meta.label_lower
    if write and write_perm is not None and not has_perm(user, write_perm):
        deny(user, label, pk, mode="write")
    found = rows.filter(pk=pk).first() if _is_key(pk) else None
    if found is None:
        deny(user, label, pk, mode="write" if write else "read")
    assert found is not None
    return found


def _is_key(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value < 2**63
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19


def require(user: Any, perm: str) -> None:
    """Refuse with the same 404 a missing page gives: a forbidden page does not exist for you."""
    if not has_perm(user, perm):
        deny(user, "page", "", mode="read", perm=perm)


# ---------------------------------------------------------------------------------------------
# Refusals are audit events (outcome "denied").


@dataclass
class Refusal:
    actor: Any
    object_type: str
    object_id: str
    mode: str
    detail: dict[str, Any]


# Inside a request the events are kept here and written once the response is ready, after
# whatever transaction the refusal happened in has rolled back (ScopeAuditMiddleware).
_pending: ContextVar[list[Refusal] | None] = ContextVar("jingwang_denied", default=None)


def deny(user: Any, object_type: str, object_id: Any, *, mode: str, **detail: Any) -> None:
    """Record that ``user`` was refused ``mode`` (read, write, unmask) of an object; raise 404."""
    refusal = Refusal(user, object_type, str(object_id)[:64], mode, detail)
    pending = _pending.get()
    if pending is not None:
        pending.append(refusal)
    else:
        write_refusals([refusal])
    raise Http404()


def write_refusals(refusals: list[Refusal]) -> None:
    from jingwang.audit.actions import record
    from jingwang.audit.models import AuditEvent

    for refusal in refusals:
        actor = refusal.actor if getattr(refusal.actor, "is_authenticated", False) else None
        with transaction.atomic():
            record(
                actor,
                "access",
                outcome=AuditEvent.Outcome.DENIED,
                station_id=getattr(actor, "station_id", None),
                object_type=refusal.object_type,
                object_id=refusal.object_id,
                detail={"mode": refusal.mode, **refusal.detail},
            )


@contextmanager
def collecting_refusals() -> Iterator[list[Refusal]]:
    """Keep the refusals of a block (a request) to write them at its end."""
    token = _pending.set([])
    try:
        pending = _pending.get()
        assert pending is not None
        yield pending
    finally:
        _pending.reset(token)
