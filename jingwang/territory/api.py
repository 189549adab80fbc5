from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require, station_ids
from jingwang.lib.geo import gcj02_to_wgs84
from jingwang.people.queries import coverage_gaps
from jingwang.territory import index
from jingwang.territory.models import Grid
from jingwang.territory.queries import (
    access_grid,
    access_station,
    ancestors,
    grids_visible_to,
    stations_visible_to,
)

router = Router(tags=["territory"])


class StationOut(Schema):
    id: int
    code: str
    name: str


class GridOut(Schema):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    station_id: int
    population: int
    households: int
    complexity: float
    area_km2: float


class GridDetailOut(GridOut):
    ancestors: list[GridOut]
    children: list[GridOut]
    geometry_wkt: str


class LocateQuery(Schema):
    lon: float = Field(..., ge=-180, le=180, description="longitude")
    lat: float = Field(..., ge=-90, le=90, description="latitude")
    crs: Literal["wgs84", "gcj02"] = "wgs84"


class LocateOut(Schema):
    found: bool
    message: str
    lon: float
    lat: float
    grid: GridOut | None
    ancestors: list[GridOut]


class GapOut(Schema):
    grid: GridOut
    missing: list[str]


@router.get("/stations", response=list[StationOut])
def stations(request: HttpRequest) -> list[object]:
    require(request.user, Perm.TERRITORY_VIEW)
    return list(stations_visible_to(request.user))


@router.get("/grids", response=list[GridOut])
def grids(
    request: HttpRequest,
    station: str | None = None,
    level: Literal["district", "sector", "block", "cluster"] | None = None,
) -> list[Grid]:
    require(request.user, Perm.TERRITORY_VIEW)
    rows = grids_visible_to(request.user).order_by("code")
    if station:
        rows = rows.filter(station=access_station(request.user, station))
    if level:
        rows = rows.filter(level=level)
    return list(rows.defer("geometry_wkt")[:5000])


@router.get("/grids/{grid_id}", response=GridDetailOut)
def grid(request: HttpRequest, grid_id: int) -> dict[str, object]:
    found = access_grid(request.user, grid_id)
    children = grids_visible_to(request.user, current=False).filter(parent=found).order_by("code")
    return {
        **GridOut.from_orm(found).dict(),
        "geometry_wkt": found.geometry_wkt,
        "ancestors": ancestors(found),
        "children": list(children),
    }


@router.get("/locate", response=LocateOut)
def locate(request: HttpRequest, query: Query[LocateQuery]) -> dict[str, object]:
    """The finest current grid containing a point (WGS-84 by default; crs=gcj02 converts).

    A point on a boundary shared by several grids goes to the grid with the smallest code.
    """
    require(request.user, Perm.TERRITORY_VIEW)
    lon, lat = (
        (query.lon, query.lat) if query.crs == "wgs84" else gcj02_to_wgs84(query.lon, query.lat)
    )
    found = index.locate(station_ids(request.user), lon, lat)
    if found is not None and not grids_visible_to(request.user).filter(id=found.id).exists():
        found = None
    if found is None:
        return {
            "found": False,
            "message": _("The point lies outside every grid you can see."),
            "lon": lon,
            "lat": lat,
            "grid": None,
            "ancestors": [],
        }
    return {
        "found": True,
        "message": _("The point lies in grid %(code)s.") % {"code": found.code},
        "lon": lon,
        "lat": lat,
        "grid": found,
        "ancestors": ancestors(found),
    }


@router.get("/coverage", response=list[GapOut])
def coverage(request: HttpRequest, station: str) -> list[dict[str, object]]:
    require(request.user, Perm.TERRITORY_VIEW)
    found = access_station(request.user, station)
    return [
        {"grid": gap.grid, "missing": gap.missing} for gap in coverage_gaps(request.user, found)
    ]
