"""Every main page works under the Content-Security-Policy: no violation, nothing from outside.

The watcher fails on any console message about the policy and on any script error; a last test
proves it would see a violation.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cast import PASSWORD

pytestmark = pytest.mark.browser

# Every violation the page sees is also written to the console, where the watcher reads it
# (init scripts run outside the page's policy).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI);
});
"""


def watch(page: Any) -> list[str]:
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.add_init_script(REPORT_VIOLATIONS)
    return problems


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/accounts/login/code" in page.url:  # a privileged account: its second factor
        from django_otp.oath import totp
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
        page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def visit(page: Any, url: str, ready: str | None = None) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, f"{url} answered {response and response.status}"
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), url
    if ready:
        page.wait_for_selector(ready)


def test_the_main_pages_work_under_the_policy(page, live_server, world, units):
    base = live_server.url
    problems = watch(page)
    visit(page, f"{base}/accounts/login/")
    log_in(page, base, "chief")
    officer = world.people["officer"]

    visit(page, f"{base}/")
    visit(page, f"{base}/territory/", "#map[data-ready='1']")
    visit(page, f"{base}/territory/grids/")
    visit(page, f"{base}/territory/grids/{world.block_a.id}/", "#map[data-ready='1']")
    visit(page, f"{base}/people/")
    visit(page, f"{base}/people/{officer.id}/")
    # htmx swaps the unmasked numbers in (no inline style, no eval).
    page.click("#unmask")
    page.wait_for_selector("#pii:has-text('13812345678')")
    visit(page, f"{base}/people/new/?station=TC")
    visit(page, f"{base}/people/coverage/", "#map[data-ready='1']")
    visit(page, f"{base}/territory/import/")
    visit(page, f"{base}/territory/divisions/?station=TC")
    # A form posting here, then two synchronised maps.
    page.fill("input[name=seed]", "4")
    page.click("#run-division")
    page.wait_for_url(f"{base}/territory/divisions/*/")
    page.wait_for_selector("#map-proposal[data-ready='1']")
    missing = page.goto(f"{base}/people/999999/")
    assert missing is not None and missing.status == 404

    # The API's documentation (django-ninja's Swagger UI, served from the package) renders.
    visit(page, f"{base}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "jingwang API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() >= 5
    # Open an operation and try it out: its controls draw their icons from data: images.
    page.locator(".swagger-ui .opblock-summary").first.click()
    page.locator(".swagger-ui .try-out__btn").first.click()
    page.wait_for_selector(".swagger-ui .opblock-body select")
    page.wait_for_timeout(300)

    page.context.clear_cookies()
    log_in(page, base, "auditor")
    visit(page, f"{base}/audit/")
    assert page.locator("table").count() >= 1

    assert problems == []
    outside = [url for url in page.requests_seen if not url.startswith((base, "data:"))]
    assert outside == []


def test_the_station_picker_switches_stations(page, live_server, world):
    base = live_server.url
    problems = watch(page)
    log_in(page, base, "bureau_admin")  # sees both stations of the bureau
    visit(page, f"{base}/territory/grids/?station=TC")
    page.select_option("select[name=station]", "XX")
    page.wait_for_url(f"{base}/territory/grids/?station=XX")
    assert "XX-D1" in page.content()
    assert problems == []


def test_tiles_from_the_configured_server_load(page, live_server, world, settings):
    base = live_server.url
    # Another origin (127.0.0.1 is not localhost to a browser) standing in for a tile server.
    other = base.replace("localhost", "127.0.0.1")
    assert other != base
    settings.MAP_TILE_URL = other + "/static/leaflet/images/layers.png?{z}/{x}/{y}"
    problems = watch(page)
    log_in(page, base, "chief")
    response = page.goto(f"{base}/territory/")
    assert other in response.headers["content-security-policy"]
    page.wait_for_selector("#map img.leaflet-tile-loaded")
    assert problems == []


def test_the_watcher_sees_a_violation(page, live_server, world):
    """An inline script is refused by the browser, and the watcher reports it."""
    base = live_server.url
    problems = watch(page)
    log_in(page, base, "chief")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.inlineRan = true"; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.inlineRan === undefined")
    assert any("script-src" in problem for problem in problems), problems
