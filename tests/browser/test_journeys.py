"""A person's journey: log in, open the map, open a grid, switch language."""

from __future__ import annotations

import pytest

from tests.cast import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_chief_logs_in_opens_the_map_and_a_grid_then_switches_language(page, live_server, world):
    base = live_server.url
    log_in(page, base, "chief")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "潼川派出所" in page.content()

    page.click("nav.main a[href='/territory/']")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.locator("h1").inner_text().startswith("地图")
    # Two blocks drawn as clickable shapes; click one and follow its popup link.
    shapes = page.locator("#map path.leaflet-interactive")
    assert shapes.count() == 2
    shapes.first.click()
    page.locator(".leaflet-popup-content a.map-open").click()
    page.wait_for_url(f"{base}/territory/grids/**")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("TC-D1-S1-B")
    assert "TC-D1-S1" in page.locator(".crumbs").inner_text()
    assert page.locator("#fig-households").inner_text() == "100"

    page.click("#switch-language")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "People assigned" in page.content()
    # The same grid, its level now named in English.
    assert heading.endswith("组")
    assert page.locator("h1").inner_text() == heading.removesuffix("组") + "Block"
    # The choice sticks on the next page.
    page.click("nav.main a[href='/territory/']")
    assert page.locator("h1").inner_text().startswith("Map")

    outside = [
        url
        for url in page.requests_seen
        if not url.startswith(base) and not url.startswith("data:")
    ]
    assert outside == []


def test_wrong_password_then_lockout_message(page, live_server, world):
    base = live_server.url
    for _ in range(5):
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", "officer")
        page.fill("input[name=password]", "not-the-password")
        page.click("button[type=submit]")
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert "10" in page.locator("[role=alert]").inner_text()
    assert page.url.startswith(f"{base}/accounts/login/")


def test_grid_worker_on_a_phone_sees_their_grid_and_coverage(phone, live_server, world):
    base = live_server.url
    log_in(phone, base, "grid_worker")
    phone.click("text=TC-D1-S1-B1")
    assert phone.locator("h1").inner_text().startswith("TC-D1-S1-B1")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # nothing forces sideways scrolling of the page
