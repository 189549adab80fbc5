from __future__ import annotations

import pytest

from jingwang.lib.geo import wgs84_to_gcj02
from jingwang.territory import index
from jingwang.territory.models import GridVersion
from tests.cast import box, make_grid


def locate(client, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/api/v1/territory/locate?{query}")


def test_a_point_resolves_to_the_finest_grid_and_its_parents(world):
    body = locate(world.client("officer"), lon=105.012, lat=31.005).json()
    assert body["found"] is True
    assert body["grid"]["code"] == "TC-D1-S1-B2-C1"
    assert [g["code"] for g in body["ancestors"]] == ["TC-D1", "TC-D1-S1", "TC-D1-S1-B2"]


def test_a_point_on_a_shared_boundary_goes_to_the_smallest_code(world):
    client = world.client("officer")
    # x = 105.01 is the edge between block B1's cluster C2 and block B2's cluster C1.
    assert locate(client, lon=105.01, lat=31.005).json()["grid"]["code"] == "TC-D1-S1-B1-C2"
    assert locate(client, lon=105.005, lat=31.01).json()["grid"]["code"] == "TC-D1-S1-B1-C1"


def test_a_point_outside_every_grid_says_so(world):
    body = locate(world.client("officer"), lon=106.0, lat=31.005).json()
    assert body["found"] is False and body["grid"] is None and body["message"]


def test_gcj02_input_is_converted(world):
    lon, lat = wgs84_to_gcj02(105.012, 31.005)
    body = locate(world.client("officer"), lon=lon, lat=lat, crs="gcj02").json()
    assert body["grid"]["code"] == "TC-D1-S1-B2-C1"
    assert abs(body["lon"] - 105.012) < 1e-6 and abs(body["lat"] - 31.005) < 1e-6


@pytest.mark.parametrize(
    "params, field",
    [
        ({"lon": 200, "lat": 31}, "lon"),
        ({"lon": 105, "lat": "north"}, "lat"),
        ({"lat": 31}, "lon"),
        ({"lon": 105, "lat": 31, "crs": "bd09"}, "crs"),
    ],
)
def test_bad_coordinates_name_the_field(world, params, field):
    response = locate(world.client("officer"), **params)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_index_follows_a_new_grid_version(world):
    client = world.client("officer")
    assert locate(client, lon=105.001, lat=31.001).json()["grid"]["code"] == "TC-D1-S1-B1-C1"
    index.station_index(world.station.id)  # cached now
    GridVersion.objects.filter(pk=world.version.pk).update(is_current=False)
    version = GridVersion.objects.create(station=world.station, number=2, is_current=True)
    make_grid(version, "TC-NEW", "district", box(105.0, 31.0, 105.02, 31.01))
    assert locate(client, lon=105.001, lat=31.001).json()["grid"]["code"] == "TC-NEW"


def test_grid_worker_only_locates_within_their_grids(world):
    client = world.client("grid_worker")
    assert locate(client, lon=105.001, lat=31.001).json()["found"] is True
    assert locate(client, lon=105.015, lat=31.001).json()["found"] is False


def test_health_endpoint(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "up"


def test_health_endpoint_reports_a_dead_database(client, db, monkeypatch):
    class DeadConnection:
        def cursor(self):
            raise OSError("connection refused")

    monkeypatch.setattr("jingwang.urls.connection", DeadConnection())
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "down"


def test_openapi_and_docs_are_served_without_a_cdn(world):
    client = world.client("officer")
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/territory/locate" in spec["paths"]
    docs = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs


def test_grid_page_shows_parent_children_figures_and_people(world):
    page = world.client("chief").get(f"/territory/grids/{world.sector.id}/").content.decode()
    assert "TC-D1" in page.split('class="crumbs"')[1].split("</nav>")[0]
    assert "TC-D1-S1-B1" in page and "TC-D1-S1-B2" in page
    assert 'id="fig-households">200<' in page
    assert "王警官" in page and "李辅警" in page


def test_map_page_draws_the_grids_of_a_level(world):
    # The page names the level; its grids come from the shapes endpoint by visible area
    # (territory/tests/test_map_layers.py).
    page = world.client("chief").get("/territory/?station=TC&level=cluster").content.decode()
    assert '"level": "cluster"' in page and 'id="map-config"' in page
    shapes = world.client("chief").get("/territory/map/shapes/?station=TC&level=cluster").json()
    assert [f["properties"]["level"] for f in shapes["grids"]["features"]] == ["cluster"] * 4
    assert "leaflet.js" in page
