"""Map layers: GeoJSON features of rows with shapes, as the pages' maps draw them, and the
territory map's layers loaded by level and visible area (docs/architecture.md, "Map layers").

Shapes are drawn from what was stored when they were written (``Shaped.map_geojson``, simplified
to a metre), never simplified per request. The territory map reads a station's grids from
``station_shapes``: per level, simplified once more for the scale that level is seen at (the
grids of a level together, so neighbours keep their common edges), serialized once, with their
bounding boxes; cached in Django's cache and in the process under the station's grid stamp
(current version, number of grids, last grid id), so a new grid version is seen by every
process at its next request.

Point layers: an app registers the records it draws (a ``Placed`` model) with
``register_points(PointLayer(...))``; ``points_in_view`` answers a layer's request for the
visible area: the points one by one when few, else counts per finest grid (drawn at the grid's
representative point).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.http import QueryDict
from django.utils.functional import Promise

from jingwang.territory.models import Community, Grid, Shaped


def feature(row: Shaped, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": row.map_shape, "properties": properties}


def grid_feature(grid: Grid) -> dict[str, Any]:
    return feature(
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


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def map_data(**layers: list[dict[str, Any]]) -> dict[str, Any]:
    """What a page's map reads (json_script): its named layers and the tile server, if any."""
    data: dict[str, Any] = {name: collection(features) for name, features in layers.items()}
    data["tiles"] = settings.MAP_TILE_URL
    return data


# ---------------------------------------------------------------------------------------------
# The territory map: a station's grids per level, by visible area, cached under the grid stamp.

# Tolerance (degrees; 1e-5 is about a metre) per level: a district is seen whole (a pixel is
# tens of metres), a cluster close up.
LEVEL_TOLERANCE = {"district": 2e-4, "sector": 1e-4, "block": 4e-5, "cluster": 1.5e-5}
PRECISION = 1e-5  # coordinates rounded to about a metre
CACHE_SECONDS = 24 * 3600

Stamp = tuple[int, int, int]


