"""Every role against every page and API call of the foundation: allowed (200) or 404.

Missing and forbidden both answer 404, so a user cannot even learn that a thing exists.
"""

from __future__ import annotations

import pytest

from tests.cast import ROLES

# Who may open what. Scoped rows (another station's grid, a grid outside a grid worker's own)
# are checked separately below.
FIELD_ROLES = {
    "bureau_admin",
    "chief",
    "officer",
    "auxiliary",
    "grid_worker",
    "mediator",
    "volunteer",
    "other_officer",
}
PEOPLE_ROLES = FIELD_ROLES - {"volunteer"}
MANAGERS = {"bureau_admin", "chief"}

PAGES = {
    "/": set(ROLES),
    "/accounts/tokens/": set(ROLES),
    "/territory/": FIELD_ROLES,
    "/territory/grids/": FIELD_ROLES,
    "/people/coverage/": FIELD_ROLES,
    "/people/": PEOPLE_ROLES,
    "/people/new/?station=TC": MANAGERS,
    "/territory/import/": MANAGERS,
    "/audit/": {"auditor"},
    "/accounts/users/": {"security_admin"},
    "/api/v1/territory/stations": FIELD_ROLES,
    "/api/v1/territory/grids": FIELD_ROLES,
    "/api/v1/territory/locate?lon=105.001&lat=31.005": FIELD_ROLES,
    "/api/v1/people/": PEOPLE_ROLES,
}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("url", sorted(PAGES))
def test_page_is_open_only_to_its_roles(world, role, url):
    response = world.client(role).get(url)
    expected = 200 if role in PAGES[url] else 404
    assert response.status_code == expected, f"{role} {url}: {response.status_code}"


# Rows that belong to station TC, and to grid A (block B1, the grid worker's) or not.
def _rows(world):
    return {
        "grid_a": f"/territory/grids/{world.block_a.id}/",
        "grid_b": f"/territory/grids/{world.block_b.id}/",
        "sector": f"/territory/grids/{world.sector.id}/",
        "other_station_grid": f"/territory/grids/{world.other_block.id}/",
        "api_grid_a": f"/api/v1/territory/grids/{world.block_a.id}",
        "api_grid_b": f"/api/v1/territory/grids/{world.block_b.id}",
        "api_other_grid": f"/api/v1/territory/grids/{world.other_block.id}",
        "officer_person": f"/people/{world.people['officer'].id}/",
        "grid_worker_person": f"/people/{world.people['grid_worker'].id}/",
        "api_officer_person": f"/api/v1/people/{world.people['officer'].id}",
        "officer_edit": f"/people/{world.people['officer'].id}/edit/",
        "other_station_person": f"/people/{world.people['other_officer'].id}/",
        "missing_grid": "/territory/grids/999999/",
        "missing_person": "/people/999999/",
    }


STATION = {"bureau_admin", "chief", "officer", "auxiliary", "mediator"}
ROW_ACCESS = {
    "grid_a": STATION | {"grid_worker", "volunteer"},
    "grid_b": STATION,
    "sector": STATION,
    "other_station_grid": {"bureau_admin", "other_officer"},
    "api_grid_a": STATION | {"grid_worker", "volunteer"},
    "api_grid_b": STATION,
    "api_other_grid": {"bureau_admin", "other_officer"},
    "officer_person": STATION,
    # A grid worker sees the people working in their own grids.
    "grid_worker_person": STATION | {"grid_worker"},
    "api_officer_person": STATION,
    "officer_edit": MANAGERS,
    "other_station_person": {"bureau_admin", "other_officer"},
    "missing_grid": set(),
    "missing_person": set(),
}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("row", sorted(ROW_ACCESS))
def test_rows_are_visible_only_within_scope(world, role, row):
    response = world.client(role).get(_rows(world)[row])
    expected = 200 if role in ROW_ACCESS[row] else 404
    assert response.status_code == expected, f"{role} {row}: {response.status_code}"


def test_grid_worker_lists_only_their_grids(world):
    response = world.client("grid_worker").get("/api/v1/territory/grids")
    codes = {grid["code"] for grid in response.json()}
    assert codes == {"TC-D1-S1-B1", "TC-D1-S1-B1-C1", "TC-D1-S1-B1-C2"}


def test_officer_of_another_station_sees_nothing_of_tc(world):
    client = world.client("other_officer")
    grids = client.get("/api/v1/territory/grids").json()
    assert {grid["code"][:2] for grid in grids} == {"XX"}
    assert client.get("/api/v1/territory/grids?station=TC").status_code == 404
    assert client.get("/territory/?station=TC").status_code == 404
    people = client.get("/api/v1/people/").json()
    assert [person["name"] for person in people] == ["外所民警"]
    located = client.get("/api/v1/territory/locate?lon=105.001&lat=31.005").json()
    assert located["found"] is False


def test_anonymous_is_sent_to_login_and_api_answers_401(client, world):
    response = client.get("/territory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    api = client.get("/api/v1/territory/grids")
    assert api.status_code == 401
    assert api.json()["errors"][0]["message"]


def test_api_documentation_needs_a_login(client, world):
    for url in ("/api/v1/docs", "/api/v1/openapi.json"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert world.client("auditor").get(url).status_code == 200
