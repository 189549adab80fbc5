from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require, station_ids
from jingwang.accounts.types import AuthedRequest
from jingwang.api import ERRORS, Text
from jingwang.lib.geo import gcj02_to_wgs84
from jingwang.people.queries import coverage_gaps
from jingwang.territory import index
from jingwang.territory.models import Grid
from jingwang.territory.queries import (
    GridLabel,
    access_grid,
    access_station,
    ancestors,
    grids_visible_to,
    stations_visible_to,
)

router = Router(tags=["territory"])

StationKey = Query(None, min_length=1, max_length=64, description="station code or id")
RequiredStationKey = Query(..., min_length=1, max_length=64, description="station code or id")


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


class GridLabelOut(Schema):
    """A grid above one you can see: only its label; ``open`` says whether you may read it."""

    id: int
    code: str
    name: str
    level: str
    open: bool


class GridDetailOut(GridOut):
    ancestors: list[GridLabelOut]
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
    ancestors: list[GridLabelOut]


class GapOut(Schema):
    grid: GridOut
    missing: list[str]


def _labels(chain: list[GridLabel]) -> list[dict[str, object]]:
    return [
        {"id": g.id, "code": g.code, "name": g.name, "level": g.level, "open": g.open}
        for g in chain
    ]


@router.get("/stations", response={200: list[StationOut], **ERRORS})
def stations(request: AuthedRequest) -> list[object]:
    require(request.user, Perm.TERRITORY_VIEW)
    return list(stations_visible_to(request.user))


@router.get("/grids", response={200: list[GridOut], **ERRORS})
def grids(
    request: AuthedRequest,
    station: Text | None = StationKey,
    level: Literal["district", "sector", "block", "cluster"] | None = None,
) -> list[Grid]:
    """Current grids within your scope (at most 5,000), without their shapes."""
    require(request.user, Perm.TERRITORY_VIEW)
    rows = grids_visible_to(request.user).order_by("code")
    if station:
        rows = rows.filter(station=access_station(request.user, station))
    if level:
        rows = rows.filter(level=level)
    return list(rows.defer("geometry_wkt", "map_geojson")[:5000])


@router.get("/grids/{grid_id}", response={200: GridDetailOut, **ERRORS})
def grid(request: AuthedRequest, grid_id: int) -> dict[str, object]:
    found = access_grid(request.user, grid_id)
    children = grids_visible_to(request.user, current=False).filter(parent=found).order_by("code")
    return {
        **GridOut.from_orm(found).dict(),
        "geometry_wkt": found.geometry_wkt,
        "ancestors": _labels(ancestors(request.user, found)),
        "children": list(children.defer("geometry_wkt", "map_geojson")),
    }


@router.get("/locate", response={200: LocateOut, **ERRORS})
def locate(request: AuthedRequest, query: Query[LocateQuery]) -> dict[str, object]:
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
        "ancestors": _labels(ancestors(request.user, found)),
    }


@router.get("/coverage", response={200: list[GapOut], **ERRORS})
def coverage(
    request: AuthedRequest,
    station: Text = RequiredStationKey,
) -> list[dict[str, object]]:
    """Blocks of a station lacking an officer, an auxiliary officer or a grid worker."""
    require(request.user, Perm.TERRITORY_VIEW)
    found = access_station(request.user, station)
    return [
        {"grid": gap.grid, "missing": gap.missing} for gap in coverage_gaps(request.user, found)
    ]
