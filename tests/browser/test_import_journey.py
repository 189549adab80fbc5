"""The chief imports on the page: villages and communities from GeoJSON (a bad file first, then a
good one), then base units from an Excel workbook whose report names the sheet row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook

from jingwang.territory.models import BaseUnit, Community
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


def workbook(path: Path, *rows: Sequence[object]) -> Path:
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["填表说明：每行一个基础单元"])
    sheet = book.create_sheet("基础单元")
    sheet.append(["潼川派出所基础单元登记表"])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def test_chief_imports_base_units_from_a_workbook_sheet(page, live_server, world, tmp_path):
    header = ["编码", "名称", "类别", "所属社区", "人口", "经度", "纬度"]
    bad = workbook(
        tmp_path / "units.xlsx",
        header,
        ["B51", "东街小卖部", "城镇", "C01", 3, 105.012, 31.004],
        ["B52", "东街诊所", "城镇", "C99", 5, 105.015, 31.006],
    )
    log_in(page, live_server.url, "chief")
    page.goto(live_server.url + "/territory/import/")

    page.select_option("select[name=kind]", "base-unit")
    page.fill("input[name=sheet]", "基础单元")
    page.set_input_files("input[name=file]", str(bad))
    page.click("form.stack button.primary")

    assert "未导入" in page.locator("[role=alert]").first.inner_text()
    first_row = page.locator("table.data tbody tr").first
    assert first_row.locator("td").nth(0).inner_text() == "4"  # the sheet's own row number
    assert first_row.locator("td").nth(1).inner_text() == "所属社区"
    assert "基础单元" in page.locator("#import-report").inner_text()
    assert not BaseUnit.objects.filter(code="B51").exists()

    good = workbook(
        tmp_path / "units-fixed.xlsx",
        header,
        ["B51", "东街小卖部", "城镇", "C01", 3, 105.012, 31.004],
        ["B52", "东街诊所", "城镇", "C01", 5, 105.015, 31.006],
    )
    page.select_option("select[name=kind]", "base-unit")
    page.fill("input[name=sheet]", "基础单元")
    page.set_input_files("input[name=file]", str(good))
    page.click("form.stack button.primary")

    assert "units-fixed.xlsx" in page.locator("[role=status]").first.inner_text()
    assert BaseUnit.objects.filter(station=world.station, code__in=["B51", "B52"]).count() == 2
