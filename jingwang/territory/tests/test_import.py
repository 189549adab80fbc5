"""Importing communities and base units through the page and the command line."""

from __future__ import annotations

import io
import json
import re
from io import StringIO
from pathlib import Path

import pytest
import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent
from jingwang.core import imports as core_imports
from jingwang.lib import territory_files
from jingwang.lib.geo import gcj02_to_wgs84, map_shape
from jingwang.territory import imports
from jingwang.territory.models import BaseUnit, Community

FILES = Path(__file__).parent / "files"
SQUARE = [[[105.06, 31.0], [105.07, 31.0], [105.07, 31.01], [105.06, 31.01], [105.06, 31.0]]]
BOWTIE = [[[105.0, 31.0], [105.02, 31.02], [105.02, 31.0], [105.0, 31.02], [105.0, 31.0]]]


def english_client(world, name="chief"):
    client = world.client(name)
    client.post("/accounts/language/", {"language": "en"})
    return client


def upload(client, filename, data, *, station="TC", kind="community", crs="auto"):
    if isinstance(data, Path):
        data = data.read_bytes()
    file = SimpleUploadedFile(filename, data)
    return client.post(
        "/territory/import/", {"station": station, "kind": kind, "crs": crs, "file": file}
    )


def feature_collection(*features, **top):
    return json.dumps({"type": "FeatureCollection", **top, "features": list(features)}).encode()


