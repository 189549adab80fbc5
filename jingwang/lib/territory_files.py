"""Reading territory files (GeoJSON, CSV) into plain rows and a list of problems. Django-free.

Every problem carries a code and its parameters, never a sentence: ``jingwang.territory.actions``
turns codes into messages in the user's language. ``docs/data-formats.md`` documents the formats,
the fields and every code.

Rows are numbered as a person sees them: feature 1, 2, … in a GeoJSON file; line numbers in a CSV
file, the header being line 1. Validation collects every problem of every row; it never stops at
the first.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from jingwang.lib.geo import geometry_gcj02_to_wgs84

COMMUNITY = "community"
BASE_UNIT = "base-unit"
KINDS = (COMMUNITY, BASE_UNIT)

WGS84 = "wgs84"
GCJ02 = "gcj02"
CRS_CHOICES = (WGS84, GCJ02)

GEOJSON = "geojson"
CSV = "csv"
EXTENSIONS = {".geojson": GEOJSON, ".json": GEOJSON, ".csv": CSV}

CODE_MAX = 32
NAME_MAX = 100
# PositiveIntegerField holds up to 2**31 - 1 on every database Django supports.
INT_MAX = 2**31 - 1
COMPLEXITY_MAX = 1e6

# Accepted spellings → stored value. Keys are compared after strip() and lower().
COMMUNITY_KIND_VALUES = {
    "village": "village",
    "村": "village",
    "行政村": "village",
    "urban": "urban",
    "社区": "urban",
    "城市社区": "urban",
}
BASE_UNIT_KIND_VALUES = {
    "urban": "urban",
    "城镇": "urban",
    "城市": "urban",
    "rural": "rural",
    "农村": "rural",
}
# Must match jingwang.territory.models.Community.Type (a test keeps them in step).
COMMUNITY_TYPE_VALUES = {
    "residential": "residential",
    "住宅": "residential",
    "rural": "rural",
    "农村": "rural",
    "commercial": "commercial",
    "商业": "commercial",
    "campus": "campus",
    "校园": "campus",
    "industrial": "industrial",
    "工业": "industrial",
    "mixed": "mixed",
    "混合": "mixed",
}

# Column (CSV) or property (GeoJSON) names for each field, compared after strip() and lower().
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码"),
    "name": ("name", "名称"),
    "kind": ("kind", "类别"),
    "community_type": ("community_type", "社区类型"),
    "community": ("community", "所属社区"),
    "population": ("population", "人口"),
    "households": ("households", "户数"),
    "complexity": ("complexity", "复杂度"),
    "wkt": ("wkt", "几何"),
    "lon": ("lon", "lng", "longitude", "经度"),
    "lat": ("lat", "latitude", "纬度"),
}
COMMON_FIELDS = ("code", "name", "kind", "population", "households", "complexity")
FIELDS = {
    COMMUNITY: (*COMMON_FIELDS, "community_type"),
    BASE_UNIT: (*COMMON_FIELDS, "community"),
}
REQUIRED = {COMMUNITY: ("code", "name", "kind"), BASE_UNIT: ("code", "name", "kind", "community")}
GEOMETRY_TYPES = {
    COMMUNITY: ("Polygon", "MultiPolygon"),
    BASE_UNIT: ("Polygon", "MultiPolygon", "Point"),
}
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
# A row with one of these problems has no fields to check.
_UNREADABLE_ROW = {"not_a_feature", "too_many_values"}
_REASON = re.compile(r"^(?P<reason>[^\[]+)\[(?P<x>\S+) (?P<y>[^\]\s]+)")


@dataclass(frozen=True)
class Problem:
    """One error: ``row`` None and ``field`` "" for a problem of the whole file."""

    code: str
    row: int | None = None
    field: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """Something the reader should know about a file that was read without error."""

    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Row:
    """One valid community or base unit; None means "not given in the file"."""

    number: int
    code: str
    name: str
    kind: str
    geometry: shapely.Geometry
    population: int | None = None
    households: int | None = None
    complexity: float | None = None
    community_type: str | None = None
    community: str | None = None


@dataclass
class ParsedFile:
    format: str = ""
    crs: str = WGS84
    rows: list[Row] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    notices: list[Notice] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _RawRow:
    """A row as found in the file, before its values are checked."""

    number: int
    values: dict[str, Any]  # field → value as found
    labels: dict[str, str]  # field → the column or property name used in the file
    geometry: shapely.Geometry | None = None
    geometry_field: str = "geometry"
    problems: list[Problem] = dataclasses.field(default_factory=list)


def read_territory_file(
    data: bytes,
    filename: str,
    kind: str,
    *,
    crs: str | None = None,
    communities: Collection[str] | None = None,
) -> ParsedFile:
    """Read and check every row of a GeoJSON or CSV file of communities or base units.

    ``crs`` is the coordinate system the user chose (``wgs84``, ``gcj02``, or None/"auto" to
    use what the file declares, WGS-84 if nothing). ``communities`` are the codes a base unit
    may refer to (None: not checked). GCJ-02 shapes come back converted to WGS-84.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    result = ParsedFile()
    chosen = _chosen_crs(crs, result)
    extension = _extension(filename)
    result.format = EXTENSIONS.get(extension, "")
    if not result.format:
        result.problems.append(
            Problem("unsupported_extension", params={"extension": extension or filename})
        )
        return result
    if not data.strip():
        result.problems.append(Problem("empty_file"))
        return result
    text = _decode(data, result)
    if text is None or result.problems:
        return result
    if kind == BASE_UNIT and communities is not None and not communities:
        result.problems.append(Problem("no_communities"))
        return result
    if result.format == GEOJSON:
        declared, raws = _read_geojson(text, result)
    else:
        declared, raws = None, _read_csv(text, kind, result)
    result.crs = _settle_crs(chosen, declared, result)
    if result.problems:
        return result
    _check_rows(raws, kind, result, communities)
    return result


