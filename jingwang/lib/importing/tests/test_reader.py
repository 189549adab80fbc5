"""The shared reader: formats, header, typed checks, shapes, limits. No database, no Django."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from jingwang.lib.importing import (
    Choice,
    Context,
    Date,
    DateTime,
    IdNumber,
    Integer,
    Limits,
    Notice,
    Number,
    Phone,
    Problem,
    Schema,
    Shape,
    Text,
    read_table,
)
from jingwang.lib.importing import sources as sources_module

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A daily export of the 110 system, as an incidents import would declare it.
INCIDENTS = Schema(
    (
        Text("number", ("警情编号", "编号"), required=True, unique=True, max_length=20),
        DateTime("reported_at", ("报警时间",), required=True),
        Choice(
            "category",
            ("类别",),
            required=True,
            values={"dispute": "dispute", "纠纷": "dispute", "theft": "theft", "盗窃": "theft"},
        ),
        Phone("caller_phone", ("报警电话",)),
        IdNumber("caller_id", ("身份证号",)),
        Date("closed_on", ("办结日期",)),
        Integer("people", ("人数",), minimum=1, maximum=1000),
        Number("loss", ("损失",), minimum=0),
    ),
    shape=Shape(types=("Point",), required=False, wkt=()),
)
ID = "510722199001011236"  # a valid GB 11643 number (check digit 6)


def xlsx(*rows, title="Sheet1", more=None):
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for name, extra in (more or {}).items():
        other = book.create_sheet(name)
        for row in extra:
            other.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv(text):
    return text.encode()


def problems(table):
    return [(p.row, p.field, p.code, p.params) for p in table.problems]


def read(data, filename="t.csv", schema=INCIDENTS, **options):
    options.setdefault("tz", SHANGHAI)
    return read_table(data, filename, schema, **options)


# --- one file in three formats ------------------------------------------------------------------


def test_a_110_export_in_csv_with_chinese_headers():
    table = read(
        csv(
            "警情编号,报警时间,类别,报警电话,身份证号,办结日期,人数,损失,经度,纬度\n"
            f'J001,2024年3月5日 14时30分,纠纷,138-1234-5678,{ID},2024/3/6,2,"1,5",105.01,31.02\n'
            "J002,2024-03-05 15:00,theft,,,,,,,\n"
        )
    )

    assert problems(table) == [(2, "损失", "not_a_number", {"value": "1,5"})]
    (row,) = table.rows
    assert row.number == 3 and table.row_unit == "line"
    assert (row.number, row.reported_at, row.category) == (
        3,
        datetime(2024, 3, 5, 15, 0, tzinfo=SHANGHAI),
        "theft",
    )
    assert (row.caller_phone, row.people, row.geometry) == (None, None, None)


def test_a_110_export_in_xlsx_reads_cells_as_they_are():
    data = xlsx(
        ["某派出所警情统计表"],
        [
            "警情编号",
            "报警时间",
            "类别",
            "报警电话",
            "身份证号",
            "办结日期",
            "人数",
            "损失",
            "经度",
            "纬度",
        ],
        [
            1001,
            datetime(2024, 3, 5, 14, 30),
            "纠纷",
            13812345678,
            ID,
            date(2024, 3, 6),
            2,
            12.5,
            105.01,
            31.02,
        ],
        [],
        [
            "J2",
            "2024-03-05 15:00",
            "盗窃",
            "+86 138 1234 5678",
            ID.lower()[:-1] + "6",
            datetime(2024, 3, 6),
            3.0,
            0,
            None,
            None,
        ],
    )
    table = read(data, "export.xlsx")

    assert table.ok, problems(table)
    assert (table.format, table.row_unit, table.sheet) == ("xlsx", "row", "Sheet1")
    assert table.notices == [Notice("rows_above_header", {"header": 2})]
    first, second = table.rows
    assert first.number == 3 and second.number == 5
    assert first.values == {
        "number": "1001",
        "reported_at": datetime(2024, 3, 5, 14, 30, tzinfo=SHANGHAI),
        "category": "dispute",
        "caller_phone": "13812345678",
        "caller_id": ID,
        "closed_on": date(2024, 3, 6),
        "people": 2,
        "loss": 12.5,
        "geometry": shapely.Point(105.01, 31.02),
    }
    assert (second.caller_phone, second.closed_on, second.people) == (
        "13812345678",
        date(2024, 3, 6),
        3,
    )


def test_a_named_sheet_is_read_and_a_missing_one_is_named():
    data = xlsx(
        ["说明"],
        more={"2024": [["警情编号", "报警时间", "类别"], ["J1", "2024-01-02 08:00", "纠纷"]]},
    )

    table = read(data, "t.xlsx", sheet="2024")
    assert table.ok and table.sheet == "2024" and [r.number for r in table.rows] == [2]
    assert problems(read(data, "t.xlsx", sheet="2025")) == [
        (None, "", "sheet_not_found", {"sheet": "2025", "sheets": "Sheet1, 2024"})
    ]
    # The first sheet names no field: its first row is the header, and the columns are missing.
    assert [p.code for p in read(data, "t.xlsx").problems] == ["missing_column"] * 3


@pytest.mark.parametrize(
    "data, code",
    [
        (b"PK\x03\x04 not really a zip", "xlsx_unreadable"),
        (b"code,name\n1,2\n", "xlsx_unreadable"),
    ],
)
def test_a_file_that_is_not_a_workbook(data, code):
    assert problems(read(data, "t.xlsx")) == [(None, "", code, {})]


def test_a_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert [p.code for p in read(buffer.getvalue(), "t.xlsx").problems] == ["xlsx_unreadable"]


def test_a_workbook_whose_strings_expand_too_far_is_refused_unopened(monkeypatch):
    monkeypatch.setattr(sources_module, "XLSX_STRINGS_MAX", 10)
    buffer = io.BytesIO(xlsx(["警情编号", "报警时间", "类别"], ["J1", "2024-01-02 08:00", "纠纷"]))
    with zipfile.ZipFile(buffer, "a") as archive:  # openpyxl writes strings inline: add a table
        archive.writestr("xl/sharedStrings.xml", "x" * 11)
    data = buffer.getvalue()
    assert [p.code for p in read(data, "t.xlsx").problems] == ["xlsx_too_large"]


def test_geojson_is_only_for_imports_with_shapes():
    no_shape = Schema((Text("code"),))
    assert problems(read(b"{}", "t.geojson", no_shape)) == [
        (None, "", "unsupported_extension", {"extension": ".geojson", "formats": ".csv, .xlsx"})
    ]


# --- the header ---------------------------------------------------------------------------------


def test_columns_ignored_duplicated_and_missing():
    table = read(csv("编号,警情编号,类别,备注\nJ1,J1,纠纷,x\n"))
    assert problems(table) == [
        (None, "", "duplicate_column", {"column": "警情编号", "field": "number"}),
        (None, "reported_at", "missing_column", {"column": "reported_at"}),
    ]
    assert table.notices == [Notice("ignored_columns", {"columns": "备注"})]


def test_point_columns_are_needed_when_the_point_is_required():
    schema = Schema((Text("code"),), shape=Shape(types=("Point",), wkt=()))
    assert problems(read(csv("code\nA\n"), schema=schema)) == [(None, "", "no_point_columns", {})]


def test_a_file_of_blank_rows_has_no_rows():
    assert [p.code for p in read(csv("\n  \n")).problems] == ["empty_file"]
    assert [p.code for p in read(csv(",,\n \n, ,\n")).problems] == ["no_rows"]
    assert [p.code for p in read(xlsx([None, " "], [], title="空"), "t.xlsx").problems] == [
        "no_rows"
    ]


# --- typed checks -------------------------------------------------------------------------------


def one(field, value):
    """(value, problems) of one field's check alone."""
    found = []
    result = field.check(
        value, lambda code, **params: found.append((code, params)), Context(SHANGHAI)
    )
    return result, found


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024.3.5", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("２０２４年３月５日", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("2024-03-05 14:30", date(2024, 3, 5)),
        (datetime(2024, 3, 5, 9, 0), date(2024, 3, 5)),
        (date(2024, 3, 5), date(2024, 3, 5)),
    ],
)
def test_dates_in_the_usual_chinese_ways(value, expected):
    assert one(Date("d"), value) == (expected, [])


