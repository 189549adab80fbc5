"""The territory map by level and visible area, cached under the grid stamp, and its point
layers: points one by one when few, counts per finest grid when many; every request within
the reader's permission and scope (404 and a denied event otherwise)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely
from django.core.cache import cache

from jingwang.accounts.roles import Perm
from jingwang.audit.models import AuditEvent
from jingwang.incidents.models import Category, Incident
from jingwang.incidents.queries import incidents_visible_to
from jingwang.territory import maps
from jingwang.territory.models import Grid, GridVersion
from tests.cast import World, box, make_grid

WHEN = datetime(2026, 11, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
LAYER = "test_incidents"
ALL = "104.9,30.9,105.1,31.1"
WEST_HALF_OF_A = "105.0,31.0,105.004,31.01"  # inside block A's first cluster


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    maps._memo.clear()
    yield
    maps._memo.clear()


@pytest.fixture
def layer() -> Iterator[maps.PointLayer]:
    def only_open(rows: Any, params: Any) -> Any:
        return rows.exclude(status="closed") if params.get("open") == "1" else rows

    found = maps.PointLayer(
        name=LAYER,
        label="事件（测试）",
        perm=Perm.INCIDENTS_VIEW,
        rows=incidents_visible_to,
        describe=lambda row: {"label": row.number, "kind": row.category.name, "url": "/x/"},
        select_related=("category",),
        filter=only_open,
        create_url="territory:grids",
        create_perm=Perm.INCIDENTS_RECORD,
        create_label="新建事件",
    )
    maps.register_points(found)
    yield found
    maps.unregister_points(LAYER)


def _cluster(code: str) -> Grid:
    return Grid.objects.get(code=code, version__is_current=True)


def _incidents(world: World, grid_code: str, n: int, *, start: int = 0, **fields: Any) -> None:
    category, _ = Category.objects.get_or_create(
        bureau=world.bureau, code="help", defaults={"name": "求助"}
    )
    grid = _cluster(grid_code)
    x0, y0, x1, y1 = grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat
    rows = []
    for i in range(n):
        lon = x0 + (x1 - x0) * (i + 1) / (n + 2)
        lat = y0 + (y1 - y0) * (i + 1) / (n + 2)
        rows.append(
            Incident(
                station=world.station,
                number=f"{grid_code}-{start + i}",
                received_at=WHEN,
                source="call_110",
                category=category,
                lon=lon,
                lat=lat,
                grid=grid,
                grid_at_time=grid,
                **fields,
            )
        )
    Incident.objects.bulk_create(rows)


def _config(page: str) -> dict[str, Any]:
    start = page.index('<script id="map-config" type="application/json">') + len(
        '<script id="map-config" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


def _shapes(world: World, role: str, query: str) -> Any:
    return world.client(role).get(f"/territory/map/shapes/?{query}")


def _points(world: World, role: str, query: str, name: str = LAYER) -> Any:
    return world.client(role).get(f"/territory/map/points/{name}/?{query}")


# ---- the page -------------------------------------------------------------------------------


def test_the_page_sends_no_shapes_inline_but_the_outline_and_the_layers(
    world: World, layer: maps.PointLayer
) -> None:
    page = world.client("chief").get("/territory/?station=TC&level=cluster").content.decode()
    assert 'id="map-data"' not in page  # no inline grids any more
    config = _config(page)
    assert config["station"] == "TC" and config["level"] == "cluster"
    assert config["shapes_url"] == "/territory/map/shapes/"
    assert config["bounds"] == pytest.approx([105.0, 31.0, 105.02, 31.01])
    outline = shapely.from_geojson(json.dumps(config["outline"]))
    assert outline.equals(shapely.box(105.0, 31.0, 105.02, 31.01))
    mine = next(entry for entry in config["layers"] if entry["name"] == LAYER)
    assert mine == {
        "name": LAYER,
        "label": "事件（测试）",
        "url": f"/territory/map/points/{LAYER}/",
        "color": "#d62728",
        "create_url": "/territory/grids/",
        "create_label": "新建事件",
    }
    assert f'data-map-layer="{LAYER}"' in page  # the checkbox


def test_the_page_offers_only_the_layers_and_creation_a_user_may(
    world: World, layer: maps.PointLayer
) -> None:
    grid_worker = _config(
        world.client("grid_worker").get("/territory/?station=TC").content.decode()
    )
    mine = next(entry for entry in grid_worker["layers"] if entry["name"] == LAYER)
    assert mine["create_url"] == ""  # may see incidents, not record them
    assert grid_worker["outline"] is None  # their grids only, not the station's outline
    assert grid_worker["bounds"] == pytest.approx([105.0, 31.0, 105.01, 31.01])
    volunteer = _config(world.client("volunteer").get("/territory/?station=TC").content.decode())
    assert LAYER not in [entry["name"] for entry in volunteer["layers"]]


# ---- shapes ---------------------------------------------------------------------------------


def _codes(response: Any, part: str = "grids") -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(f["properties"]["code"] for f in response.json()[part]["features"])


def test_shapes_by_level_and_visible_area(world: World) -> None:
    assert _codes(_shapes(world, "chief", f"station=TC&level=block&bbox={ALL}")) == [
        "TC-D1-S1-B1",
        "TC-D1-S1-B2",
    ]
    assert _codes(_shapes(world, "chief", f"station=TC&level=block&bbox={WEST_HALF_OF_A}")) == [
        "TC-D1-S1-B1"
    ]
    clusters = _codes(_shapes(world, "chief", f"station=TC&level=cluster&bbox={ALL}"))
    assert len(clusters) == 4
    response = _shapes(world, "chief", f"station=TC&level=district&bbox={ALL}")
    assert _codes(response, "communities") == ["C01"]
    feature = response.json()["grids"]["features"][0]
    assert feature["properties"]["url"] == f"/territory/grids/{world.district.id}/"
    assert feature["properties"]["households"] == 200


def test_a_grid_worker_gets_only_their_grids(world: World) -> None:
    assert _codes(_shapes(world, "grid_worker", f"station=TC&level=cluster&bbox={ALL}")) == [
        "TC-D1-S1-B1-C1",
        "TC-D1-S1-B1-C2",
    ]
    assert _codes(_shapes(world, "grid_worker", f"station=TC&level=district&bbox={ALL}")) == []


def test_shapes_are_simplified_per_level(world: World) -> None:
    # A district edge zigzagging by 5 m every 10 m: kept in the stored shape (simplified to a
    # metre), gone at the district level, where a pixel is tens of metres.
    version = GridVersion.objects.create(station=world.other_station, number=2)
    xs = [105.5 + i * 0.0001 for i in range(101)]
    wiggly = shapely.Polygon(
        [(x, 31.5 + (0.00005 if i % 2 else 0)) for i, x in enumerate(xs)]
        + [(105.51, 31.51), (105.5, 31.51)]
    )
    make_grid(version, "XX-D9", "district", wiggly)
    GridVersion.objects.filter(station=world.other_station).update(is_current=False)
    GridVersion.objects.filter(pk=version.pk).update(is_current=True)
    stored = shapely.from_geojson(Grid.objects.get(code="XX-D9").map_geojson)
    response = _shapes(world, "other_chief", "station=XX&level=district&bbox=104,30,106,32")
    drawn = shapely.from_geojson(json.dumps(response.json()["grids"]["features"][0]["geometry"]))
    assert shapely.get_num_coordinates(drawn) < 20 < shapely.get_num_coordinates(stored)
    assert drawn.symmetric_difference(stored).area < 0.01 * stored.area


def test_the_cache_follows_the_grid_version(world: World, monkeypatch: Any) -> None:
    built: list[int] = []
    real = maps.build_shapes

    def counted(*args: Any) -> maps.StationShapes:
        built.append(1)
        return real(*args)

    monkeypatch.setattr(maps, "build_shapes", counted)
    first = _shapes(world, "chief", f"station=TC&level=block&bbox={ALL}").json()
    _shapes(world, "chief", f"station=TC&level=block&bbox={WEST_HALF_OF_A}")
    assert len(built) == 1  # built once, then from the cache
    maps._memo.clear()  # another process: Django's cache has it
    _shapes(world, "chief", f"station=TC&level=block&bbox={ALL}")
    assert len(built) == 1
    # A new grid version: every process sees another stamp and builds again.
    version = GridVersion.objects.create(station=world.station, number=2)
    district = make_grid(version, "TC2-D1", "district", box(105.0, 31.0, 105.02, 31.01))
    make_grid(version, "TC2-D1-S1-B1", "block", box(105.0, 31.0, 105.02, 31.01), district)
    GridVersion.objects.filter(pk=world.version.pk).update(is_current=False)
    GridVersion.objects.filter(pk=version.pk).update(is_current=True)
    second = _shapes(world, "chief", f"station=TC&level=block&bbox={ALL}").json()
    assert len(built) == 2
    assert second["stamp"] != first["stamp"]
    assert [f["properties"]["code"] for f in second["grids"]["features"]] == ["TC2-D1-S1-B1"]


def test_a_response_naming_the_current_stamp_may_be_kept_by_the_browser(world: World) -> None:
    stamp = _shapes(world, "chief", "station=TC&level=block").json()["stamp"]
    kept = _shapes(world, "chief", f"station=TC&level=block&v={stamp}")
    assert kept["Cache-Control"] == "private, max-age=300"
    stale = _shapes(world, "chief", "station=TC&level=block&v=0-0-0")
    assert "no-store" in stale["Cache-Control"]


@pytest.mark.parametrize(
    "query",
    [
        "station=TC&bbox=1,2,3",
        "station=TC&bbox=a,b,c,d",
        "station=TC&bbox=105.1,31,105,31.1",  # min above max
        "station=TC&bbox=nan,31,105,31.1",
        "station=TC&bbox=１,2,3,4",
        "level=block",  # no station
    ],
)
def test_a_bad_request_names_its_parameter(world: World, query: str) -> None:
    response = _shapes(world, "chief", query)
    assert response.status_code == 400
    assert "bbox" in response.content.decode() or "station" in response.content.decode()


def _denied(world: World, role: str) -> int:
    return AuditEvent.objects.filter(outcome="denied", actor_id=world.users[role].id).count()


def test_another_station_or_no_permission_is_a_404_and_a_denied_event(
    world: World, layer: maps.PointLayer
) -> None:
    for role, url in [
        ("other_chief", f"/territory/map/shapes/?station=TC&bbox={ALL}"),
        ("other_chief", f"/territory/map/points/{LAYER}/?station=TC&bbox={ALL}"),
        ("auditor", f"/territory/map/shapes/?station=TC&bbox={ALL}"),
        ("volunteer", f"/territory/map/points/{LAYER}/?station=TC&bbox={ALL}"),  # no incidents
        ("mediator", f"/territory/map/points/{LAYER}/?station=TC&bbox={ALL}"),
        ("chief", f"/territory/map/points/no_such_layer/?station=TC&bbox={ALL}"),
    ]:
        before = _denied(world, role)
        assert world.client(role).get(url).status_code == 404, (role, url)
        assert _denied(world, role) == before + 1, (role, url)


# ---- points ---------------------------------------------------------------------------------


def test_few_points_are_drawn_one_by_one_in_the_view(world: World, layer: maps.PointLayer) -> None:
    _incidents(world, "TC-D1-S1-B1-C1", 3)
    _incidents(world, "TC-D1-S1-B2-C2", 2)
    everything = _points(world, "chief", f"station=TC&bbox={ALL}").json()
    assert everything["mode"] == "points" and everything["total"] == 5
    labels = sorted(f["properties"]["label"] for f in everything["features"])
    assert labels[0] == "TC-D1-S1-B1-C1-0" and len(labels) == 5
    first = everything["features"][0]
    assert first["properties"]["kind"] == "求助" and first["properties"]["url"] == "/x/"
    assert first["geometry"]["type"] == "Point"
    west = _points(world, "chief", f"station=TC&bbox={WEST_HALF_OF_A}").json()
    assert sorted(f["properties"]["label"] for f in west["features"]) == [
        "TC-D1-S1-B1-C1-0",
        "TC-D1-S1-B1-C1-1",
        "TC-D1-S1-B1-C1-2",
    ]


def test_many_points_are_counted_per_finest_grid(
    world: World, layer: maps.PointLayer, monkeypatch: Any
) -> None:
    monkeypatch.setattr(maps, "POINTS_CAP", 4)
    monkeypatch.setattr(maps.points_in_view, "__defaults__", (4,))
    _incidents(world, "TC-D1-S1-B1-C1", 3)
    _incidents(world, "TC-D1-S1-B2-C2", 2)
    found = _points(world, "chief", f"station=TC&bbox={ALL}").json()
    assert found["mode"] == "bins" and found["total"] == 5
    bins = {f["properties"]["code"]: f for f in found["features"]}
    assert {code: f["properties"]["count"] for code, f in bins.items()} == {
        "TC-D1-S1-B1-C1": 3,
        "TC-D1-S1-B2-C2": 2,
    }
    lon, lat = bins["TC-D1-S1-B1-C1"]["geometry"]["coordinates"]
    assert _cluster("TC-D1-S1-B1-C1").geometry.contains(shapely.Point(lon, lat))


def test_points_respect_the_layers_scope_and_filter(world: World, layer: maps.PointLayer) -> None:
    _incidents(world, "TC-D1-S1-B1-C1", 2)
    _incidents(world, "TC-D1-S1-B2-C1", 2, start=10, status="closed")
    grid_worker = _points(world, "grid_worker", f"station=TC&bbox={ALL}").json()
    assert grid_worker["total"] == 2  # block A's only
    assert {f["properties"]["label"][:14] for f in grid_worker["features"]} == {"TC-D1-S1-B1-C1"}
    chief = _points(world, "chief", f"station=TC&bbox={ALL}&open=1").json()
    assert chief["total"] == 2  # the layer's filter: closed ones left out
    xx = _points(world, "other_chief", f"station=XX&bbox={ALL}").json()
    assert xx == {"mode": "points", "total": 0, "features": []}


def test_a_wide_view_gets_coarser_shapes(world: World) -> None:
    # A block edge zigzagging by 8 m every 5 m: drawn close up (zoom 16), smoothed away when
    # the view is a whole county (zoom 11, a pixel ~65 m).
    version = GridVersion.objects.create(station=world.other_station, number=2)
    xs = [105.5 + i * 0.00005 for i in range(201)]
    wiggly = shapely.Polygon(
        [(x, 31.5 + (0.00008 if i % 2 else 0)) for i, x in enumerate(xs)]
        + [(105.51, 31.51), (105.5, 31.51)]
    )
    make_grid(version, "XX-B9", "block", wiggly)
    GridVersion.objects.filter(station=world.other_station).update(is_current=False)
    GridVersion.objects.filter(pk=version.pk).update(is_current=True)

    def vertices(zoom: int) -> int:
        query = f"station=XX&level=block&bbox=104,30,106,32&zoom={zoom}"
        geometry = _shapes(world, "other_chief", query).json()["grids"]["features"][0]["geometry"]
        return int(shapely.get_num_coordinates(shapely.from_geojson(json.dumps(geometry))))

    assert vertices(11) < 20 < 100 < vertices(16)
