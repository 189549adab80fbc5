"""Reading territory files: every format rule and every problem, without a database."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from jingwang.lib.geo import gcj02_to_wgs84
from jingwang.lib.territory_files import (
    BASE_UNIT,
    COMMUNITY,
    GCJ02,
    WGS84,
    Notice,
    Problem,
    parse_crs_name,
    read_territory_file,
)

SQUARE = [[[105.0, 31.0], [105.01, 31.0], [105.01, 31.01], [105.0, 31.01], [105.0, 31.0]]]
SQUARE_WKT = "POLYGON ((105 31, 105.01 31, 105.01 31.01, 105 31.01, 105 31))"


def feature(geometry=None, **properties):
    geometry = geometry or {"type": "Polygon", "coordinates": SQUARE}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def good(code="C1", **more):
    return feature(**{"code": code, "name": "东街", "kind": "urban", **more})


def geojson(*features, **top):
    return json.dumps({"type": "FeatureCollection", **top, "features": list(features)}).encode()


def read(data, filename="t.geojson", kind=COMMUNITY, **options):
    return read_territory_file(data, filename, kind, **options)


def problems(parsed):
    return [(p.row, p.field, p.code, p.params) for p in parsed.problems]


# --- GeoJSON ------------------------------------------------------------------------------------


def test_a_good_geojson_file_gives_plain_rows():
    parsed = read(
        geojson(
            good("C1", population=1200, households="400", complexity="1.5"),
            feature(
                {"type": "MultiPolygon", "coordinates": [SQUARE]},
                code=7,
                name="石安村",
                kind="村",
                community_type="商业",
                population="1,200",
                households=30.0,
            ),
        )
    )

    assert parsed.ok and parsed.format == "geojson" and parsed.crs == WGS84
    first, second = parsed.rows
    assert (first.number, first.code, first.name, first.kind) == (1, "C1", "东街", "urban")
    assert (first.population, first.households, first.complexity) == (1200, 400, 1.5)
    assert first.community_type is None  # not given: the caller keeps or defaults it
    assert first.geometry.equals(shapely.Polygon(SQUARE[0]))
    assert (second.code, second.kind, second.community_type) == ("7", "village", "commercial")
    assert (second.population, second.households) == (1200, 30)
    assert second.geometry.geom_type == "MultiPolygon"


def test_property_names_are_matched_loosely_and_in_chinese():
    parsed = read(geojson(feature(**{" Code ": "C1", "名称": "东街", "KIND": "社区", "人口": 5})))

    assert parsed.ok
    assert (parsed.rows[0].code, parsed.rows[0].name, parsed.rows[0].population) == (
        "C1",
        "东街",
        5,
    )


def test_heights_are_dropped():
    ring = [[x, y, 450.0] for x, y in SQUARE[0]]
    parsed = read(geojson(good(geometry={"type": "Polygon", "coordinates": [ring]})))

    assert not parsed.rows[0].geometry.has_z


def test_every_problem_of_every_row_is_reported():
    bowtie = [[[105.0, 31.0], [105.02, 31.02], [105.02, 31.0], [105.0, 31.02], [105.0, 31.0]]]
    parsed = read(
        geojson(
            good("C1"),
            feature(
                {"type": "Polygon", "coordinates": bowtie},
                code="C2",
                name="",
                kind="town",
                population=-1,
                households="many",
                complexity=True,
                community_type="farm",
            ),
            good("C1"),
            good("C4", name="x" * 101),
        )
    )

    assert [row.code for row in parsed.rows] == ["C1"]  # only the first row is good
    assert problems(parsed) == [
        (2, "name", "required", {}),
        (
            2,
            "kind",
            "unknown_choice",
            {"value": "town", "choices": "village, 村, 行政村, urban, 社区, 城市社区"},
        ),
        (2, "population", "negative", {"value": "-1"}),
        (2, "households", "not_an_integer", {"value": "many"}),
        (2, "complexity", "not_a_number", {"value": "True"}),
        (
            2,
            "community_type",
            "unknown_choice",
            {
                "value": "farm",
                "choices": "residential, 住宅, rural, 农村, commercial, 商业, campus, 校园, industrial, 工业, mixed, 混合",
            },
        ),
        (
            2,
            "geometry",
            "geometry_invalid",
            {
                "reason": "self_intersection",
                "reason_text": "Self-intersection",
                "lon": "105.01",
                "lat": "31.01",
            },
        ),
        (3, "code", "duplicate_code", {"code": "C1", "first_row": 1}),
        (4, "name", "too_long", {"limit": 100, "length": 101}),
    ]


@pytest.mark.parametrize(
    "geometry, code, params",
    [
        (None, "geometry_missing", {}),
        ({"type": "Polygon", "coordinates": "here"}, "geometry_unparseable", {}),
        ({"type": "Polygon", "coordinates": [[[105, 31], [106, 31]]]}, "geometry_unparseable", {}),
        ({"type": "Circle", "coordinates": [105, 31]}, "geometry_unparseable", {}),
        ("POLYGON", "geometry_unparseable", {}),
        ({"type": "Polygon", "coordinates": []}, "geometry_empty", {}),
        (
            {"type": "Point", "coordinates": [105, 31]},
            "geometry_wrong_type",
            {"found": "Point", "expected": "Polygon, MultiPolygon"},
        ),
        (
            {"type": "LineString", "coordinates": [[105, 31], [106, 31]]},
            "geometry_wrong_type",
            {"found": "LineString", "expected": "Polygon, MultiPolygon"},
        ),
        (
            {"type": "Polygon", "coordinates": [[[31, 105], [31, 106], [32, 106], [31, 105]]]},
            "coordinates_out_of_range",
            {"lon": "31", "lat": "105"},
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[500000, 3400000], [500100, 3400000], [500100, 3400100], [500000, 3400000]]
                ],
            },
            "coordinates_out_of_range",
            {"lon": "500000", "lat": "3400000"},
        ),
        (
            {"type": "Polygon", "coordinates": [[[105, 31], [1e400, 31], [106, 32], [105, 31]]]},
            "coordinates_out_of_range",
            {"lon": "inf", "lat": "31"},
        ),
        (
            {"type": "Polygon", "coordinates": [[[105, 31], [106, 31], [105, 31], [105, 31]]]},
            "geometry_invalid",
            {
                "reason": "too_few_points",
                "reason_text": "Too few points in geometry component",
                "lon": "105",
                "lat": "31",
            },
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [SQUARE[0], [[106, 32], [106.1, 32], [106.1, 32.1], [106, 32]]],
            },
            "geometry_invalid",
            {
                "reason": "hole_outside_shell",
                "reason_text": "Hole lies outside shell",
                "lon": "106",
                "lat": "32",
            },
        ),
    ],
)
def test_a_bad_shape_is_named(geometry, code, params):
    row = good()
    row["geometry"] = geometry
    assert problems(read(geojson(row))) == [(1, "geometry", code, params)]


@pytest.mark.parametrize(
    "properties, problem",
    [
        ({"population": 10**400}, ("population", "too_large")),
        ({"households": -(10**400)}, ("households", "negative")),
        ({"complexity": 10**400}, ("complexity", "too_large")),
        ({"population": 1e300}, ("population", "too_large")),
        ({"population": 2.5}, ("population", "not_an_integer")),
        ({"population": [1]}, ("population", "not_an_integer")),
        ({"complexity": {"a": 1}}, ("complexity", "not_a_number")),
    ],
)
def test_json_numbers_of_any_size(properties, problem):
    parsed = read(geojson(good(**properties)))
    assert [(p.field, p.code) for p in parsed.problems] == [problem]


def test_base_units_may_be_points_and_must_name_a_known_community():
    point = {"type": "Point", "coordinates": [105.005, 31.005]}
    parsed = read(
        geojson(
            good("B1", kind="农村", community="C1", geometry=point),
            good("B2", community="C9"),
            good("B3"),
        ),
        kind=BASE_UNIT,
        communities={"C1"},
    )

    assert [(r.code, r.kind, r.community, r.geometry.geom_type) for r in parsed.rows] == [
        ("B1", "rural", "C1", "Point")
    ]
    assert problems(parsed) == [
        (2, "community", "unknown_community", {"code": "C9"}),
        (3, "community", "required", {}),
    ]


def test_base_units_of_a_station_without_communities_are_refused_at_once():
    parsed = read(geojson(good(community="C1")), kind=BASE_UNIT, communities=set())
    assert problems(parsed) == [(None, "", "no_communities", {})]


@pytest.mark.parametrize(
    "data, code, params",
    [
        (b"", "empty_file", {}),
        (b" \n\t", "empty_file", {}),
        (
            b'{"type": "FeatureCollection",\n  "features": [,]}',
            "not_json",
            {"line": 2, "column": 16},
        ),
        (b"[" * 100_000, "json_too_complex", {}),
        (b"1" * 5000, "json_too_complex", {}),
        (b"[1, 2]", "not_feature_collection", {"found": "array"}),
        (b'"FeatureCollection"', "not_feature_collection", {"found": "string"}),
        (b'{"type": "Feature"}', "not_feature_collection", {"found": "Feature"}),
        (
            b'{"type": ["FeatureCollection"]}',
            "not_feature_collection",
            {"found": '["FeatureCollection"]'},
        ),
        (b'{"type": "FeatureCollection"}', "no_features_list", {}),
        (b'{"type": "FeatureCollection", "features": {}}', "no_features_list", {}),
        (b'{"type": "FeatureCollection", "features": []}', "no_rows", {}),
        ("\ufeff".encode() + b'{"type": "FeatureCollection", "features": []}', "no_rows", {}),
        (b"\xff\xfe\x00\x81", "bad_encoding", {}),
    ],
)
def test_problems_of_the_whole_file(data, code, params):
    assert problems(read(data)) == [(None, "", code, params)]


def test_features_that_are_not_features():
    parsed = read(
        geojson(["a"], {"type": "Point"}, {"type": "Feature", "properties": [1], "geometry": None})
    )
    assert [(row, field, code) for row, field, code, _ in problems(parsed)] == [
        (1, "type", "not_a_feature"),
        (2, "type", "not_a_feature"),
        (3, "properties", "properties_not_object"),
        (3, "geometry", "geometry_missing"),
        (3, "code", "required"),
        (3, "name", "required"),
        (3, "kind", "required"),
    ]


@pytest.mark.parametrize("filename", ["t.shp", "t.kml", "t", "t.geojson.zip"])
def test_only_geojson_and_csv_files_are_read(filename):
    parsed = read(geojson(good()), filename)
    assert [p.code for p in parsed.problems] == ["unsupported_extension"]


@pytest.mark.parametrize("filename", ["T.GeoJSON", "dir/t.json", "C:\\maps\\t.geojson"])
def test_geojson_extensions(filename):
    assert read(geojson(good()), filename).ok


# --- coordinate systems -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, crs",
    [
        ("GCJ-02", GCJ02),
        ("gcj02", GCJ02),
        ("GCJ02", GCJ02),
        ("gcj-02", GCJ02),
        ("WGS84", WGS84),
        ("WGS-84", WGS84),
        ("EPSG:4326", WGS84),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", WGS84),
        ("urn:ogc:def:crs:EPSG::4326", WGS84),
        ("CRS84", WGS84),
        ("EPSG:4490", WGS84),
        ("BD-09", None),
        ("EPSG:3857", None),
        ("", None),
    ],
)
def test_crs_names(name, crs):
    assert parse_crs_name(name) == crs


def test_gcj02_declared_in_the_file_is_converted_to_wgs84():
    crs = {"type": "name", "properties": {"name": "GCJ-02"}}
    parsed = read(geojson(good(), crs=crs))

    assert parsed.ok and parsed.crs == GCJ02
    assert parsed.notices == [Notice("converted_from_gcj02")]
    stored = shapely.get_coordinates(parsed.rows[0].geometry).tolist()
    assert stored[0] == pytest.approx(gcj02_to_wgs84(105.0, 31.0), abs=1e-9)
    assert abs(stored[0][0] - 105.0) > 1e-3


def test_gcj02_chosen_for_a_csv_is_converted():
    data = b"code,name,kind,community,lon,lat\nB1,a,urban,C1,105.012,31.004\n"
    parsed = read(data, "t.csv", BASE_UNIT, crs="gcj02")

    point = parsed.rows[0].geometry
    assert (point.x, point.y) == pytest.approx(gcj02_to_wgs84(105.012, 31.004), abs=1e-9)


def test_wgs84_declared_or_chosen_is_kept():
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    for parsed in (read(geojson(good(), crs=crs)), read(geojson(good()), crs="wgs84")):
        assert parsed.ok and parsed.notices == []
        assert parsed.rows[0].geometry.equals(shapely.Polygon(SQUARE[0]))


def test_cgcs2000_is_read_as_wgs84_with_a_notice():
    parsed = read(geojson(good(), crs={"type": "name", "properties": {"name": "EPSG:4490"}}))
    assert parsed.ok and parsed.crs == WGS84 and parsed.notices == [Notice("cgcs2000_as_wgs84")]


@pytest.mark.parametrize(
    "crs, shown",
    [
        ({"type": "name", "properties": {"name": "BD-09"}}, "BD-09"),
        (
            {"type": "name", "properties": {"name": 4326}},
            '{"type": "name", "properties": {"name": 4326}}',
        ),
        ({"type": "name"}, '{"type": "name"}'),
        ("GCJ-02", '"GCJ-02"'),
    ],
)
def test_an_unknown_declared_crs_is_an_error(crs, shown):
    assert problems(read(geojson(good(), crs=crs))) == [(None, "", "unknown_crs", {"crs": shown})]


def test_a_chosen_crs_that_contradicts_the_file_is_an_error():
    parsed = read(
        geojson(good(), crs={"type": "name", "properties": {"name": "GCJ-02"}}), crs="wgs84"
    )
    assert problems(parsed) == [
        (None, "", "crs_conflict", {"declared": "gcj02", "chosen": "wgs84"})
    ]


def test_an_unknown_chosen_crs_is_an_error():
    assert [p.code for p in read(geojson(good()), crs="bd09").problems] == ["unknown_crs"]


# --- CSV ----------------------------------------------------------------------------------------


def test_a_csv_with_wkt_bom_and_quoted_lines_numbers_rows_by_line():
    data = (
        "\ufeffcode,name,kind,population,wkt\n"
        f'C1,东街,urban,10,"{SQUARE_WKT}"\n'
        "\n"
        ",,,,\n"
        f'C2,"西\n街",urban,x,"{SQUARE_WKT}"\n'
        f"C3,北街,urban,,\n"
    ).encode()
    parsed = read(data, "t.csv")

    assert parsed.format == "csv"
    assert [(r.number, r.code, r.population) for r in parsed.rows] == [(2, "C1", 10)]
    assert problems(parsed) == [
        (5, "population", "not_an_integer", {"value": "x"}),
        (7, "wkt", "geometry_missing", {}),
    ]


def test_a_csv_from_chinese_excel_is_read_as_gb18030():
    data = f'编码,名称,类别,几何\nC1,东街社区,社区,"{SQUARE_WKT}"\n'.encode("gb18030")
    parsed = read(data, "t.csv")

    assert parsed.ok and parsed.rows[0].name == "东街社区" and parsed.rows[0].kind == "urban"
    assert parsed.notices == [Notice("read_as_gb18030")]


def test_problems_name_the_column_as_the_file_spells_it():
    data = f'编码,名称,类别,人口,几何\nC1,东,社区,-3,"{SQUARE_WKT}"\n'.encode()
    assert problems(read(data, "t.csv")) == [(2, "人口", "negative", {"value": "-3"})]


def test_base_unit_points_from_lon_lat_and_wkt_when_given():
    data = (
        "code,name,kind,community,wkt,lon,lat\n"
        "B1,a,rural,C1,,105.1,31.2\n"
        f'B2,b,rural,C1,"{SQUARE_WKT}",,\n'
        "B3,c,rural,C1,,abc,\n"
    ).encode()
    parsed = read(data, "t.csv", BASE_UNIT, communities={"C1"})

    assert [(r.code, r.geometry.wkt) for r in parsed.rows] == [
        ("B1", "POINT (105.1 31.2)"),
        ("B2", SQUARE_WKT),
    ]
    assert problems(parsed) == [
        (4, "lon", "not_a_number", {"value": "abc"}),
        (4, "lat", "required", {}),
    ]


def test_extra_columns_are_ignored_and_named():
    data = f'code,name,kind,wkt,popluation,备注\nC1,a,urban,"{SQUARE_WKT}",5,x\n'.encode()
    parsed = read(data, "t.csv")

    assert parsed.ok
    assert parsed.notices == [Notice("ignored_columns", {"columns": "popluation, 备注"})]


@pytest.mark.parametrize(
    "header, kind, expected",
    [
        ("code,name,kind", COMMUNITY, [Problem("no_shape_columns")]),
        (
            "code,name,kind,lon",
            BASE_UNIT,
            [
                Problem("missing_column", field="community", params={"column": "community"}),
                Problem("no_shape_columns"),
            ],
        ),
        ("code,name,kind,lon,lat", COMMUNITY, [Problem("shape_needs_wkt")]),
        (
            "name,wkt",
            COMMUNITY,
            [
                Problem("missing_column", field="code", params={"column": "code"}),
                Problem("missing_column", field="kind", params={"column": "kind"}),
            ],
        ),
        (
            "code,编码,name,kind,wkt",
            COMMUNITY,
            [Problem("duplicate_column", params={"column": "编码", "field": "code"})],
        ),
    ],
)
def test_csv_columns(header, kind, expected):
    data = f"{header}\nC1,C1,a,urban,x\n".encode()
    assert read(data, "t.csv", kind).problems == expected


def test_unquoted_wkt_is_spotted():
    data = f"code,name,kind,wkt\nC1,a,urban,{SQUARE_WKT}\n".encode()
    assert problems(read(data, "t.csv")) == [
        (2, "", "too_many_values", {"found": 8, "expected": 4})
    ]


@pytest.mark.parametrize(
    "wkt, code",
    [
        ("POLYGON ((105 31, 106 31, 106 32))", "geometry_unparseable"),
        ("garbage", "geometry_unparseable"),
        ("POLYGON EMPTY", "geometry_empty"),
        ("POINT (105 31)", "geometry_wrong_type"),
        ("POLYGON ((105 31, nan 31, 106 32, 105 31))", "coordinates_out_of_range"),
    ],
)
def test_bad_wkt(wkt, code):
    data = f'code,name,kind,wkt\nC1,a,urban,"{wkt}"\n'.encode()
    assert [(p.row, p.field, p.code) for p in read(data, "t.csv").problems] == [(2, "wkt", code)]


def test_an_open_quote_is_a_malformed_file():
    data = f'code,name,kind,wkt\nC1,a,urban,"{SQUARE_WKT}\n'.encode()
    assert problems(read(data, "t.csv")) == [(None, "", "csv_malformed", {"line": 2})]


def test_a_header_alone_has_no_rows():
    assert [p.code for p in read(b"code,name,kind,wkt\n\n", "t.csv").problems] == ["no_rows"]


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("population", "1,200", None),
        ("population", "12.0", None),
        ("population", "12.5", "not_an_integer"),
        ("population", "3000000000", "too_large"),
        ("population", "nan", "not_an_integer"),
        ("households", "-0", None),
        ("households", "1e3", None),
        ("complexity", "inf", "too_large"),
        ("complexity", "nan", "not_a_number"),
        ("population", "-inf", "negative"),
        ("complexity", "-0.1", "negative"),
        ("complexity", "2e6", "too_large"),
        ("code", "C" * 33, "too_long"),
        ("code", "  ", "required"),
    ],
)
def test_field_values(field, value, code):
    values = {"code": "C1", "name": "a", "kind": "urban", field: value}
    header = ",".join(values)
    data = f'{header},wkt\n{",".join(json.dumps(v) for v in values.values())},"{SQUARE_WKT}"\n'
    parsed = read(data.encode(), "t.csv")
    assert [p.code for p in parsed.problems] == ([code] if code else [])


# --- robustness ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "features",
                    "properties",
                    "geometry",
                    "coordinates",
                    "code",
                    "name",
                    "kind",
                    "crs",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["code", "name", "kind", "population", "complexity", "community"]),
        json_values,
    ),
    json_values,
    st.sampled_from([COMMUNITY, BASE_UNIT]),
)
def test_no_feature_makes_the_reader_raise(properties, geometry, kind):
    data = geojson({"type": "Feature", "properties": properties, "geometry": geometry})
    parsed = read(data, kind=kind, communities={"C1"})
    assert parsed.ok == (len(parsed.rows) == 1)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["t.csv", "t.geojson"]))
def test_no_bytes_make_the_reader_raise(data, filename):
    parsed = read(data, filename)
    assert parsed.problems or parsed.rows


def test_the_reader_does_not_import_django():
    code = (
        "import sys, jingwang.lib.territory_files; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
