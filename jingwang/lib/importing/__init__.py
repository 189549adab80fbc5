"""Reading import files into checked rows, for every import of the platform. Django-free.

An import declares a ``Schema``: its fields (``Text``, ``Choice``, ``Integer``, ``Number``,
``Date``, ``DateTime``, ``Phone``, ``IdNumber``; each with its spellings, Chinese ones too) and
perhaps a ``Shape``. ``read_table(data, filename, schema)`` reads a CSV, XLSX or GeoJSON file
(UTF-8 with or without BOM, else GB18030), checks every value of every row, and returns a
``Table``: the valid rows, and the problems as codes with parameters, never sentences
(``jingwang.core.imports`` turns codes into messages in the user's language;
``docs/data-formats.md`` documents every code). ``Limits`` bound the rows of a file, the
vertices of a shape and the problems found before checking stops.

Rows are numbered as a person sees them: lines of a CSV file (the header is line 1), rows of a
spreadsheet as it numbers them, features of a GeoJSON file from 1.
"""

from jingwang.lib.importing.fields import (
    INT_MAX,
    INVALID,
    Choice,
    Context,
    Date,
    DateTime,
    Field,
    IdNumber,
    Integer,
    Number,
    Phone,
    Text,
    parse_date,
    parse_datetime,
)
from jingwang.lib.importing.problems import Limits, Notice, Problem
from jingwang.lib.importing.reader import Row, Schema, Table, read_table
from jingwang.lib.importing.shapes import (
    CRS_CHOICES,
    GCJ02,
    GEOS_REASONS,
    WGS84,
    Shape,
    parse_crs_name,
)
from jingwang.lib.importing.sources import CSV, EXTENSIONS, GEOJSON, ROW_UNITS, XLSX

__all__ = [
    "CRS_CHOICES",
    "CSV",
    "EXTENSIONS",
    "GCJ02",
    "GEOJSON",
    "GEOS_REASONS",
    "INT_MAX",
    "INVALID",
    "ROW_UNITS",
    "WGS84",
    "XLSX",
    "Choice",
    "Context",
    "Date",
    "DateTime",
    "Field",
    "IdNumber",
    "Integer",
    "Limits",
    "Notice",
    "Number",
    "Phone",
    "Problem",
    "Row",
    "Schema",
    "Shape",
    "Table",
    "Text",
    "parse_crs_name",
    "parse_date",
    "parse_datetime",
    "read_table",
]
