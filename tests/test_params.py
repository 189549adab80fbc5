"""Every parameter of every page and API operation is parsed strictly: odd digits ("²", "⒉"),
huge and negative numbers, empty and repeated values get a clear 400 or 404, never a 500; the
API answers in its JSON shape whatever goes wrong."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import resolve

from tests.cast import World
from tests.test_scope_matrix import API, PAGES

ROOT = Path(__file__).resolve().parent.parent

ODD = ["²", "⒉", "-1", "99999999999999999999999", "", "x" * 300]
PATTERN = re.compile(
    r"""(?:request\.(?:GET|POST)\.get(?:list)?\(|_param\(\s*request\.(?:GET|POST),\s*)"(\w+)\""""
)
# Read by shared helpers on behalf of many pages (chosen_station, the paginator).
SHARED = {"station", "page"}


def names_in(path: Path) -> set[str]:
    return set(PATTERN.findall(path.read_text(encoding="utf-8")))


def parameter_names() -> set[str]:
    """Every request parameter the pages read, found in their source."""
    names = set(SHARED)
    for path in (ROOT / "jingwang").rglob("*.py"):
        if "tests" not in path.parts:
            names |= names_in(path)
    return names


def test_the_parameters_are_found() -> None:
    names = parameter_names()
    assert {"station", "level", "kind", "q", "revision", "assign"} <= names


def _page_names(url: str) -> set[str]:
    """The parameters the view of ``url`` (and its module) reads."""
    view = resolve(url.partition("?")[0]).func
    module = sys.modules[view.__module__]
    assert module.__file__ is not None
    return names_in(Path(module.__file__)) | SHARED


def _api_names(key: str) -> set[str]:
    from jingwang.api import api

    method, path = key.split(" ", 1)
    operation = api.get_openapi_schema()["paths"][path][method.lower()]
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


ROUTES = {**PAGES, **API}


def _targets(world: World, name: str) -> list[tuple[str, str, set[str]]]:
    """(method, url, parameter names) of the page or API operation ``name``: its GET, its write."""
    route = ROUTES[name]
    url = route.url(world)
    names = _api_names(name) if name in API else _page_names(url)
    found = []
    if route.get is not None:
        found.append(("get", url, names))
    if route.write is not None:
        found.append((route.write.method, url, names))
    return found


# One case per page or operation, so that the workers share them out.
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_odd_values_of_every_parameter_never_give_a_500(world: World, route: str) -> None:
    client = world.client("chief")
    failures = []
    for method, url, names in _targets(world, route):
        base = url.partition("?")[0]
        for name in sorted(names):
            for value in ODD:
                query = urlencode([(name, "1"), (name, value)])  # repeated, the odd one last
                target = f"{base}?{query}"
                body = {name: value} if method != "get" else None
                response = getattr(client, method)(target, body)
                status = response.status_code
                if status >= 500:
                    failures.append(f"{method.upper()} {target}: {status}")
                elif (
                    base.startswith("/api/") and status >= 400 and not response.json().get("errors")
                ):
                    failures.append(f"{method.upper()} {target}: {status} without errors")
    assert failures == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/territory/grids/²",
        "/api/v1/territory/grids/99999999999999999999999",
        "/api/v1/territory/grids/-1",
        "/api/v1/people/⒉",
        "/api/v1/nowhere",
        "/api/v1/territory/grids?station=²",
        "/api/v1/territory/grids?station=",
        "/api/v1/territory/grids?level=nonsense",
        "/api/v1/territory/locate?lon=²&lat=31",
        "/api/v1/territory/locate?lon=1e999&lat=31",
        "/api/v1/territory/coverage",
    ],
)
def test_the_api_answers_odd_requests_in_its_json_shape(world: World, url: str) -> None:
    response = world.client("chief").get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert response["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors and all(error["message"] for error in errors)


def test_a_bad_page_parameter_is_named_in_the_users_language(world: World) -> None:
    from tests.test_scope_matrix import _proposal

    client = world.client("chief")
    url = f"/territory/divisions/{_proposal(world)}/apply/"
    response = client.post(url, {"revision": "²"})
    assert response.status_code == 400
    assert "“revision”" in response.content.decode()
    client.post("/accounts/language/", {"language": "en"})
    response = client.post(url, {"revision": "-3"})
    assert response.status_code == 400
    assert "“revision” must be a whole number" in response.content.decode()
