""" "Use my location" on the phone forms (site.js, one behaviour for every form that has lon,
lat and a coordinate-system field): allowed, it fills them from the phone; refused, it says
to type them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_incident_journey import log_in

pytestmark = pytest.mark.browser

HERE = {"longitude": 105.0123456, "latitude": 31.0054321}


@pytest.fixture
def located(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 780},
        is_mobile=True,
        has_touch=True,
        geolocation=HERE,
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.mark.parametrize(
    ("path", "crs_field"), [("/incidents/new/", "crs"), ("/disputes/new/", "coords")]
)
def test_the_phone_fills_the_place(
    located: Any, live_server: Any, world: Any, path: str, crs_field: str
):
    log_in(located, live_server.url, "officer")
    located.goto(f"{live_server.url}{path}")
    button = located.locator("button[data-use-location]")
    button.click()
    expect(located.locator("input[name=lon]")).to_have_value("105.012346", timeout=15000)
    assert located.input_value("input[name=lat]") == "31.005432"
    assert located.locator(f"[name={crs_field}]").input_value() == "wgs84"
    assert button.is_enabled()


def test_a_refused_location_says_what_to_do(phone: Any, live_server: Any, world: Any):
    log_in(phone, live_server.url, "officer")
    phone.context.clear_permissions()
    phone.goto(f"{live_server.url}/incidents/new/")
    button = phone.locator("button[data-use-location]")
    button.click()
    expect(button).to_contain_text("无法获取您的位置", timeout=15000)
    assert phone.input_value("input[name=lon]") == ""