@pytest.mark.parametrize("value", ["2024-13-01", "2024-02-30", "05/03/2024", "昨天", 45356, True])
def test_not_dates(value):
    result, found = one(Date("d"), value)
    assert found == [("not_a_date", {"value": str(value)})]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30, tzinfo=SHANGHAI)),
        ("2024/3/5 14:30:05", datetime(2024, 3, 5, 14, 30, 5, tzinfo=SHANGHAI)),
        ("2024年3月5日 14时30分", datetime(2024, 3, 5, 14, 30, tzinfo=SHANGHAI)),
        ("2024年3月5日14点30分05秒", datetime(2024, 3, 5, 14, 30, 5, tzinfo=SHANGHAI)),
        ("20240305143005", datetime(2024, 3, 5, 14, 30, 5, tzinfo=SHANGHAI)),
        ("2024-03-05T14:30:05.25", datetime(2024, 3, 5, 14, 30, 5, 250000, tzinfo=SHANGHAI)),
        (
            "2024-03-05T06:30:00+08:00",
            datetime(2024, 3, 5, 6, 30, tzinfo=timezone(timedelta(hours=8))),
        ),
        ("2024-03-05T06:30:00Z", datetime(2024, 3, 5, 6, 30, tzinfo=UTC)),
        (datetime(2024, 3, 5, 14, 30), datetime(2024, 3, 5, 14, 30, tzinfo=SHANGHAI)),
    ],
)
def test_datetimes_in_the_usual_chinese_ways(value, expected):
    result, found = one(DateTime("t"), value)
    assert found == [] and result == expected and result.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", ["2024-03-05", "2024-3-1530", "2024-03-05 25:00", "14:30", 3.5])