def parse_crs_name(name: str) -> str | None:
    """``wgs84`` or ``gcj02`` for a CRS name we know in any usual spelling, else None."""
    return _CRS_NAMES.get(_crs_key(name))


def _crs_key(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def _chosen_crs(crs: str | None, result: ParsedFile) -> str | None:
    if crs is None or crs.strip().lower() in ("", "auto"):
        return None
    parsed = parse_crs_name(crs)
    if parsed is None:
        result.problems.append(Problem("unknown_crs", params={"crs": crs[:100]}))
    return parsed


def _settle_crs(chosen: str | None, declared: str | None, result: ParsedFile) -> str:
    if chosen and declared and chosen != declared:
        result.problems.append(
            Problem("crs_conflict", params={"declared": declared, "chosen": chosen})
        )
    crs = chosen or declared or WGS84
    if crs == GCJ02:
        result.notices.append(Notice("converted_from_gcj02"))
    return crs


def _extension(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "." + base.rsplit(".", 1)[1] if "." in base else ""


def _decode(data: bytes, result: ParsedFile) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Excel in China saves CSV in GBK/GB18030 unless told otherwise.
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        result.problems.append(Problem("bad_encoding"))
        return None
    result.notices.append(Notice("read_as_gb18030"))
    return text


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _read_geojson(text: str, result: ParsedFile) -> tuple[str | None, list[_RawRow]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        result.problems.append(
            Problem("not_json", params={"line": error.lineno, "column": error.colno})
        )
        return None, []
    except (ValueError, RecursionError):
        # Nesting deeper than the parser allows, or an integer with thousands of digits.
        result.problems.append(Problem("json_too_complex"))
        return None, []
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else _json_type(document)
        found = found if isinstance(found, str) else json.dumps(found)[:40]
        result.problems.append(Problem("not_feature_collection", params={"found": found[:40]}))
        return None, []
    declared = _declared_crs(document.get("crs"), result)
    features = document.get("features")
    if not isinstance(features, list):
        result.problems.append(Problem("no_features_list"))
        return declared, []
    if not features:
        result.problems.append(Problem("no_rows"))
        return declared, []
    return declared, [_geojson_row(number, feature) for number, feature in enumerate(features, 1)]


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _declared_crs(crs: Any, result: ParsedFile) -> str | None:
    if crs is None:
        return None
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if not isinstance(name, str):
        result.problems.append(
            Problem("unknown_crs", params={"crs": json.dumps(crs, ensure_ascii=False)[:100]})
        )
        return None
    parsed = parse_crs_name(name)
    if parsed is None:
        result.problems.append(Problem("unknown_crs", params={"crs": name[:100]}))
    elif _crs_key(name) in _CGCS2000:
        result.notices.append(Notice("cgcs2000_as_wgs84"))
    return parsed


def _geojson_row(number: int, feature: Any) -> _RawRow:
    raw = _RawRow(number, {}, {})
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raw.problems.append(Problem("not_a_feature", number, "type"))
        return raw
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raw.problems.append(Problem("properties_not_object", number, "properties"))
        properties = {}
    keys = {str(key).strip().lower(): key for key in properties}
    for name, spellings in FIELD_NAMES.items():
        for spelling in spellings:
            if spelling in keys:
                raw.values[name] = properties[keys[spelling]]
                raw.labels[name] = str(keys[spelling])
                break
    geometry = feature.get("geometry")
    if geometry is None:
        raw.problems.append(Problem("geometry_missing", number, "geometry"))
        return raw
    geometry_type = geometry.get("type") if isinstance(geometry, dict) else None
    if not isinstance(geometry_type, str) or geometry_type not in GEOJSON_TYPES:
        raw.problems.append(Problem("geometry_unparseable", number, "geometry"))
        return raw
    try:
        raw.geometry = shape(geometry)
    except Exception:
        # shapely raises ValueError, TypeError, KeyError, IndexError, … on malformed
        # coordinates; whichever it is, the shape cannot be read.
        raw.problems.append(Problem("geometry_unparseable", number, "geometry"))
    return raw


# ---------------------------------------------------------------------------------------------
# CSV


def _read_csv(text: str, kind: str, result: ParsedFile) -> list[_RawRow]:
    # A MultiPolygon in WKT easily exceeds csv's default limit of 128 KiB per field.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    # strict: a quote left open is an error, not a field that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: Iterator[list[str]] = iter(reader)
    try:
        header = next(records, None)
        if header is None:
            result.problems.append(Problem("no_rows"))
            return []
        columns = _csv_columns(header, kind, result)
        if result.problems:
            return []
        raws = []
        line = reader.line_num + 1
        for record in records:
            number, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            raws.append(_csv_row(number, record, len(header), columns))
    except csv.Error:
        result.problems.append(Problem("csv_malformed", params={"line": reader.line_num}))
        return []
    if not raws:
        result.problems.append(Problem("no_rows"))
    return raws


def _csv_columns(header: list[str], kind: str, result: ParsedFile) -> dict[str, tuple[int, str]]:
    """Field → (index, column name as written) for the columns this kind of file uses."""
    columns: dict[str, tuple[int, str]] = {}
    ignored = []
    for index, cell in enumerate(header):
        name = next(
            (f for f, spellings in FIELD_NAMES.items() if cell.strip().lower() in spellings), None
        )
        if name is None or (name not in FIELDS[kind] and name not in ("wkt", "lon", "lat")):
            if cell.strip():
                ignored.append(cell.strip())
            continue
        if name in columns:
            result.problems.append(
                Problem("duplicate_column", params={"column": cell.strip(), "field": name})
            )
        columns.setdefault(name, (index, cell.strip()))
    for name in REQUIRED[kind]:
        if name not in columns:
            result.problems.append(Problem("missing_column", field=name, params={"column": name}))
    has_points = "lon" in columns and "lat" in columns
    if "wkt" not in columns and kind == COMMUNITY and has_points:
        result.problems.append(Problem("csv_points_for_communities"))
    elif "wkt" not in columns and not has_points:
        result.problems.append(Problem("csv_no_geometry"))
    if ignored:
        result.notices.append(Notice("ignored_columns", {"columns": ", ".join(ignored)}))
    return columns


def _csv_row(
    number: int, record: list[str], width: int, columns: dict[str, tuple[int, str]]
) -> _RawRow:
    raw = _RawRow(number, {}, {})
    if len(record) > width:
        raw.problems.append(
            Problem("too_many_values", number, "", {"found": len(record), "expected": width})
        )
        return raw
    record = record + [""] * (width - len(record))
    for name, (index, label) in columns.items():
        raw.values[name] = record[index]
        raw.labels[name] = label
    wkt = raw.values.pop("wkt", "").strip()
    lon, lat = raw.values.pop("lon", None), raw.values.pop("lat", None)
    if wkt or lon is None or lat is None:
        raw.geometry_field = raw.labels["wkt"]
        if not wkt:
            raw.problems.append(Problem("geometry_missing", number, raw.geometry_field))
            return raw
        try:
            with np.errstate(all="ignore"):  # NaN in the text: reported below, not warned about
                raw.geometry = shapely.from_wkt(wkt)
        except shapely.errors.GEOSException:
            raw.problems.append(Problem("geometry_unparseable", number, raw.geometry_field))
        return raw
    raw.geometry_field = f"{raw.labels['lon']}/{raw.labels['lat']}"
    coordinates = []
    for name, value in (("lon", lon.strip()), ("lat", lat.strip())):
        if not value:
            raw.problems.append(Problem("required", number, raw.labels[name]))
            continue
        number_value = _to_float(value)
        if number_value is None:
            raw.problems.append(
                Problem("not_a_number", number, raw.labels[name], {"value": value[:40]})
            )
        else:
            coordinates.append(number_value)
    if len(coordinates) == 2:
        raw.geometry = shapely.Point(*coordinates)
    return raw


# ---------------------------------------------------------------------------------------------
# Checking rows


def _check_rows(
    raws: list[_RawRow], kind: str, result: ParsedFile, communities: Collection[str] | None
) -> None:
    first_row: dict[str, int] = {}
    for raw in raws:
        problems = list(raw.problems)
        if any(p.code in _UNREADABLE_ROW for p in problems):
            result.problems.extend(problems)
            continue
        row, code = _check_row(raw, kind, result.crs, communities, problems)
        if code is not None:
            if code in first_row:
                problems.append(
                    Problem(
                        "duplicate_code",
                        raw.number,
                        raw.labels.get("code", "code"),
                        {"code": code, "first_row": first_row[code]},
                    )
                )
            else:
                first_row[code] = raw.number
        if problems:
            result.problems.extend(problems)
        elif row is not None:
            result.rows.append(row)


def _check_row(
    raw: _RawRow,
    kind: str,
    crs: str,
    communities: Collection[str] | None,
    problems: list[Problem],
) -> tuple[Row | None, str | None]:
    """The row if every field could be read, and its code if that could be read."""
    number = raw.number

    def problem(code: str, name: str, /, **params: Any) -> None:
        problems.append(Problem(code, number, raw.labels.get(name, name), params))

    values: dict[str, Any] = {}
    for name in FIELDS[kind]:
        value = raw.values.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if name in REQUIRED[kind]:
                problem("required", name)
            continue
        if name in ("population", "households"):
            values[name] = _check_int(value, name, problem)
        elif name == "complexity":
            values[name] = _check_complexity(value, problem)
        else:
            values[name] = _check_text(value, name, kind, problem)
    if kind == BASE_UNIT and values.get("community") and communities is not None:
        if values["community"] not in communities:
            problem("unknown_community", "community", code=values["community"])
    geometry = _check_geometry(raw, kind, crs, problems)
    code = values.get("code")
    if geometry is None or any(values.get(name) is None for name in REQUIRED[kind]):
        return None, code
    return Row(number=number, geometry=geometry, **values), code


def _check_text(value: Any, name: str, kind: str, problem: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        problem("not_text", name)
        return None
    text = str(value)
    if name == "code" and len(text) > CODE_MAX:
        problem("too_long", name, limit=CODE_MAX, length=len(text))
        return None
    if name == "name" and len(text) > NAME_MAX:
        problem("too_long", name, limit=NAME_MAX, length=len(text))
        return None
    choices = {
        "kind": COMMUNITY_KIND_VALUES if kind == COMMUNITY else BASE_UNIT_KIND_VALUES,
        "community_type": COMMUNITY_TYPE_VALUES,
    }.get(name)
    if choices is None:
        return text
    if text.lower() not in choices:
        problem("unknown_choice", name, value=text[:40], choices=", ".join(choices))
        return None
    return choices[text.lower()]


def _check_int(value: Any, name: str, problem: Any) -> int | None:
    number = _to_float(value.replace(",", "") if isinstance(value, str) else value)
    if number is None or math.isnan(number) or (math.isfinite(number) and number % 1):
        problem("not_an_integer", name, value=str(value)[:40])
    elif number < 0:
        problem("negative", name, value=str(value)[:40])
    elif number > INT_MAX:
        problem("too_large", name, value=str(value)[:40], limit=INT_MAX)
    else:
        return int(number)
    return None


def _check_complexity(value: Any, problem: Any) -> float | None:
    number = _to_float(value)
    if number is None or math.isnan(number):
        problem("not_a_number", "complexity", value=str(value)[:40])
    elif number < 0:
        problem("negative", "complexity", value=str(value)[:40])
    elif number > COMPLEXITY_MAX:
        problem("too_large", "complexity", value=str(value)[:40], limit=int(COMPLEXITY_MAX))
    else:
        return number
    return None


def _to_float(value: Any) -> float | None:
    """A number given as JSON number or text; None if it is not one. Huge integers are ±inf."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float's range
        return math.inf if value > 0 else -math.inf
    except ValueError:
        return None


def _check_geometry(
    raw: _RawRow, kind: str, crs: str, problems: list[Problem]
) -> shapely.Geometry | None:
    geometry = raw.geometry
    if geometry is None:
        return None

    def problem(code: str, /, **params: Any) -> None:
        problems.append(Problem(code, raw.number, raw.geometry_field, params))

    if geometry.geom_type not in GEOMETRY_TYPES[kind]:
        problem(
            "geometry_wrong_type",
            found=geometry.geom_type,
            expected=", ".join(GEOMETRY_TYPES[kind]),
        )
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
        problem("coordinates_out_of_range", lon=_coordinate_text(lon), lat=_coordinate_text(lat))
        return None
    # Checked on the coordinates as written in the file, so the point named is one the user can find.
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        match = _REASON.match(reason)
        text = match.group("reason").strip() if match else reason
        params = {"reason": GEOS_REASONS.get(text, ""), "reason_text": text}
        if match:
            params |= {
                "lon": _coordinate_text(match.group("x")),
                "lat": _coordinate_text(match.group("y")),
            }
        problem("geometry_invalid", **params)
        return None
    if crs == GCJ02:
        geometry = geometry_gcj02_to_wgs84(geometry)
    return geometry


def _coordinate_text(value: Any) -> str:
    """A coordinate for a message: at most 7 decimals (about 1 cm), no trailing zeros."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    return f"{number:.7f}".rstrip("0").rstrip(".")
