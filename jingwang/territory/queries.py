"""Reads of the territory, always within the user's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import grid_ids, station_ids
from jingwang.territory.models import BaseUnit, Community, Grid, Station


def stations_visible_to(user: Any) -> QuerySet[Station]:
    if not has_perm(user, Perm.TERRITORY_VIEW):
        return Station.objects.none()
    return Station.objects.filter(id__in=station_ids(user)).select_related("bureau")


def grids_visible_to(user: Any, *, current: bool = True) -> QuerySet[Grid]:
    """Grids of the user's stations (of the current version unless asked otherwise)."""
    if not has_perm(user, Perm.TERRITORY_VIEW):
        return Grid.objects.none()
    grids = Grid.objects.filter(station_id__in=station_ids(user))
    if current:
        grids = grids.filter(version__is_current=True)
    limited = grid_ids(user)
    if limited is not None:
        grids = grids.filter(id__in=limited)
    return grids


def communities_visible_to(user: Any) -> QuerySet[Community]:
    if not has_perm(user, Perm.TERRITORY_VIEW):
        return Community.objects.none()
    communities = Community.objects.filter(station_id__in=station_ids(user))
    limited = grid_ids(user)
    if limited is not None:
        communities = communities.filter(grids__id__in=limited).distinct()
    return communities


def base_units_visible_to(user: Any) -> QuerySet[BaseUnit]:
    if not has_perm(user, Perm.TERRITORY_VIEW) or grid_ids(user) is not None:
        return BaseUnit.objects.none()
    return BaseUnit.objects.filter(station_id__in=station_ids(user))


def access_station(
    user: Any, station_id_or_code: int | str, *, perm: str = Perm.TERRITORY_VIEW
) -> Station:
    """One station within scope; 404 alike for missing and not yours."""
    if not has_perm(user, perm):
        raise Http404()
    stations = Station.objects.filter(id__in=station_ids(user))
    key = str(station_id_or_code)
    station = stations.filter(code=key).first() or (
        stations.filter(id=int(key)).first() if key.isdigit() else None
    )
    if station is None:
        raise Http404()
    return station


def access_grid(user: Any, grid_id: int) -> Grid:
    """One grid within scope (any version); 404 alike for missing and not yours."""
    grid = (
        grids_visible_to(user, current=False)
        .select_related("parent", "version", "community", "station")
        .filter(id=grid_id)
        .first()
    )
    if grid is None:
        raise Http404()
    return grid


def ancestors(grid: Grid) -> list[Grid]:
    chain = []
    node = grid.parent
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))