def test_not_datetimes(value):
    assert one(DateTime("t"), value)[1] == [("not_a_datetime", {"value": str(value)})]


@pytest.mark.parametrize(
    "field, value, expected, codes",
    [
        (Text("t", max_length=3), "abc", "abc", []),
        (Text("t", max_length=3), "abcd", None, [("too_long", {"limit": 3, "length": 4})]),
        (Text("t"), 101, "101", []),
        (Text("t"), 101.0, "101", []),
        (Text("t"), 1.5, None, [("not_text", {})]),
        (Text("t"), True, None, [("not_text", {})]),
        (Text("t"), datetime(2024, 1, 1), None, [("not_text", {})]),
        (Choice("c", values={"a": "A", "甲": "A"}), "甲", "A", []),
        (Choice("c", values={"a": "A", "甲": "A"}), " A ".strip(), "A", []),
        (
            Choice("c", values={"a": "A", "甲": "A"}),
            "b",
            None,
            [("unknown_choice", {"value": "b", "choices": "a, 甲"})],
        ),
        (Integer("i"), "1,200", 1200, []),
        (Integer("i"), 12.0, 12, []),
        (Integer("i"), "-3", None, [("negative", {"value": "-3"})]),
        (Integer("i", minimum=1), "0", None, [("too_small", {"value": "0", "limit": 1})]),
        (Integer("i", maximum=10), 11, None, [("too_large", {"value": "11", "limit": 10})]),
        (Integer("i", maximum=None), 10**30, 10**30, []),
        (Integer("i"), "12.5", None, [("not_an_integer", {"value": "12.5"})]),
        (Number("n"), "-1.5", -1.5, []),
        (Number("n", minimum=0.5), 0.25, None, [("too_small", {"value": "0.25", "limit": 0.5})]),
        (
            Number("n", maximum=1e6),
            "2e6",
            None,
            [("too_large", {"value": "2e6", "limit": 1000000})],
        ),
        (Number("n"), "nan", None, [("not_a_number", {"value": "nan"})]),
        (Phone("p"), "+86 138-1234-5678", "13812345678", []),
        (Phone("p"), 13812345678, "13812345678", []),
        (Phone("p"), "12345", None, [("bad_phone", {})]),
        (IdNumber("d"), ID[:-1] + "6", ID, []),
        (IdNumber("d"), "11010519491231002x", "11010519491231002X", []),
        (IdNumber("d"), "5107221990010112", None, [("id_number_format", {})]),
        (IdNumber("d"), 510722199001011236, None, [("id_number_format", {})]),
        (IdNumber("d"), "510722199002301236", None, [("id_number_birth_date", {})]),
        (IdNumber("d"), "510722199001011237", None, [("id_number_check_digit", {})]),
    ],
)
def test_typed_checks(field, value, expected, codes):
    result, found = one(field, value)
    assert found == codes
    if not codes:
        assert result == expected


def test_a_unique_field_names_the_first_row():
    table = read(
        csv("警情编号,报警时间,类别\nJ1,2024-01-01 08:00,纠纷\nJ1,2024-01-01 09:00,纠纷\n")
    )
    assert problems(table) == [(3, "警情编号", "duplicate_code", {"code": "J1", "first_row": 2})]


def test_a_row_check_sees_the_checked_values():
    def closed_after_reported(values, problem):
        if (
            values["closed_on"]
            and values["reported_at"]
            and values["closed_on"] < values["reported_at"].date()
        ):
            problem("closed_before_reported", "closed_on")

    schema = Schema(INCIDENTS.fields, check_row=closed_after_reported)
    table = read(
        csv("警情编号,报警时间,类别,办结日期\nJ1,2024-01-05 08:00,纠纷,2024-01-04\n"), schema=schema
    )
    assert problems(table) == [(2, "办结日期", "closed_before_reported", {})]


# --- limits -------------------------------------------------------------------------------------

HEADER = "警情编号,报警时间,类别\n"


def bad_rows(count, start=1):
    return "".join(f"J{i},never,纠纷\n" for i in range(start, start + count))


