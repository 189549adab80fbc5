from __future__ import annotations

from typing import Any

import shapely
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.people.queries import open_assignments
from jingwang.territory.models import Grid
from jingwang.territory.queries import (
    access_grid,
    access_station,
    ancestors,
    communities_visible_to,
    grids_visible_to,
    stations_visible_to,
)

LEVELS = [level for level, _label in Grid.Level.choices]


def _feature(row: Any, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(row.geometry),
        "properties": properties,
    }


def grid_feature(grid: Grid) -> dict[str, Any]:
    return _feature(
        grid,
        id=grid.id,
        code=grid.code,
        name=grid.name,
        level=grid.level,
        level_label=str(grid.get_level_display()),
        population=grid.population,
        households=grid.households,
        complexity=round(grid.complexity, 2),
        url=f"/territory/grids/{grid.id}/",
    )


def chosen_station(request: HttpRequest) -> Any:
    stations = stations_visible_to(request.user)
    code = request.GET.get("station")
    if code:
        return access_station(request.user, code), stations
    return stations.first(), stations


def map_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    level = request.GET.get("level", "block")
    if level not in LEVELS:
        level = "block"
    grids = grids_visible_to(request.user).filter(station=station, level=level) if station else []
    communities = communities_visible_to(request.user).filter(station=station) if station else []
    data = {
        "grids": {"type": "FeatureCollection", "features": [grid_feature(g) for g in grids]},
        "communities": {
            "type": "FeatureCollection",
            "features": [_feature(c, code=c.code, name=c.name, kind=c.kind) for c in communities],
        },
        "tiles": settings.MAP_TILE_URL,
        "gaps": [],
    }
    context = {
        "station": station,
        "stations": stations,
        "level": level,
        "levels": Grid.Level.choices,
        "map_data": data,
        "grid_count": len(data["grids"]["features"]),
    }
    return render(request, "territory/map.html", context)


def grids_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    grids = grids_visible_to(request.user).select_related("parent", "community")
    if station is not None:
        grids = grids.filter(station=station)
    level = request.GET.get("level", "")
    if level in LEVELS:
        grids = grids.filter(level=level)
    q = request.GET.get("q", "").strip()
    if q:
        grids = grids.filter(Q(code__icontains=q) | Q(name__icontains=q))
    grids = grids.annotate(
        people=Count("assignments", filter=Q(assignments__ended_at__isnull=True))
    ).order_by("code")
    page = Paginator(grids, 50).get_page(request.GET.get("page"))
    context = {
        "station": station,
        "stations": stations,
        "page": page,
        "level": level,
        "levels": Grid.Level.choices,
        "q": q,
    }
    return render(request, "territory/grids.html", context)


def grid_view(request: HttpRequest, grid_id: int) -> HttpResponse:
    grid = access_grid(request.user, grid_id)
    children = grids_visible_to(request.user, current=False).filter(parent=grid).order_by("code")
    chain = ancestors(grid)
    visible_ids = set(grids_visible_to(request.user, current=False).values_list("id", flat=True))
    assignments = open_assignments(Grid.objects.filter(id__in=[grid.id, *[g.id for g in chain]]))
    data = {
        "grids": {"type": "FeatureCollection", "features": [grid_feature(grid)]},
        "children": {
            "type": "FeatureCollection",
            "features": [grid_feature(child) for child in children],
        },
        "tiles": settings.MAP_TILE_URL,
    }
    context = {
        "grid": grid,
        "ancestors": [(g, g.id in visible_ids) for g in chain],
        "children": children,
        "own_assignments": [a for a in assignments if a.grid_id == grid.id],
        "inherited_assignments": [a for a in assignments if a.grid_id != grid.id],
        "map_data": data,
        "can_manage": has_perm(request.user, Perm.PEOPLE_MANAGE),
    }
    return render(request, "territory/grid.html", context)
