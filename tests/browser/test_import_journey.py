"""The chief imports villages and communities on the page: a bad file first, then a good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from jingwang.territory.models import Community
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser
FILES = Path(__file__).resolve().parents[2] / "jingwang" / "territory" / "tests" / "files"


def test_chief_imports_a_bad_file_reads_the_report_then_imports_a_good_one(
    page, live_server, world
):
    base = live_server.url
    log_in(page, base, "chief")
    page.click("nav.main a[href='/territory/import/']")
    page.select_option("select[name=kind]", "community")
    page.set_input_files("input[name=file]", str(FILES / "communities-with-errors.geojson"))
    page.click("form.stack button.primary")
    alert = page.locator("[role=alert]").first.inner_text()
    assert "communities-with-errors.geojson" in alert and "未导入" in alert
    assert page.locator("table.data tbody tr").count() >= 2
    assert not Community.objects.filter(code="C02").exists()

    page.select_option("select[name=kind]", "community")
    page.set_input_files("input[name=file]", str(FILES / "communities.geojson"))
    page.click("form.stack button.primary")
    assert "communities.geojson" in page.locator("[role=status]").first.inner_text()
    assert Community.objects.filter(station=world.station, code="C02", name="西街社区").exists()