def test_too_many_rows_stops_at_the_first_row_beyond_the_limit():
    table = read(
        csv(
            HEADER
            + "J1,2024-01-01 08:00,纠纷\n\nJ2,2024-01-01 08:00,纠纷\nJ3,2024-01-01 08:00,纠纷\n"
        ),
        limits=Limits(rows=2),
    )
    assert problems(table) == [(None, "", "too_many_rows", {"limit": 2, "row": 5})]
    assert not table.ok


def test_too_many_features_are_refused_before_any_is_checked():
    data = json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}] * 4}
    ).encode()
    assert problems(read(data, "t.geojson", limits=Limits(rows=3))) == [
        (None, "", "too_many_rows", {"limit": 3, "row": 4})
    ]


def test_checking_stops_after_the_problem_limit_and_counts_the_rest():
    table = read(csv(HEADER + bad_rows(10)), limits=Limits(problems=3))
    assert [p.row for p in table.problems[:-1]] == [2, 3, 4]
    assert table.problems[-1] == Problem(
        "too_many_problems", params={"limit": 3, "row": 5, "unchecked": 7}
    )


def test_the_rest_is_counted_up_to_the_row_limit():
    table = read(csv(HEADER + bad_rows(10)), limits=Limits(problems=2, rows=6))
    assert [p.code for p in table.problems] == [
        "not_a_datetime",
        "not_a_datetime",
        "too_many_problems",
        "too_many_rows",
    ]
    assert table.problems[-2].params == {"limit": 2, "row": 4, "unchecked": 4}
    assert table.problems[-1].params == {"limit": 6, "row": 8}


def test_a_shape_with_too_many_vertices_is_refused_before_it_is_built():
    ring = [[105 + i * 1e-5, 31.0] for i in range(10)] + [[105, 31.01], [105, 31.0]]
    polygon_schema = Schema((Text("code"),), shape=Shape())
    geojson = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "A"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                },
                {
                    "type": "Feature",
                    "properties": {"code": "B"},
                    "geometry": {
                        "type": "GeometryCollection",
                        "geometries": [{"type": "Polygon", "coordinates": [ring]}],
                    },
                },
            ],
        }
    ).encode()
    assert problems(read(geojson, "t.geojson", polygon_schema, limits=Limits(vertices=11))) == [
        (1, "geometry", "too_many_vertices", {"limit": 11, "found": 12}),
        (2, "geometry", "too_many_vertices", {"limit": 11, "found": 12}),
    ]
    wkt = "POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    assert problems(
        read(csv(f'code,wkt\nA,"{wkt}"\n'), "t.csv", polygon_schema, limits=Limits(vertices=11))
    ) == [(2, "wkt", "too_many_vertices", {"limit": 11, "found": 12})]
    assert read(
        csv(f'code,wkt\nA,"{wkt}"\n'), "t.csv", polygon_schema, limits=Limits(vertices=12)
    ).ok


# --- robustness ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.none()
            | st.text(max_size=12)
            | st.integers()
            | st.floats()
            | st.booleans()
            | st.datetimes(),
            max_size=11,
        ),
        max_size=6,
    )
)
def test_no_spreadsheet_makes_the_reader_raise(rows):
    header = [
        "警情编号",
        "报警时间",
        "类别",
        "报警电话",
        "身份证号",
        "办结日期",
        "人数",
        "损失",
        "经度",
        "纬度",
    ]
    try:
        data = xlsx(header, *rows)
    except Exception:  # openpyxl refuses to write some values (control characters): not our case
        return
    table = read(data, "t.xlsx")
    assert table.problems or len(table.rows) == sum(
        1
        for r in rows
        if any(v not in (None, "") and not (isinstance(v, str) and not v.strip()) for v in r)
    )


GOOD_XLSX = xlsx(
    ["警情编号", "报警时间", "类别", "人数", "经度", "纬度"],
    ["J1", datetime(2024, 3, 5, 14, 30), "纠纷", 2, 105.01, 31.02],
    ["J2", "2024-03-05 15:00", "盗窃", 3, 105.02, 31.03],
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GOOD_XLSX) - 1), st.integers(0, 255)), max_size=6))
def test_no_damaged_workbook_makes_the_reader_raise(damage):
    data = bytearray(GOOD_XLSX)
    for position, byte in damage:
        data[position] = byte
    table = read(bytes(data), "t.xlsx")
    assert table.problems or [r.values["number"] for r in table.rows] == ["J1", "J2"]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_no_bytes_make_the_xlsx_reader_raise(data):
    table = read(data, "t.xlsx")
    assert table.problems


def test_the_reader_does_not_import_django():
    code = (
        "import sys, jingwang.lib.importing, jingwang.lib.territory_files; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
