"""Who may see what: the station and grid scope of a user. The one place scope is decided."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from jingwang.accounts.roles import BUREAU_ROLES, GRID_ROLES, STATION_ROLES, has_perm


def station_ids(user: Any) -> list[int]:
    """Stations whose data the user may see (empty for the 三员 and for unknown roles)."""
    from jingwang.territory.models import Station

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if user.role in BUREAU_ROLES and user.bureau_id:
        return list(Station.objects.filter(bureau_id=user.bureau_id).values_list("id", flat=True))
    if (user.role in STATION_ROLES or user.role in GRID_ROLES) and user.station_id:
        return [user.station_id]
    return []


def grid_ids(user: Any) -> set[int] | None:
    """Grids a grid-scoped user may see (their assigned grids and everything below them).

    None means the user is not limited to particular grids within their stations.
    """
    from jingwang.people.models import GridAssignment
    from jingwang.territory.models import Grid

    if user.role not in GRID_ROLES:
        return None
    cached = getattr(user, "_jingwang_grid_ids", None)
    if cached is not None:
        return cached
    frontier = set(
        GridAssignment.objects.filter(
            person__user=user, ended_at__isnull=True, grid__version__is_current=True
        ).values_list("grid_id", flat=True)
    )
    seen: set[int] = set()
    while frontier:
        seen |= frontier
        frontier = (
            set(Grid.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - seen
        )
    user._jingwang_grid_ids = seen
    return seen


def require(user: Any, perm: str) -> None:
    """Refuse with the same 404 a missing page gives: a forbidden page does not exist for you."""
    if not has_perm(user, perm):
        raise Http404()
