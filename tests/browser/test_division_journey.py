"""The chief runs a division, compares it with the current grids, moves a unit and applies it."""

from __future__ import annotations

import pytest

from jingwang.territory.models import DivisionProposal, GridVersion
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser


def test_chief_divides_moves_a_unit_applies_and_sees_who_needs_a_new_grid(
    page, live_server, world, units
):
    base = live_server.url
    log_in(page, base, "chief")
    page.click("#switch-language")
    page.click("nav.main a[href='/territory/divisions/']")
    page.fill("input[name=seed]", "4")
    page.fill("input[name=sector_blocks]", "2")
    page.fill("input[name=district_sectors]", "2")
    page.click("#run-division")
    page.wait_for_url(f"{base}/territory/divisions/*/")
    page.wait_for_selector("#map-current[data-ready='1']")
    page.wait_for_selector("#map-proposal[data-ready='1']")

    # Side by side: the two current blocks and the proposal's blocks.
    assert page.locator("#map-current path.leaflet-interactive").count() == 2
    proposed = page.locator("#map-proposal path.leaflet-interactive").count()
    assert proposed >= 7
    row = page.locator("tr[data-measure='count'] td")
    assert row.nth(0).inner_text() == "2" and row.nth(1).inner_text() == str(proposed)
    assert page.locator("tr[data-measure='contiguous'] td").nth(1).inner_text() == "yes"

    # Move a unit of the first block into the last one: the measures and violations update.
    proposal = DivisionProposal.objects.get()
    clusters = proposal.plan["clusters"]
    blocks = sorted({c.rsplit("-", 1)[0] for c in clusters.values()})
    unit = next(code for code, c in sorted(clusters.items()) if c.startswith(blocks[0]))
    page.fill("#move-unit", unit)
    page.select_option("select[name=block]", blocks[-1])
    page.click("#move-button")
    page.wait_for_selector("ul.messages")
    assert unit in page.locator("ul.messages").inner_text()
    assert page.locator("tr[data-measure='contiguous'] td").nth(1).inner_text() == "no"
    assert blocks[-1] in page.locator("#violations").inner_text()

    # Apply: a new grid version, and the coverage page lists whose grids did not keep their ground.
    page.check("#apply-confirm")
    page.click("#apply-button")
    page.wait_for_url(f"{base}/people/coverage/?station=TC")
    assert GridVersion.objects.get(station=world.station, is_current=True).number == 2
    listed = page.locator("#reassignments").inner_text()
    for person in ("王警官", "李辅警", "张网格"):
        assert person in listed
    page.locator("#reassignments button[value=suggested]").first.click()
    page.wait_for_selector("ul.messages")
    assert "is now assigned to" in page.locator("ul.messages").inner_text()
