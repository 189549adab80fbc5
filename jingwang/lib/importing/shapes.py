"""Shapes and points of imported rows: coordinate systems, reading, checking, vertex limits."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape as geojson_shape

from jingwang.lib.geo import gcj02_to_wgs84, geometry_gcj02_to_wgs84
from jingwang.lib.importing.fields import Report, to_float
from jingwang.lib.importing.problems import Notice, Problem

WGS84 = "wgs84"
GCJ02 = "gcj02"
CRS_CHOICES = (WGS84, GCJ02)

GEOJSON_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}

# Declared CRS names, compared with everything but letters and digits removed, upper-cased.
# CGCS2000 (EPSG:4490) differs from WGS-84 by centimetres: it is read as WGS-84, with a notice.
_CRS_NAMES = {
    "GCJ02": GCJ02,
    "WGS84": WGS84,
    "EPSG4326": WGS84,
    "CRS84": WGS84,
    "OGC13CRS84": WGS84,
    "URNOGCDEFCRSOGC13CRS84": WGS84,
    "URNOGCDEFCRSEPSG4326": WGS84,
    "EPSG4490": WGS84,
    "CGCS2000": WGS84,
    "URNOGCDEFCRSEPSG4490": WGS84,
}
_CGCS2000 = {"EPSG4490", "CGCS2000", "URNOGCDEFCRSEPSG4490"}

# GEOS's reasons for an invalid shape → our codes (the message for each is translated).
GEOS_REASONS = {
    "Self-intersection": "self_intersection",
    "Ring Self-intersection": "ring_self_intersection",
    "Hole lies outside shell": "hole_outside_shell",
    "Holes are nested": "nested_holes",
    "Interior is disconnected": "interior_disconnected",
    "Nested shells": "nested_shells",
    "Duplicate Rings": "duplicate_rings",
    "Too few points in geometry component": "too_few_points",
    "Too few distinct points in geometry component": "too_few_points",
    "Invalid Coordinate": "invalid_coordinate",
    "Ring is not closed": "ring_not_closed",
}
_REASON = re.compile(r"^(?P<reason>[^\[]+)\[(?P<x>\S+) (?P<y>[^\]\s]+)")


@dataclass(frozen=True)
class Shape:
    """The shape or point of each row.

    In a GeoJSON file it is each feature's geometry. In a CSV or XLSX file it is a WKT column
    (one of the ``wkt`` spellings; none: not offered), or, when ``types`` allows a Point,
    longitude and latitude columns. ``name`` is the key of the shape among a row's values and
    the field named in GeoJSON problems.
    """

    types: tuple[str, ...] = ("Polygon", "MultiPolygon")
    required: bool = True
    name: str = "geometry"
    wkt: tuple[str, ...] = ("wkt", "几何")
    lon: tuple[str, ...] = ("lon", "lng", "longitude", "经度")
    lat: tuple[str, ...] = ("lat", "latitude", "纬度")

    @property
    def points(self) -> bool:
        return "Point" in self.types


# ---------------------------------------------------------------------------------------------
# Coordinate systems


def parse_crs_name(name: str) -> str | None:
    """``wgs84`` or ``gcj02`` for a CRS name we know in any usual spelling, else None."""
    return _CRS_NAMES.get(_crs_key(name))


def _crs_key(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def chosen_crs(crs: str | None, problems: list[Problem]) -> str | None:
    """The system the person chose (None/"auto": as the file says)."""
    if crs is None or crs.strip().lower() in ("", "auto"):
        return None
    parsed = parse_crs_name(crs)
    if parsed is None:
        problems.append(Problem("unknown_crs", params={"crs": crs[:100]}))
    return parsed


def declared_crs(crs: Any, problems: list[Problem], notices: list[Notice]) -> str | None:
    """The system a GeoJSON file declares in its (pre-RFC 7946) ``crs`` member."""
    if crs is None:
        return None
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if not isinstance(name, str):
        problems.append(
            Problem("unknown_crs", params={"crs": json.dumps(crs, ensure_ascii=False)[:100]})
        )
        return None
    parsed = parse_crs_name(name)
    if parsed is None:
        problems.append(Problem("unknown_crs", params={"crs": name[:100]}))
    elif _crs_key(name) in _CGCS2000:
        notices.append(Notice("cgcs2000_as_wgs84"))
    return parsed


def settle_crs(
    chosen: str | None, declared: str | None, problems: list[Problem], notices: list[Notice]
) -> str:
    if chosen and declared and chosen != declared:
        problems.append(Problem("crs_conflict", params={"declared": declared, "chosen": chosen}))
    crs = chosen or declared or WGS84
    if crs == GCJ02:
        notices.append(Notice("converted_from_gcj02"))
    return crs


# ---------------------------------------------------------------------------------------------
# Reading


def from_geojson(geometry: Any, max_vertices: int, problem: Report) -> shapely.Geometry | None:
    """A GeoJSON geometry object → shape; None after reporting why not."""
    geometry_type = geometry.get("type") if isinstance(geometry, dict) else None
    if not isinstance(geometry_type, str) or geometry_type not in GEOJSON_TYPES:
        problem("geometry_unparseable")
        return None
    found = count_positions(geometry)
    if found > max_vertices:
        problem("too_many_vertices", limit=max_vertices, found=found)
        return None
    try:
        return geojson_shape(geometry)
    except Exception:
        # shapely raises ValueError, TypeError, KeyError, IndexError, … on malformed
        # coordinates; whichever it is, the shape cannot be read.
        problem("geometry_unparseable")
        return None


def from_wkt(text: Any, max_vertices: int, problem: Report) -> shapely.Geometry | None:
    if not isinstance(text, str):
        problem("geometry_unparseable")
        return None
    # In WKT every coordinate but the first follows a comma: counted before parsing, so a
    # shape of millions of vertices is refused without building it.
    found = text.count(",") + 1
    if found > max_vertices:
        problem("too_many_vertices", limit=max_vertices, found=found)
        return None
    try:
        with np.errstate(all="ignore"):  # NaN in the text: reported by check(), not warned about
            return shapely.from_wkt(text)
    except shapely.errors.GEOSException:
        problem("geometry_unparseable")
        return None


def lon_lat(
    lon: Any, lat: Any, labels: tuple[str, str], problem: Report
) -> tuple[float, float] | None:
    """A point's (lon, lat) from two values; ``problem(code, label, **params)`` names the column.

    A pair, not a shape: points are checked as plain numbers (``check_point``) and made into
    shapes all at once, which is what makes a million of them quick to read.
    """
    coordinates = []
    for value, label in ((lon, labels[0]), (lat, labels[1])):
        if value is None:
            problem("required", label)
            continue
        number = to_float(value)
        if number is None:
            problem("not_a_number", label, value=str(value)[:40])
        else:
            coordinates.append(number)
    return (coordinates[0], coordinates[1]) if len(coordinates) == 2 else None


def count_positions(geometry: dict[str, Any]) -> int:
    """Positions in a GeoJSON geometry, without building it: lists of positions count by their
    length, so a ring of a million positions costs one step. Iterative: nesting may be deep."""
    count = 0
    stack: list[Any] = [geometry]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.append(item.get("coordinates", item.get("geometries")))
        elif isinstance(item, list) and item:
            first = item[0]
            if not isinstance(first, list | dict):
                count += 1  # a position
            elif first and isinstance(first, list) and not isinstance(first[0], list | dict):
                count += len(item)  # a list of positions
            else:
                stack.extend(item)
    return count


# ---------------------------------------------------------------------------------------------
# Checking


def check(
    geometry: shapely.Geometry, shape: Shape, crs: str, problem: Report
) -> shapely.Geometry | None:
    """The shape in WGS-84 if it is of an accepted type, in range and valid; else None."""
    if geometry.geom_type not in shape.types:
        problem("geometry_wrong_type", found=geometry.geom_type, expected=", ".join(shape.types))
        return None
    if geometry.is_empty:
        problem("geometry_empty")
        return None
    geometry = shapely.force_2d(geometry)
    coordinates = shapely.get_coordinates(geometry)
    finite = np.isfinite(coordinates).all(axis=1)
    inside = (
        finite
        & (np.abs(np.where(finite, coordinates[:, 0], 0)) <= 180)
        & (np.abs(np.where(finite, coordinates[:, 1], 0)) <= 90)
    )
    if not inside.all():
        lon, lat = coordinates[int(np.argmin(inside))]
        problem("coordinates_out_of_range", lon=coordinate_text(lon), lat=coordinate_text(lat))
        return None
    if geometry.geom_type != "Point":
        # Checked on the coordinates as written in the file, so the point named is one the
        # user can find.
        reason = shapely.is_valid_reason(geometry)
        if reason != "Valid Geometry":
            match = _REASON.match(reason)
            text = match.group("reason").strip() if match else reason
            params = {"reason": GEOS_REASONS.get(text, ""), "reason_text": text}
            if match:
                params |= {
                    "lon": coordinate_text(match.group("x")),
                    "lat": coordinate_text(match.group("y")),
                }
            problem("geometry_invalid", **params)
            return None
    if crs == GCJ02:
        geometry = geometry_gcj02_to_wgs84(geometry)
    return geometry


def check_point(
    point: tuple[float, float], shape: Shape, crs: str, problem: Report
) -> tuple[float, float] | None:
    """``check`` for a (lon, lat) pair, in WGS-84 if it is accepted and in range."""
    if not shape.points:
        problem("geometry_wrong_type", found="Point", expected=", ".join(shape.types))
        return None
    lon, lat = point
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        problem("coordinates_out_of_range", lon=coordinate_text(lon), lat=coordinate_text(lat))
        return None
    return gcj02_to_wgs84(lon, lat) if crs == GCJ02 else point


def coordinate_text(value: Any) -> str:
    """A coordinate for a message: at most 7 decimals (about 1 cm), no trailing zeros."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    return f"{number:.7f}".rstrip("0").rstrip(".")