def feature(geometry=None, **properties):
    geometry = geometry or {"type": "Polygon", "coordinates": SQUARE}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def error_rows(page):
    """(row, field, message) of every row of the error table."""
    table = page.split('id="import-errors"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td>(.*?)</td></tr>", table, re.S)
    return [(row, field, message) for row, field, message in rows]


def snapshot():
    return (
        list(Community.objects.order_by("id").values_list("code", "name", "population")),
        list(BaseUnit.objects.order_by("id").values_list("code", "name", "population")),
    )


# --- the page -----------------------------------------------------------------------------------


def test_chief_imports_communities_and_the_import_is_audited(world):
    client = english_client(world)

    response = upload(client, "communities.geojson", FILES / "communities.geojson")

    assert response.status_code == 200
    page = response.content.decode()
    assert "communities.geojson was imported: 2 created, 0 updated." in page
    west = Community.objects.get(station=world.station, code="C02")
    assert (west.name, west.kind, west.community_type) == ("西街社区", "urban", "commercial")
    assert (west.population, west.households, west.complexity) == (3200, 1100, 1.5)
    assert west.geometry.equals(shapely.box(105.02, 31.0, 105.04, 31.01))
    assert west.area_km2 > 1 and (west.min_lon, west.max_lat) == (105.02, 31.01)
    village = Community.objects.get(station=world.station, code="C03")
    assert (village.kind, village.community_type, village.population) == (
        "village",
        "residential",
        860,
    )
    assert village.geometry.geom_type == "MultiPolygon"
    event = AuditEvent.objects.get(action="import_territory")
    assert (event.actor_name, event.station_id, event.outcome) == ("chief", world.station.id, "ok")
    assert json.loads(event.detail) == {
        "filename": "communities.geojson",
        "kind": "community",
        "format": "geojson",
        "crs": "wgs84",
        "source": "web",
        "created": 2,
        "updated": 0,
        "errors": 0,
    }


def test_a_file_with_errors_shows_each_and_writes_nothing(world):
    client = english_client(world)
    before = snapshot()

    response = upload(client, "bad.geojson", FILES / "communities-with-errors.geojson")

    assert response.status_code == 200
    page = response.content.decode()
    assert "bad.geojson has 7 errors. Nothing was imported" in page
    assert error_rows(page) == [
        ("2", "geometry", "Invalid shape: Self-intersection at or near point 105.01 31.01."),
        ("3", "name", "This field is required."),
        (
            "3",
            "kind",
            "Unknown value “town”: use one of village, 村, 行政村, urban, 社区, 城市社区.",
        ),
        ("3", "population", "This must not be negative (it is -5)."),
        ("3", "geometry", "Invalid shape: Too few points at or near point 105.08 31."),
        (
            "4",
            "geometry",
            "A Point cannot be used here: use one of Polygon, MultiPolygon.",
        ),
        ("4", "code", "The code “C05” is also used in row 1."),
    ]
    assert '<th class="num">Feature</th>' in page
    assert snapshot() == before
    event = AuditEvent.objects.get(action="import_territory")
    assert event.outcome == "failed" and json.loads(event.detail)["errors"] == 7


def test_reimporting_updates_instead_of_duplicating(world):
    client = english_client(world)
    upload(client, "communities.geojson", FILES / "communities.geojson")
    changed = feature_collection(
        feature(code="C02", name="西街社区（新）", kind="urban", population=3300),
        feature(code="C01", name="东街社区", kind="urban"),
    )

    response = upload(client, "again.geojson", changed)

    assert "again.geojson was imported: 0 created, 2 updated." in response.content.decode()
    assert Community.objects.filter(station=world.station).count() == 3
    west = Community.objects.get(station=world.station, code="C02")
    # Given fields change; fields left out keep their values.
    assert (west.name, west.population, west.households) == ("西街社区（新）", 3300, 1100)
    assert west.community_type == "commercial"
    assert west.geometry.equals(shapely.Polygon(SQUARE[0]))
    # The shape drawn on the map is the new one too.
    assert west.map_geojson == map_shape(shapely.Polygon(SQUARE[0]))
    assert Community.objects.get(station=world.other_station, code="C01").name == "别处村"


def test_gcj02_declared_in_the_file_is_stored_as_wgs84(world):
    client = english_client(world)

    response = upload(client, "gcj.geojson", FILES / "communities-gcj02.geojson")

    assert "Coordinates were converted from GCJ-02 to WGS-84." in response.content.decode()
    stored = Community.objects.get(code="C04").geometry
    expected = [gcj02_to_wgs84(x, y) for x, y in SQUARE_OF_C04]
    assert shapely.get_coordinates(stored).ravel().tolist() == pytest.approx(
        [value for point in expected for value in point], abs=1e-7
    )
    assert abs(stored.bounds[0] - 105.05) > 1e-3  # really moved, by a few hundred metres
    assert json.loads(AuditEvent.objects.get(action="import_territory").detail)["crs"] == "gcj02"


SQUARE_OF_C04 = [(105.05, 31.0), (105.06, 31.0), (105.06, 31.01), (105.05, 31.01), (105.05, 31.0)]


def test_gcj02_chosen_on_the_page_converts_a_csv(world):
    client = english_client(world)

    response = upload(
        client, "points.csv", FILES / "base-units-points.csv", kind="base-unit", crs="gcj02"
    )

    assert "2 created" in response.content.decode()
    point = BaseUnit.objects.get(code="B11").geometry
    assert (point.x, point.y) == pytest.approx(gcj02_to_wgs84(105.012, 31.004), abs=1e-7)


def test_base_units_from_csv_with_wkt(world):
    client = english_client(world)

    response = upload(client, "units.csv", FILES / "base-units-wkt.csv", kind="base-unit")

    assert "units.csv was imported: 2 created, 0 updated." in response.content.decode()
    first, second = BaseUnit.objects.filter(station=world.station).order_by("code")
    assert (first.code, first.community, first.kind, first.population) == (
        "B01",
        world.community,
        "urban",
        120,
    )
    assert (first.complexity, second.complexity, second.kind) == (0.8, 0.0, "urban")
    assert first.geometry.equals(shapely.box(105.0, 31.0, 105.005, 31.005))


def test_base_units_from_csv_with_lon_lat_are_points(world):
    client = english_client(world)

    upload(client, "points.csv", FILES / "base-units-points.csv", kind="base-unit")

    unit = BaseUnit.objects.get(station=world.station, code="B12")
    assert unit.geometry.equals(shapely.Point(105.015, 31.006))
    assert (unit.area_km2, unit.population, unit.households) == (0, 5, 2)


def test_a_csv_saved_by_chinese_excel_is_read_as_gb18030(world):
    client = english_client(world)
    data = (FILES / "base-units-points.csv").read_text(encoding="utf-8").encode("gb18030")

    response = upload(client, "points.csv", data, kind="base-unit")

    assert "The file is not UTF-8; it was read as GB18030." in response.content.decode()
    assert BaseUnit.objects.get(code="B11").name == "东街小卖部"


def test_base_units_must_name_a_community_of_the_station(world):
    client = english_client(world)
    data = (
        b"code,name,kind,community,lon,lat\n"
        b"B21,a,rural,C01,105.0,31.0\n"
        b"B22,b,rural,C99,105.0,31.0\n"
    )

    response = upload(client, "units.csv", data, kind="base-unit")

    assert error_rows(response.content.decode()) == [
        ("3", "community", "There is no village or community with code “C99” in this station.")
    ]
    assert '<th class="num">Line</th>' in response.content.decode()
    assert not BaseUnit.objects.exists()


def test_base_units_of_a_station_without_communities(world):
    client = english_client(world, "bureau_admin")
    data = b"code,name,kind,community,lon,lat\nB21,a,rural,C01,105.0,31.0\n"
    Community.objects.filter(station=world.other_station).delete()

    response = upload(client, "units.csv", data, station="XX", kind="base-unit")

    assert error_rows(response.content.decode()) == [
        (
            "—",
            "—",
            "This station has no villages or communities yet: import them first, "
            "then their base units.",
        )
    ]


def test_bureau_admin_imports_into_any_station_of_the_bureau(world):
    client = english_client(world, "bureau_admin")

    upload(client, "communities.geojson", FILES / "communities.geojson", station="XX")

    assert Community.objects.filter(station=world.other_station, code="C02").exists()
    assert not Community.objects.filter(station=world.station, code="C02").exists()


@pytest.mark.parametrize(
    "filename, data, row, field, message",
    [
        (
            "a.geojson",
            b'{"type": "FeatureCollection",\n "features": [}',
            "—",
            "—",
            "The file is not valid JSON: the error is at line 2, column 15.",
        ),
        ("a.geojson", b"[" * 100_000, "—", "—", "nested too deeply"),
        (
            "a.geojson",
            b'{"type": "Feature"}',
            "—",
            "—",
            "must be a GeoJSON FeatureCollection, but it is a “Feature”.",
        ),
        ("a.geojson", feature_collection(), "—", "—", "The file holds no rows to import."),
        ("a.shp", b"\x00\x00\x27\x0a", "—", "—", "Files ending in “.shp” cannot be imported"),
        (
            "a.geojson",
            feature_collection(
                feature(code="C9"), crs={"type": "name", "properties": {"name": "EPSG:3857"}}
            ),
            "—",
            "—",
            "Unknown coordinate system “EPSG:3857”: use WGS-84 or GCJ-02.",
        ),
        (
            "a.csv",
            b"code,name,kind\nC9,x,village\n",
            "—",
            "—",
            "The file has no shape columns: add a “wkt” column, or “lon” and “lat” columns.",
        ),
        (
            "a.csv",
            b"code,name,kind,lon,lat\nC9,x,village,105,31\n",
            "—",
            "—",
            "Villages and communities need polygon shapes",
        ),
        (
            "a.csv",
            b"code,kind,wkt\nC9,village,POINT (1 1)\n",
            "—",
            "name",
            "The required column “name” is missing.",
        ),
        (
            "a.csv",
            b'code,name,kind,wkt\nC9,x,village,"POLYGON ((105 31, 106 31, 106 32, 105 31))\n',
            "—",
            "—",
            "cannot be read near line",
        ),
        (
            "a.csv",
            b"code,name,kind,wkt\n\nC9,x,village,POLYGON ((105 31, 106 31, 106 32, 105 31))\n",
            "3",
            "—",
            "This line has 7 values but the header has 4: put values that contain commas, such as WKT, in double quotes.",
        ),
        (
            "a.csv",
            b"code,name,kind,wkt\nC9,x,village,POLYGON (105 31)\n",
            "2",
            "wkt",
            "The shape cannot be read: check its type and coordinates.",
        ),
        (
            "a.csv",
            b'code,name,kind,wkt\nC9,x,village,"POLYGON EMPTY"\n',
            "2",
            "wkt",
            "The shape is empty.",
        ),
        ("a.csv", b"code,name,kind,wkt\nC9,x,village,\n", "2", "wkt", "The shape is missing."),
        (
            "a.csv",
            b'code,name,kind,wkt\nC9,x,village,"POLYGON ((31 105, 32 105, 32 106, 31 105))"\n',
            "2",
            "wkt",
            "The point 31, 105 is not in longitude/latitude degrees",
        ),
        (
            "a.csv",
            b'code,name,kind,population,wkt\nC9,x,village,12.5,"POLYGON ((105 31, 106 31, 106 32, 105 31))"\n',
            "2",
            "population",
            "“12.5” is not a whole number.",
        ),
        (
            "a.csv",
            '编码,名称,类别,人口,wkt\nC9,x,village,abc,"POLYGON ((105 31, 106 31, 106 32, 105 31))"\n'.encode(),
            "2",
            "人口",
            "“abc” is not a whole number.",
        ),
        (
            "a.csv",
            f'code,name,kind,wkt\n{"C" * 33},x,village,"POLYGON ((105 31, 106 31, 106 32, 105 31))"\n'.encode(),
            "2",
            "code",
            "At most 32 characters are allowed (this has 33).",
        ),
        (
            "a.geojson",
            feature_collection(feature(code="C9", name="x", kind="village", complexity="high")),
            "1",
            "complexity",
            "“high” is not a number.",
        ),
        (
            "a.geojson",
            feature_collection(feature(code="C9", name="x", kind="village", community_type="farm")),
            "1",
            "community_type",
            "Unknown value “farm”",
        ),
        (
            "a.geojson",
            feature_collection(
                {"type": "Feature", "properties": {"code": "C9", "name": "x", "kind": "village"}}
            ),
            "1",
            "geometry",
            "The shape is missing.",
        ),
        (
            "a.geojson",
            feature_collection(
                feature(
                    {"type": "Polygon", "coordinates": "here"}, code="C9", name="x", kind="village"
                )
            ),
            "1",
            "geometry",
            "The shape cannot be read",
        ),
        (
            "a.geojson",
            feature_collection(feature(code=["C9"], name="x", kind="village")),
            "1",
            "code",
            "This field must be text.",
        ),
        (
            "a.geojson",
            feature_collection(["not", "a", "feature"]),
            "1",
            "type",
            "This is not a GeoJSON Feature object.",
        ),
    ],
)
def test_each_bad_case_names_the_row_and_field(world, filename, data, row, field, message):
    client = english_client(world)
    before = snapshot()

    response = upload(client, filename, data)

    assert response.status_code == 200
    rows = error_rows(response.content.decode())
    matching = [r for r in rows if r[0] == row and r[1] == field and message in r[2]]
    assert matching, rows
    assert snapshot() == before
    assert AuditEvent.objects.get(action="import_territory").outcome == "failed"


def test_declared_and_chosen_crs_must_agree(world):
    client = english_client(world)

    response = upload(client, "gcj.geojson", FILES / "communities-gcj02.geojson", crs="wgs84")

    assert error_rows(response.content.decode()) == [
        (
            "—",
            "—",
            "The file declares GCJ-02 coordinates but WGS-84 was chosen: choose one that agrees "
            "with the file, or “as declared in the file”.",
        )
    ]


def test_an_empty_upload_is_refused_by_the_form(world):
    response = upload(english_client(world), "a.geojson", b"")

    assert "The submitted file is empty." in response.content.decode()
    assert not AuditEvent.objects.filter(action="import_territory").exists()


def test_the_form_itself_checks_its_fields(world):
    client = english_client(world)

    response = client.post("/territory/import/", {"station": "TC", "kind": "farm"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required." in page and "Select a valid choice." in page
    assert not AuditEvent.objects.filter(action="import_territory").exists()


def test_the_page_offers_only_the_users_stations(world):
    page = english_client(world).get("/territory/import/").content.decode()
    assert '<option value="TC"' in page and 'value="XX"' not in page
    page = english_client(world, "bureau_admin").get("/territory/import/").content.decode()
    assert '<option value="TC"' in page and '<option value="XX"' in page


def other_chief(world):
    """The chief of station XX: the same powers as TC's chief, elsewhere."""
    found = world.users.get("other_chief")
    if found is None:
        found = User.objects.create(
            username="xx_chief", role="station_chief", station=world.other_station
        )
        world.users["xx_chief"] = found
    return found.username


@pytest.mark.parametrize(
    "name", ["officer", "grid_worker", "auditor", "other_officer", "other_chief"]
)
def test_who_may_not_import_into_tc_gets_404_nothing_changes_and_a_denied_event(world, name):
    name = other_chief(world) if name == "other_chief" else name
    client = world.client(name)
    before = snapshot()

    page = client.get("/territory/import/?station=TC")
    posted = upload(client, "communities.geojson", FILES / "communities.geojson")

    assert (page.status_code, posted.status_code) == (404, 404)
    assert snapshot() == before
    assert not AuditEvent.objects.filter(action="import_territory").exists()
    denied = AuditEvent.objects.filter(actor_name=name, outcome="denied")
    assert denied.count() == 2
    assert {json.loads(e.detail)["method"] for e in denied} == {"GET", "POST"}


def test_chief_of_tc_cannot_import_into_xx(world):
    before = snapshot()
    client = world.client("chief")

    response = upload(client, "communities.geojson", FILES / "communities.geojson", station="XX")

    assert response.status_code == 404
    assert client.get("/territory/import/?station=XX").status_code == 404
    assert snapshot() == before


# --- spreadsheets -------------------------------------------------------------------------------


def workbook(*rows, title="Sheet1", before=()):
    book = Workbook()
    book.active.title = "说明" if before else title
    if before:
        for row in before:
            book.active.append(list(row))
        book.create_sheet(title)
    for row in rows:
        book[title].append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_base_units_from_xlsx_with_chinese_headers_and_number_cells(world):
    client = english_client(world)
    data = workbook(
        ["潼川派出所基础单元登记表"],
        ["编码", "名称", "类别", "所属社区", "人口", "户数", "经度", "纬度"],
        ["B31", "东街小卖部", "城镇", "C01", 3, 1, 105.012, 31.004],
        [32, "东街诊所", "urban", "C01", 5.0, None, 105.015, 31.006],
    )

    response = upload(client, "units.xlsx", data, kind="base-unit")

    page = response.content.decode()
    assert "units.xlsx was imported: 2 created, 0 updated." in page
    assert "The header is row 2: the rows above it were skipped." in page
    shop = BaseUnit.objects.get(station=world.station, code="B31")
    assert (shop.name, shop.kind, shop.community, shop.population) == (
        "东街小卖部",
        "urban",
        world.community,
        3,
    )
    assert shop.geometry.equals(shapely.Point(105.012, 31.004))
    assert BaseUnit.objects.get(code="32").households == 0
    event = AuditEvent.objects.get(action="import_territory")
    assert (
        json.loads(event.detail)["format"] == "xlsx"
        and json.loads(event.detail)["sheet"] == "Sheet1"
    )


def test_communities_from_an_xlsx_sheet_chosen_by_name_with_wkt(world):
    client = english_client(world)
    data = workbook(
        ["code", "name", "kind", "wkt"],
        ["C21", "北村", "村", "POLYGON ((105 31, 105.01 31, 105.01 31.01, 105 31.01, 105 31))"],
        ["C22", "南村", "村", "POLYGON ((105 31, 105.02 31.02, 105.02 31, 105 31.02, 105 31))"],
        title="村",
        before=[["填表说明"]],
    )
    file = SimpleUploadedFile("villages.xlsx", data)

    response = client.post(
        "/territory/import/",
        {"station": "TC", "kind": "community", "crs": "auto", "sheet": "村", "file": file},
    )

    page = response.content.decode()
    assert error_rows(page) == [
        ("3", "wkt", "Invalid shape: Self-intersection at or near point 105.01 31.01.")
    ]
    assert '<th class="num">Row</th>' in page and "in the sheet “村”" in page
    assert not Community.objects.filter(code="C21").exists()


def test_an_unknown_sheet_is_named(world):
    client = english_client(world)
    file = SimpleUploadedFile("v.xlsx", workbook(["code"]))
    response = client.post(
        "/territory/import/",
        {"station": "TC", "kind": "community", "sheet": "2024", "file": file},
    )
    assert error_rows(response.content.decode()) == [
        ("—", "—", "The workbook has no sheet “2024”; its sheets are: Sheet1.")
    ]


def test_the_command_reads_an_xlsx_sheet(world, english, tmp_path):
    path = tmp_path / "units.xlsx"
    path.write_bytes(
        workbook(
            ["code", "name", "kind", "community", "lon", "lat"],
            ["B41", "x", "rural", "C01", 105.02, 31.02],
            title="units",
            before=[["readme"]],
        )
    )
    out = StringIO()

    call_command(
        "import_territory", str(path), station="TC", kind="base-unit", sheet="units", stdout=out
    )

    assert "units.xlsx: 1 created, 0 updated in station TC." in out.getvalue()
    assert BaseUnit.objects.get(code="B41").geometry.equals(shapely.Point(105.02, 31.02))


# --- limits -------------------------------------------------------------------------------------

POINTS_HEADER = "code,name,kind,community,lon,lat\n"


def point_rows(count, lon="105.0"):
    return "".join(f"B{i},u{i},rural,C01,{lon},31.0\n" for i in range(count))


def test_the_page_refuses_a_file_with_more_rows_than_its_limit(world, settings):
    settings.IMPORT_MAX_ROWS_WEB = 3
    client = english_client(world)

    response = upload(
        client, "units.csv", (POINTS_HEADER + point_rows(5)).encode(), kind="base-unit"
    )

    assert error_rows(response.content.decode()) == [
        (
            "—",
            "—",
            "The file holds more than 3 rows, the most one import may hold: reading stopped at "
            "row 5. Split the file into smaller ones.",
        )
    ]
    assert not BaseUnit.objects.exists()
    assert AuditEvent.objects.get(action="import_territory").outcome == "failed"


def test_the_command_line_has_its_own_row_limit(world, english, settings, tmp_path):
    settings.IMPORT_MAX_ROWS_WEB, settings.IMPORT_MAX_ROWS = 3, 4
    path = tmp_path / "units.csv"
    path.write_text(POINTS_HEADER + point_rows(4))
    call_command("import_territory", str(path), station="TC", kind="base-unit", stdout=StringIO())
    assert BaseUnit.objects.count() == 4

    path.write_text(POINTS_HEADER + point_rows(5))
    out = StringIO()
    with pytest.raises(CommandError, match="1 error: nothing was imported"):
        call_command("import_territory", str(path), station="TC", kind="base-unit", stdout=out)
    assert "more than 4 rows" in out.getvalue() and "stopped at row 6" in out.getvalue()


def test_a_shape_with_more_vertices_than_the_limit_names_its_row(world, settings):
    settings.IMPORT_MAX_VERTICES = 4
    big = feature(code="C31", name="大村", kind="village")  # the square: 5 positions

    response = upload(english_client(world), "big.geojson", feature_collection(big))

    assert error_rows(response.content.decode()) == [
        (
            "1",
            "geometry",
            "The shape has 5 vertices, more than the limit of 4: simplify it and import it again.",
        )
    ]
    assert not Community.objects.filter(code="C31").exists()


def test_a_hopeless_file_stops_being_checked_at_the_problem_limit(world, settings):
    settings.IMPORT_MAX_PROBLEMS = 3
    data = (POINTS_HEADER + point_rows(10, lon="east")).encode()

    response = upload(english_client(world), "bad.csv", data, kind="base-unit")

    rows = error_rows(response.content.decode())
    assert rows[:3] == [(str(line), "lon", "“east” is not a number.") for line in (2, 3, 4)]
    assert rows[3] == (
        "—",
        "—",
        "Checking stopped after 3 problems: the 7 rows from row 5 on were not checked. "
        "Correct the problems above and import the file again.",
    )
    assert "bad.csv has 4 errors." in response.content.decode()


# --- the action ---------------------------------------------------------------------------------


def test_the_action_reports_counts_for_a_large_file_in_one_write(
    world, django_assert_max_num_queries
):
    # 2,000 rows of triangles: bulk writes keep the statements few (SQLite takes ~70 a batch).
    features = [
        feature(
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [105 + i % 50 * 0.01, 31 + i // 50 * 0.01],
                        [105.01 + i % 50 * 0.01, 31 + i // 50 * 0.01],
                        [105.01 + i % 50 * 0.01, 31.01 + i // 50 * 0.01],
                        [105 + i % 50 * 0.01, 31 + i // 50 * 0.01],
                    ]
                ],
            },
            code=f"G{i:04}",
            name=f"村{i}",
            kind="village",
            population=i,
            households=i // 3,
        )
        for i in range(2000)
    ]
    data = feature_collection(*features)

    with django_assert_max_num_queries(60):
        report = imports.import_territory(
            world.users["chief"], world.station, "community", data, "big.geojson"
        )

    assert (report.ok, report.created, report.updated) == (True, 2000, 0)
    again = imports.import_territory(
        world.users["chief"], world.station, "community", data, "big.geojson"
    )
    assert (again.created, again.updated) == (0, 2000)
    assert Community.objects.filter(station=world.station).count() == 2001


def test_every_territory_problem_code_has_a_message_and_is_documented():
    docs = (Path(__file__).resolve().parents[3] / "docs" / "data-formats.md").read_text()
    territory = docs.split("## Territory")[1].split("\n## ")[0]
    codes = set(
        re.findall(
            r'(?:Problem|problem)\(\s*"([a-z_0-9]+)"', Path(territory_files.__file__).read_text()
        )
    )
    assert codes == {"no_communities", "unknown_community"}
    # Its own codes, and its wording of two shared ones.
    assert set(imports.MESSAGES) == codes | {"conflict", "shape_needs_wkt"}
    assert {"conflict", "shape_needs_wkt"} <= set(core_imports.MESSAGES)
    for code in imports.MESSAGES:
        assert f"`{code}`" in territory, code


def test_the_community_types_of_the_files_are_those_of_the_model():
    assert set(territory_files.COMMUNITY_TYPE_VALUES.values()) == set(Community.Type.values)
    assert set(territory_files.COMMUNITY_KIND_VALUES.values()) == set(Community.Kind.values)
    assert set(territory_files.BASE_UNIT_KIND_VALUES.values()) == set(BaseUnit.Kind.values)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_the_command_imports_and_reports(world, english):
    out = StringIO()

    call_command(
        "import_territory",
        str(FILES / "communities.geojson"),
        station="TC",
        kind="community",
        stdout=out,
    )

    assert "communities.geojson: 2 created, 0 updated in station TC." in out.getvalue()
    assert Community.objects.filter(station=world.station, code__in=["C02", "C03"]).count() == 2
    event = AuditEvent.objects.get(action="import_territory")
    assert (event.actor_name, event.actor_id, json.loads(event.detail)["source"]) == (
        "system",
        None,
        "cli",
    )


def test_the_command_lists_errors_and_fails(world, english):
    out = StringIO()
    before = snapshot()

    with pytest.raises(CommandError) as raised:
        call_command(
            "import_territory",
            str(FILES / "communities-with-errors.geojson"),
            "--station=TC",
            "--kind=community",
            stdout=out,
        )

    assert raised.value.returncode == 1
    assert "7 errors: nothing was imported." in str(raised.value)
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "row 2, field geometry: Invalid shape: Self-intersection at or near point 105.01 31.01."
    )
    assert "row 4, field code: The code “C05” is also used in row 1." in lines
    assert snapshot() == before


def test_the_command_converts_gcj02_when_told(world, english):
    call_command(
        "import_territory",
        str(FILES / "base-units-points.csv"),
        station="TC",
        kind="base-unit",
        crs="gcj02",
        stdout=StringIO(),
    )

    point = BaseUnit.objects.get(code="B11").geometry
    assert (point.x, point.y) == pytest.approx(gcj02_to_wgs84(105.012, 31.004), abs=1e-7)


def test_the_command_refuses_an_unknown_station_or_a_missing_file(world, english, tmp_path):
    with pytest.raises(CommandError, match="no station with code ZZ"):
        call_command(
            "import_territory", str(FILES / "communities.geojson"), station="ZZ", kind="community"
        )
    with pytest.raises(CommandError, match="Cannot read"):
        call_command(
            "import_territory", str(tmp_path / "none.geojson"), station="TC", kind="community"
        )
    assert not AuditEvent.objects.filter(action="import_territory").exists()
