"""Territory files: villages and communities, and base units, as a schema of the shared reader.

``jingwang.lib.importing`` reads the file (GeoJSON, CSV, XLSX; UTF-8 or GB18030) and checks every
row; this module says what a territory row holds. Problems are codes with parameters, never
sentences: ``jingwang.core.imports`` and ``jingwang.territory.imports`` turn them into messages
in the user's language, and ``docs/data-formats.md`` documents the formats, the fields and every
code. Django-free.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from jingwang.lib.importing import (
    CRS_CHOICES,
    CSV,
    GCJ02,
    GEOJSON,
    GEOS_REASONS,
    INT_MAX,
    WGS84,
    XLSX,
    Choice,
    Field,
    Integer,
    Limits,
    Notice,
    Number,
    Problem,
    Row,
    Schema,
    Shape,
    Table,
    Text,
    parse_crs_name,
    read_table,
)
from jingwang.lib.importing.sources import EXTENSIONS, ROW_UNITS, extension

__all__ = [
    "BASE_UNIT",
    "COMMUNITY",
    "CRS_CHOICES",
    "CSV",
    "GCJ02",
    "GEOJSON",
    "GEOS_REASONS",
    "INT_MAX",
    "KINDS",
    "WGS84",
    "XLSX",
    "Notice",
    "ParsedFile",
    "Problem",
    "Row",
    "parse_crs_name",
    "read_territory_file",
    "schema",
]

COMMUNITY = "community"
BASE_UNIT = "base-unit"
KINDS = (COMMUNITY, BASE_UNIT)

CODE_MAX = 32
NAME_MAX = 100
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
GEOMETRY_TYPES = {
    COMMUNITY: ("Polygon", "MultiPolygon"),
    BASE_UNIT: ("Polygon", "MultiPolygon", "Point"),
}

ParsedFile = Table  # rows: Row with code, name, kind, geometry, population, households, …


def schema(kind: str, communities: Collection[str] | None = None) -> Schema:
    """The rows of a file of communities or of base units. ``communities``: the codes a base
    unit may refer to (None: not checked)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    fields: list[Field] = [
        Text("code", ("编码",), required=True, unique=True, max_length=CODE_MAX),
        Text("name", ("名称",), required=True, max_length=NAME_MAX),
        Choice(
            "kind",
            ("类别",),
            required=True,
            values=COMMUNITY_KIND_VALUES if kind == COMMUNITY else BASE_UNIT_KIND_VALUES,
        ),
        Integer("population", ("人口",)),
        Integer("households", ("户数",)),
        Number("complexity", ("复杂度",), minimum=0, maximum=COMPLEXITY_MAX),
    ]
    check_row = None
    if kind == COMMUNITY:
        fields.append(Choice("community_type", ("社区类型",), values=COMMUNITY_TYPE_VALUES))
    else:
        fields.append(Text("community", ("所属社区",), required=True))
        fields.append(Integer("floating_population", ("流动人口",)))
        if communities is not None:
            check_row = _community_known(communities)
    return Schema(tuple(fields), Shape(types=GEOMETRY_TYPES[kind]), check_row)


def _community_known(communities: Collection[str]) -> Callable[..., None]:
    def check(values: dict[str, Any], problem: Callable[..., None]) -> None:
        code = values.get("community")
        if code is not None and code not in communities:
            problem("unknown_community", "community", code=code)

    return check


def read_territory_file(
    data: bytes,
    filename: str,
    kind: str,
    *,
    crs: str | None = None,
    communities: Collection[str] | None = None,
    limits: Limits | None = None,
    sheet: str | None = None,
) -> ParsedFile:
    """Read and check every row of a GeoJSON, CSV or XLSX file of communities or base units.

    ``crs`` is the coordinate system the user chose (``wgs84``, ``gcj02``, or None/"auto" to
    use what the file declares, WGS-84 if nothing). ``communities`` are the codes a base unit
    may refer to (None: not checked). GCJ-02 shapes come back converted to WGS-84.
    """
    described = schema(kind, communities)
    if kind == BASE_UNIT and communities is not None and not communities:
        format = EXTENSIONS.get(extension(filename), "")
        return Table(
            format=format,
            row_unit=ROW_UNITS.get(format, ""),
            problems=[Problem("no_communities")],
        )
    return read_table(data, filename, described, crs=crs, sheet=sheet, limits=limits)
