"""Reading a file against a schema: header, rows, checks, limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import chain
from typing import Any

import numpy as np
import shapely

from jingwang.lib.importing import shapes
from jingwang.lib.importing.fields import INVALID, Context, Field
from jingwang.lib.importing.problems import Limits, Notice, Problem
from jingwang.lib.importing.shapes import WGS84, Shape
from jingwang.lib.importing.sources import (
    CSV,
    EXTENSIONS,
    GEOJSON,
    ROW_UNITS,
    XLSX,
    Record,
    Unreadable,
    csv_records,
    decode,
    extension,
    xlsx_records,
)

# The header is the first row naming a field, among this many non-blank rows at the top (the
# rows above it, such as a title over the table, are skipped).
HEADER_SEARCH = 10
# Keys of the shape's columns among the columns found (a field cannot be named so).
_WKT, _LON, _LAT = ":wkt", ":lon", ":lat"
# A row with one of these problems has no fields to check.
_UNREADABLE_ROW = {"not_a_feature", "too_many_values"}

# check_row(values, problem): problem(code, field_name, **params).
RowCheck = Callable[[dict[str, Any], Callable[..., None]], None]


@dataclass(frozen=True)
class Schema:
    """What the rows of a file hold: its fields, their checks, and perhaps a shape.

    ``check_row`` sees the values of a row whose fields passed their own checks (None for
    fields not given or not valid) and reports problems across fields or against known data.
    ``formats``: the kinds of file accepted (default: CSV and XLSX, and GeoJSON with a shape).
    """

    fields: tuple[Field, ...]
    shape: Shape | None = None
    check_row: RowCheck | None = None
    formats: tuple[str, ...] = ()

    @property
    def accepted(self) -> tuple[str, ...]:
        if self.formats:
            return self.formats
        return (CSV, XLSX, GEOJSON) if self.shape is not None else (CSV, XLSX)

    @property
    def extensions(self) -> tuple[str, ...]:
        return tuple(ext for ext, kind in EXTENSIONS.items() if kind in self.accepted)


class Row:
    """One valid row: its number and its values by field name (None: not given).

    Values read as attributes too: ``row.code`` is ``row.values["code"]`` (except a field named
    ``number`` or ``values``: ``row.number`` is the row's number).
    """

    __slots__ = ("number", "values")

    def __init__(self, number: int, values: dict[str, Any]) -> None:
        self.number = number
        self.values = values

    def __getattr__(self, name: str) -> Any:
        if name in Row.__slots__:
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Row) and (self.number, self.values) == (other.number, other.values)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row({self.number}, {self.values!r})"


@dataclass
class Table:
    """What reading a file found: valid rows, problems, notices. ``ok``: nothing wrong."""

    format: str = ""
    row_unit: str = ""
    crs: str = WGS84
    sheet: str = ""
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_table(
    data: bytes,
    filename: str,
    schema: Schema,
    *,
    crs: str | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
    tz: tzinfo | None = None,
) -> Table:
    """Read and check every row of a CSV, XLSX or GeoJSON file.

    The format comes from the file name's extension. ``crs``: the coordinate system the person
    chose for the shapes (``wgs84``, ``gcj02``, None/"auto": as the file declares, else WGS-84);
    shapes come back in WGS-84. ``sheet``: the XLSX sheet to read (default: the first). ``tz``:
    the time zone of dates and times given without an offset. Every problem of every row is
    reported, until the limits stop the reading.
    """
    table = Table()
    reading = _Reading(schema, table, limits or Limits(), Context(tz))
    found = extension(filename)
    table.format = EXTENSIONS.get(found, "")
    if table.format not in schema.accepted:
        table.format = ""
        table.problems.append(
            Problem(
                "unsupported_extension",
                params={
                    "extension": found or filename[:40],
                    "formats": ", ".join(schema.extensions),
                },
            )
        )
        return table
    table.row_unit = ROW_UNITS[table.format]
    reading.chosen = shapes.chosen_crs(crs, table.problems) if schema.shape else None
    if not data.strip():
        table.problems.append(Problem("empty_file"))
        return table
    try:
        if table.format == GEOJSON:
            reading.geojson(decode(data, table.notices))
        elif table.format == CSV:
            reading.tabular(csv_records(decode(data, table.notices)))
        else:
            table.sheet, records = xlsx_records(data, sheet)
            reading.tabular(records)
    except Unreadable as error:
        table.problems.append(Problem(error.code, params=error.params))
    return table


class _Reporter:
    """Collects the problems of one row; ``label`` is the field being checked."""

    __slots__ = ("items", "label", "number")

    def __init__(self, number: int) -> None:
        self.number = number
        self.label = ""
        self.items: list[Problem] = []

    def __call__(self, code: str, /, **params: Any) -> None:
        self.items.append(Problem(code, self.number, self.label, params))

    def at(self, code: str, label: str, /, **params: Any) -> None:
        self.items.append(Problem(code, self.number, label, params))


class _Reading:
    def __init__(self, schema: Schema, table: Table, limits: Limits, context: Context) -> None:
        self.schema = schema
        self.table = table
        self.limits = limits
        self.context = context
        self.chosen: str | None = None
        self.points: list[Row] = []  # rows whose point is still a (lon, lat) pair
        self.first_rows: dict[str, dict[Any, int]] = {f.name: {} for f in schema.fields if f.unique}
        self.spellings: dict[str, str] = {}
        for f in schema.fields:
            for spelling in f.spellings:
                self.spellings.setdefault(spelling, f.name)
        if schema.shape is not None:
            for key, names in ((_WKT, schema.shape.wkt), (_LON, schema.shape.lon)):
                self.spellings.update((n.strip().lower(), key) for n in names)
            self.spellings.update((n.strip().lower(), _LAT) for n in schema.shape.lat)

    # --- rows of a CSV or XLSX file -----------------------------------------------------------

    def tabular(self, records: Iterator[Record]) -> None:
        table, problems = self.table, self.table.problems
        found = self._header(records)
        if found is None:
            problems.append(Problem("no_rows"))
            return
        header, rest = found
        columns = self._columns(header)
        table.crs = shapes.settle_crs(self.chosen, None, problems, table.notices)
        if problems:
            return
        # Per field: (name, index or -1 when not in the file, label, required, its check).
        plan = [
            (f.name, *columns.get(f.name, (-1, f.name)), f.required, f.check)
            for f in self.schema.fields
        ]
        labels = {f.name: columns.get(f.name, (-1, f.name))[1] for f in self.schema.fields}
        shape_columns = {k: columns[k] for k in (_WKT, _LON, _LAT) if k in columns}
        width = len(header[1])
        check_width = table.format == CSV
        context, found_problems = self.context, problems
        count = 0
        rows = iter(rest)
        for number, cells in rows:
            if _blank(cells):
                continue
            count += 1
            if count > self.limits.rows or len(found_problems) >= self.limits.problems:
                self._stop(number, count, (n for n, c in rows if not _blank(c)))
                break
            size = len(cells)
            if check_width and size > width:
                problems.append(
                    Problem("too_many_values", number, "", {"found": size, "expected": width})
                )
                continue
            reporter = _Reporter(number)
            geometry, geometry_label = self._cell_shape(cells, shape_columns, reporter)
            values: dict[str, Any] = {}
            for name, index, label, required, check in plan:
                value: Any = cells[index] if -1 < index < size else None
                if value.__class__ is str:
                    value = value.strip() or None
                if value is None:
                    if required:
                        reporter.at("required", label)
                    values[name] = None
                    continue
                reporter.label = label
                checked = check(value, reporter, context)
                values[name] = None if checked is INVALID else checked
            self._finish(reporter, values, labels, geometry, geometry_label)
        self._make_points()
        if count == 0:
            problems.append(Problem("no_rows"))

    def _header(self, records: Iterator[Record]) -> tuple[Record, Iterable[Record]] | None:
        """The header (the first row naming a field) and the records after it."""
        seen: list[Record] = []
        for record in records:
            if _blank(record[1]):
                continue
            seen.append(record)
            if any(_key(cell) in self.spellings for cell in record[1]):
                if len(seen) > 1:
                    self.table.notices.append(Notice("rows_above_header", {"header": record[0]}))
                return record, records
            if len(seen) == HEADER_SEARCH:
                break
        if not seen:
            return None
        # No row names a field: the first is the header (its columns will be missing).
        return seen[0], chain(seen[1:], records)

    def _columns(self, header: Record) -> dict[str, tuple[int, str]]:
        """Field (or shape column key) → (index, column name as written)."""
        problems = self.table.problems
        columns: dict[str, tuple[int, str]] = {}
        ignored = []
        for index, cell in enumerate(header[1]):
            label = "" if cell is None else str(cell).strip()
            name = self.spellings.get(label.lower())
            if name is None:
                if label:
                    ignored.append(label)
                continue
            if name in columns:
                problems.append(
                    Problem("duplicate_column", params={"column": label, "field": name.lstrip(":")})
                )
            columns.setdefault(name, (index, label))
        for f in self.schema.fields:
            if f.required and f.name not in columns:
                problems.append(Problem("missing_column", field=f.name, params={"column": f.name}))
        shape = self.schema.shape
        if shape is not None:
            has_wkt = _WKT in columns
            has_points = _LON in columns and _LAT in columns
            if not has_wkt and has_points and not shape.points:
                problems.append(Problem("shape_needs_wkt"))
            elif not has_wkt and not has_points and shape.required and shape.wkt:
                problems.append(Problem("no_shape_columns"))
            elif not has_wkt and not has_points and shape.required:
                problems.append(Problem("no_point_columns"))
        if ignored:
            self.table.notices.append(Notice("ignored_columns", {"columns": ", ".join(ignored)}))
        return columns

    def _cell_shape(
        self, cells: Any, columns: dict[str, tuple[int, str]], reporter: _Reporter
    ) -> tuple[shapely.Geometry | tuple[float, float] | None, str]:
        """The shape given by the WKT column, else the (lon, lat) of the lon and lat columns."""
        if self.schema.shape is None:
            return None, ""

        def cell(key: str) -> Any:
            index = columns[key][0] if key in columns else len(cells)
            value = cells[index] if index < len(cells) else None
            return value.strip() or None if isinstance(value, str) else value

        wkt = cell(_WKT)
        points = _LON in columns and _LAT in columns
        if wkt is not None or not points:
            label = columns[_WKT][1] if _WKT in columns else "wkt"
            if wkt is None:
                if self.schema.shape.required:
                    reporter.at("geometry_missing", label)
                return None, label
            reporter.label = label
            return shapes.from_wkt(wkt, self.limits.vertices, reporter), label
        lon, lat = columns[_LON][1], columns[_LAT][1]
        lon_value, lat_value = cell(_LON), cell(_LAT)
        if lon_value is None and lat_value is None and not self.schema.shape.required:
            return None, f"{lon}/{lat}"
        pair = shapes.lon_lat(lon_value, lat_value, (lon, lat), reporter.at)
        return pair, f"{lon}/{lat}"

    # --- features of a GeoJSON file -----------------------------------------------------------

    def geojson(self, text: str) -> None:
        table, problems = self.table, self.table.problems
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise Unreadable("not_json", line=error.lineno, column=error.colno) from None
        except (ValueError, RecursionError):
            # Nesting deeper than the parser allows, or an integer with thousands of digits.
            raise Unreadable("json_too_complex") from None
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            found = document.get("type") if isinstance(document, dict) else _json_type(document)
            found = found if isinstance(found, str) else json.dumps(found)[:40]
            raise Unreadable("not_feature_collection", found=found[:40])
        declared = shapes.declared_crs(document.get("crs"), problems, table.notices)
        features = document.get("features")
        if not isinstance(features, list):
            problems.append(Problem("no_features_list"))
            return
        if not features:
            problems.append(Problem("no_rows"))
            return
        table.crs = shapes.settle_crs(self.chosen, declared, problems, table.notices)
        if problems:
            return
        if len(features) > self.limits.rows:
            self._too_many_rows(self.limits.rows + 1)
            return
        for number, feature in enumerate(features, 1):
            if len(problems) >= self.limits.problems:
                self._stop(number, number, iter(range(number + 1, len(features) + 1)))
                return
            self._feature(number, feature)

    def _feature(self, number: int, feature: Any) -> None:
        reporter = _Reporter(number)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            self.table.problems.append(Problem("not_a_feature", number, "type"))
            return
        properties = feature.get("properties")
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            reporter.at("properties_not_object", "properties")
            properties = {}
        raw: dict[str, Any] = {f.name: None for f in self.schema.fields}
        labels: dict[str, str] = {}
        taken: set[str] = set()
        for key, value in properties.items():
            name = self.spellings.get(str(key).strip().lower())
            if name is not None and name in raw and name not in taken:
                taken.add(name)
                raw[name], labels[name] = value, str(key)
        geometry = None
        shape = self.schema.shape
        label = shape.name if shape is not None else ""
        if shape is not None:
            reporter.label = label
            if feature.get("geometry") is None:
                if shape.required:
                    reporter("geometry_missing")
            else:
                geometry = shapes.from_geojson(feature["geometry"], self.limits.vertices, reporter)
        self._check(reporter, raw, labels, geometry, label)

    # --- checking one row ---------------------------------------------------------------------

    def _check(
        self,
        reporter: _Reporter,
        raw: dict[str, Any],
        labels: dict[str, str],
        geometry: Any,
        geometry_label: str,
    ) -> None:
        values: dict[str, Any] = {}
        context = self.context
        for f in self.schema.fields:
            value = raw[f.name]
            if isinstance(value, str):
                value = value.strip() or None
            if value is None:
                if f.required:
                    reporter.at("required", labels.get(f.name, f.name))
                values[f.name] = None
                continue
            reporter.label = labels.get(f.name, f.name)
            checked = f.check(value, reporter, context)
            values[f.name] = None if checked is INVALID else checked
        self._finish(reporter, values, labels, geometry, geometry_label)

    def _finish(
        self,
        reporter: _Reporter,
        values: dict[str, Any],
        labels: dict[str, str],
        geometry: Any,
        geometry_label: str,
    ) -> None:
        """The checks across fields, of the shape and of unique fields; then keep the row."""
        if self.schema.check_row is not None:
            self.schema.check_row(
                values, lambda code, name, /, **p: reporter.at(code, labels.get(name, name), **p)
            )
        shape = self.schema.shape
        if shape is not None:
            if geometry is not None:
                reporter.label = geometry_label
                if isinstance(geometry, tuple):
                    geometry = shapes.check_point(geometry, shape, self.table.crs, reporter)
                else:
                    geometry = shapes.check(geometry, shape, self.table.crs, reporter)
            values[shape.name] = geometry
        for name, first_rows in self.first_rows.items():
            value = values[name]
            if value is None:
                continue
            if value in first_rows:
                reporter.at(
                    "duplicate_code",
                    labels.get(name, name),
                    code=value,
                    first_row=first_rows[value],
                )
            else:
                first_rows[value] = reporter.number
        if reporter.items:
            self.table.problems.extend(reporter.items)
            return
        row = Row(reporter.number, values)
        self.table.rows.append(row)
        if shape is not None and isinstance(values[shape.name], tuple):
            self.points.append(row)

    def _make_points(self) -> None:
        """Points given as lon/lat were checked as numbers: made into shapes in one go."""
        if not self.points or self.schema.shape is None:
            return
        name = self.schema.shape.name
        made = shapely.points(np.array([row.values[name] for row in self.points], dtype=float))
        for row, point in zip(self.points, made, strict=True):
            row.values[name] = point
        self.points = []

    # --- limits ---------------------------------------------------------------------------------

    def _stop(self, number: int, count: int, rest: Iterator[int]) -> None:
        """Reading stops before row ``number``, the ``count``-th: it is beyond the row limit, or
        the problem limit was reached (the rows left are then only counted, up to the row
        limit, so the report can say how many were not checked)."""
        if count > self.limits.rows:
            self._too_many_rows(number)
            return
        unchecked, beyond = 1, None
        for later in rest:
            if count + unchecked > self.limits.rows:
                beyond = later
                break
            unchecked += 1
        self.table.problems.append(
            Problem(
                "too_many_problems",
                params={"limit": self.limits.problems, "row": number, "unchecked": unchecked},
            )
        )
        if beyond is not None:
            self._too_many_rows(beyond)

    def _too_many_rows(self, number: int) -> None:
        self.table.problems.append(
            Problem("too_many_rows", params={"limit": self.limits.rows, "row": number})
        )


def _key(cell: Any) -> str:
    return cell.strip().lower() if isinstance(cell, str) else ""


def _blank(cells: Any) -> bool:
    for cell in cells:
        if cell is not None and (not isinstance(cell, str) or cell.strip()):
            return False
    return True


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
