"""Geography helpers: areas on the ellipsoid, GCJ-02 → WGS-84, shape validation. Django-free."""

from __future__ import annotations

import math
from collections.abc import Iterable

import shapely
from pyproj import Geod

_GEOD = Geod(ellps="WGS84")

# China's lon/lat window; GCJ-02 offsets apply only inside it.
CHINA_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)


def area_km2(geometry: shapely.Geometry) -> float:
    if geometry.is_empty or geometry.geom_type not in {"Polygon", "MultiPolygon"}:
        return 0.0
    area, _ = _GEOD.geometry_area_perimeter(geometry)
    return abs(area) / 1e6


def _in_china(lon: float, lat: float) -> bool:
    return CHINA_BOUNDS[0] <= lon <= CHINA_BOUNDS[2] and CHINA_BOUNDS[1] <= lat <= CHINA_BOUNDS[3]


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


_A = 6378245.0  # the Krasovsky ellipsoid GCJ-02 is defined on
_EE = 0.00669342162296594323


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if not _in_china(lon, lat):
        return lon, lat
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert the GCJ-02 offset by fixed-point iteration (error well under 1 cm)."""
    if not _in_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(10):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < 1e-10 and abs(dlat) < 1e-10:
            break
    return wlon, wlat


def geometry_gcj02_to_wgs84(geometry: shapely.Geometry) -> shapely.Geometry:
    def convert(coords: Iterable[Iterable[float]]) -> list[tuple[float, float]]:
        return [gcj02_to_wgs84(float(x), float(y)) for x, y in coords]

    return shapely.transform(geometry, convert)


# Shapes drawn on a map are simplified to about a metre and rounded to 6 decimals (10 cm): the
# page stays light on a village phone connection and the drawing does not change. Computed once
# when a shape is written (``map_shape``), never per request.
MAP_TOLERANCE = 0.00001
MAP_GRID = 0.000001


def map_shape(geometry: shapely.Geometry) -> str:
    """The GeoJSON text of ``geometry`` as maps draw it (simplified, rounded)."""
    simple = shapely.set_precision(shapely.simplify(geometry, MAP_TOLERANCE), MAP_GRID)
    return shapely.to_geojson(simple if not simple.is_empty else geometry)