@dataclass
class LevelShapes:
    """One level's grids of a station: ids, bounding boxes (n × 4) and GeoJSON feature texts."""

    ids: np.ndarray
    boxes: np.ndarray
    features: list[str]

    def in_view(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of the grids whose bounding box meets ``bbox``."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.int64)
        b = self.boxes
        hit = (
            (b[:, 0] <= bbox[2])
            & (b[:, 2] >= bbox[0])
            & (b[:, 1] <= bbox[3])
            & (b[:, 3] >= bbox[1])
        )
        return np.flatnonzero(hit)


# Coarser shapes when the view is wide: the tolerance (degrees) for a zoom of the web map, about
# half a pixel at latitude 30 (a pixel is ~65 m at zoom 11, ~4 m at zoom 15).
ZOOM_TOLERANCE = {11: 3e-4, 12: 1.5e-4, 13: 7e-5, 14: 3.5e-5}


def tolerance_for(level: str, zoom: int | None) -> float:
    own = LEVEL_TOLERANCE[level]
    if zoom is None or zoom >= 15:
        return own
    return max(own, ZOOM_TOLERANCE[max(11, zoom)])


@dataclass
class StationShapes:
    stamp: Stamp
    levels: dict[str, LevelShapes]
    # The finest grids (those records are placed in): ids, boxes, representative points,
    # codes and names (the bins of point layers).
    leaf_ids: np.ndarray
    leaf_boxes: np.ndarray
    leaf_points: np.ndarray
    leaf_labels: list[tuple[str, str]]
    outline: str  # GeoJSON geometry of the station's grids together
    bounds: tuple[float, float, float, float] | None
    # Each level's rows (properties) and stored shapes, for the coarser versions made on demand.
    sources: dict[str, tuple[list[dict[str, Any]], list[shapely.Geometry]]] = field(
        default_factory=dict, repr=False
    )
    coarse: dict[tuple[str, float], LevelShapes] = field(default_factory=dict, repr=False)
    _leaf_pos: dict[int, int] = field(default_factory=dict, repr=False)

    def level(self, level: str, zoom: int | None = None) -> LevelShapes:
        """The level's shapes as drawn at ``zoom`` (coarser when the view is wide)."""
        tolerance = tolerance_for(level, zoom)
        if tolerance == LEVEL_TOLERANCE[level] or level not in self.sources:
            return self.levels[level]
        key = (level, tolerance)
        found = self.coarse.get(key)
        if found is None:
            with _memo_lock:
                found = self.coarse.get(key)
                if found is None:
                    base = self.levels[level]
                    properties, geometries = self.sources[level]
                    simple = _simplified(geometries, tolerance)
                    found = LevelShapes(
                        base.ids,
                        base.boxes,
                        [_feature_text(g, p) for g, p in zip(simple, properties, strict=True)],
                    )
                    self.coarse[key] = found
        return found

    def leaf_position(self, grid_id: int) -> int | None:
        if not self._leaf_pos:
            self._leaf_pos = {int(g): i for i, g in enumerate(self.leaf_ids.tolist())}
        return self._leaf_pos.get(grid_id)


_memo: dict[int, StationShapes] = {}
_memo_lock = threading.Lock()


def grid_stamp(station_id: int) -> Stamp:
    """Changes whenever the station's current grids do (in this process or another)."""
    found = Grid.objects.filter(station_id=station_id, version__is_current=True).aggregate(
        version=Max("version_id"), count=Count("id"), last=Max("id")
    )
    return (found["version"] or 0, found["count"] or 0, found["last"] or 0)


def station_shapes(station_id: int) -> StationShapes:
    """The station's map shapes for its current grids (built once per grid stamp)."""
    stamp = grid_stamp(station_id)
    memo = _memo.get(station_id)
    if memo is not None and memo.stamp == stamp:
        return memo
    key = f"jingwang:map:{station_id}:{stamp[0]}:{stamp[1]}:{stamp[2]}"
    with _memo_lock:
        memo = _memo.get(station_id)
        if memo is not None and memo.stamp == stamp:
            return memo
        built = cache.get(key)
        if not isinstance(built, StationShapes):
            built = build_shapes(station_id, stamp)
            cache.set(key, built, CACHE_SECONDS)
        _memo[station_id] = built
    return built


def _simplified(shapes: list[shapely.Geometry], tolerance: float) -> list[shapely.Geometry]:
    """The shapes simplified together (shared edges stay shared), each never emptied."""
    if not shapes:
        return []
    try:
        simple = list(shapely.coverage_simplify(np.array(shapes, dtype=object), tolerance))
    except shapely.errors.GEOSException:
        simple = list(shapely.simplify(np.array(shapes, dtype=object), tolerance))
    simple = list(shapely.set_precision(np.array(simple, dtype=object), PRECISION))
    return [s if not s.is_empty else o for s, o in zip(simple, shapes, strict=True)]


def _feature_text(geometry: shapely.Geometry, properties: dict[str, Any]) -> str:
    return (
        '{"type":"Feature","geometry":'
        + shapely.to_geojson(geometry)
        + ',"properties":'
        + json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
        + "}"
    )


def build_shapes(station_id: int, stamp: Stamp) -> StationShapes:
    """Read the station's current grids (their stored map shapes) and prepare every level."""
    rows = list(
        Grid.objects.filter(station_id=station_id, version_id=stamp[0])
        .order_by("code")
        .values_list(
            "id",
            "code",
            "name",
            "level",
            "parent_id",
            "map_geojson",
            "min_lon",
            "min_lat",
            "max_lon",
            "max_lat",
            "population",
            "households",
            "complexity",
        )
    )
    shapes = [shapely.from_geojson(row[5]) if row[5] else shapely.Polygon() for row in rows]
    parents = {row[4] for row in rows}
    levels: dict[str, LevelShapes] = {}
    sources: dict[str, tuple[list[dict[str, Any]], list[shapely.Geometry]]] = {}
    for level, tolerance in LEVEL_TOLERANCE.items():
        members = [i for i, row in enumerate(rows) if row[3] == level]
        properties = [
            {
                "id": rows[i][0],
                "code": rows[i][1],
                "name": rows[i][2],
                "level": level,
                "population": rows[i][10],
                "households": rows[i][11],
                "complexity": round(rows[i][12], 2),
                "url": f"/territory/grids/{rows[i][0]}/",
            }
            for i in members
        ]
        sources[level] = (properties, [shapes[i] for i in members])
        simple = _simplified([shapes[i] for i in members], tolerance)
        features = [_feature_text(g, p) for g, p in zip(simple, properties, strict=True)]
        levels[level] = LevelShapes(
            np.array([rows[i][0] for i in members], dtype=np.int64),
            np.array([rows[i][6:10] for i in members], dtype=np.float64).reshape(-1, 4),
            features,
        )
    leaves = [i for i, row in enumerate(rows) if row[0] not in parents]
    points = shapely.point_on_surface(np.array([shapes[i] for i in leaves], dtype=object))
    top = [shapes[i] for i, row in enumerate(rows) if row[4] is None]
    outline = shapely.Polygon()
    if top:
        outline = shapely.set_precision(
            shapely.simplify(shapely.union_all(top), LEVEL_TOLERANCE["district"]), PRECISION
        )
    boxes = np.array([row[6:10] for row in rows], dtype=np.float64).reshape(-1, 4)
    bounds = None
    if len(rows):
        bounds = (
            float(boxes[:, 0].min()),
            float(boxes[:, 1].min()),
            float(boxes[:, 2].max()),
            float(boxes[:, 3].max()),
        )
    return StationShapes(
        stamp=stamp,
        levels=levels,
        leaf_ids=np.array([rows[i][0] for i in leaves], dtype=np.int64),
        leaf_boxes=boxes[leaves] if leaves else np.zeros((0, 4)),
        leaf_points=np.array(
            [[p.x, p.y] if not p.is_empty else [np.nan, np.nan] for p in points], dtype=np.float64
        ).reshape(-1, 2),
        leaf_labels=[(rows[i][1], rows[i][2]) for i in leaves],
        outline=shapely.to_geojson(outline),
        bounds=bounds,
        sources=sources,
    )


def grids_in_view(
    shapes: StationShapes,
    level: str,
    bbox: tuple[float, float, float, float],
    visible: set[int] | None,
    zoom: int | None = None,
) -> str:
    """The GeoJSON FeatureCollection text of the level's grids meeting ``bbox`` (only the ids in
    ``visible`` unless it is None: the reader sees every grid of the station), as drawn at
    ``zoom`` (coarser when the view is wide)."""
    found = shapes.level(level, zoom)
    positions = found.in_view(bbox)
    if visible is not None:
        positions = np.array(
            [p for p in positions.tolist() if int(found.ids[p]) in visible], dtype=np.int64
        )
    return (
        '{"type":"FeatureCollection","features":['
        + ",".join(found.features[p] for p in positions.tolist())
        + "]}"
    )


def communities_in_view(rows: QuerySet[Community], bbox: tuple[float, float, float, float]) -> str:
    """The communities (already scoped) meeting ``bbox``, from their stored map shapes."""
    found = rows.filter(
        min_lon__lte=bbox[2], max_lon__gte=bbox[0], min_lat__lte=bbox[3], max_lat__gte=bbox[1]
    ).values_list("code", "name", "kind", "map_geojson")
    features = [
        '{"type":"Feature","geometry":'
        + shape
        + ',"properties":'
        + json.dumps({"code": code, "name": name, "kind": kind}, ensure_ascii=False)
        + "}"
        for code, name, kind, shape in found
        if shape
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


# ---------------------------------------------------------------------------------------------
# Point layers.

# Above this many records in view, a layer is drawn as counts per finest grid.
POINTS_CAP = 500


@dataclass(frozen=True)
class PointLayer:
    """Records with a point (a ``Placed`` model) drawn over the grids of the territory map.

    ``rows(user)`` is the app's scoped queryset (its ``*_visible_to``); ``describe(row)`` gives
    what a point shows (``label``, ``kind``, ``url``: a popup links to it); ``filter(rows,
    request.GET)`` narrows it by the page's parameters; ``create_url`` (a URL name) is offered
    as "New … here" (``?lon=..&lat=..``) to users with ``create_perm``.
    """

    name: str
    label: str | Promise
    perm: str
    rows: Callable[[Any], QuerySet[Any]]
    describe: Callable[[Any], dict[str, Any]]
    select_related: tuple[str, ...] = ()
    filter: Callable[[QuerySet[Any], QueryDict], QuerySet[Any]] | None = None
    create_url: str | None = None
    create_perm: str | None = None
    create_label: str | Promise | None = None  # "New incident here"; else "New: <label>"
    color: str = "#d62728"


_point_layers: dict[str, PointLayer] = {}


def register_points(layer: PointLayer) -> None:
    """Add (or replace, by name) a point layer; called from an app's ``AppConfig.ready()``."""
    _point_layers[layer.name] = layer


def unregister_points(name: str) -> None:
    _point_layers.pop(name, None)


def point_layer(name: str) -> PointLayer | None:
    return _point_layers.get(name)


def point_layers() -> list[PointLayer]:
    return list(_point_layers.values())


def points_in_view(
    layer: PointLayer,
    user: Any,
    shapes: StationShapes,
    bbox: tuple[float, float, float, float],
    visible: set[int] | None,
    params: QueryDict,
    cap: int = POINTS_CAP,
) -> dict[str, Any]:
    """The layer's records in view: ``{"mode": "points"|"bins", "total", "features"}``.

    Counts are taken per finest grid meeting the view (the records' ``grid``); up to ``cap``
    records are drawn one by one (those inside the view), more as one count per grid at its
    representative point.
    """
    positions = (
        np.flatnonzero(
            (shapes.leaf_boxes[:, 0] <= bbox[2])
            & (shapes.leaf_boxes[:, 2] >= bbox[0])
            & (shapes.leaf_boxes[:, 1] <= bbox[3])
            & (shapes.leaf_boxes[:, 3] >= bbox[1])
        )
        if len(shapes.leaf_ids)
        else np.zeros(0, dtype=np.int64)
    )
    ids = [int(shapes.leaf_ids[p]) for p in positions.tolist()]
    if visible is not None:
        ids = [i for i in ids if i in visible]
    if not ids:
        return {"mode": "points", "total": 0, "features": []}
    rows = layer.rows(user)
    if layer.filter is not None:
        rows = layer.filter(rows, params)
    rows = rows.filter(grid_id__in=ids)
    counts = dict(rows.order_by().values_list("grid_id").annotate(n=Count("id")))
    total = sum(counts.values())
    if total <= cap:
        found = rows.filter(
            lon__gte=bbox[0], lon__lte=bbox[2], lat__gte=bbox[1], lat__lte=bbox[3]
        ).select_related(*layer.select_related)[:cap]
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                "properties": {
                    key: str(value) if isinstance(value, Promise) else value
                    for key, value in layer.describe(row).items()
                },
            }
            for row in found
        ]
        return {"mode": "points", "total": total, "features": features}
    features = []
    for grid_id, n in counts.items():
        position = shapes.leaf_position(int(grid_id))
        if position is None:
            continue
        lon, lat = shapes.leaf_points[position].tolist()
        if lon != lon:  # NaN: a grid without a shape
            continue
        code, name = shapes.leaf_labels[position]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {"count": n, "code": code, "name": name},
            }
        )
    return {"mode": "bins", "total": total, "features": features}
