"""The 110 system's daily export: page, command line, checks, re-import."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.incidents import imports
from jingwang.incidents.models import Incident
from jingwang.lib.geo import wgs84_to_gcj02
from tests.cast import World

ROOT = Path(__file__).resolve().parents[3]
DAY = (timezone.localdate() - timedelta(days=1)).isoformat()
HEADER = "警情编号,接警时间,警情来源,警情类别,警情细类,报警人,报警电话,处警民警,派警时间,到场时间,结警时间,处警结果,经度,纬度"
GOOD = [
    f"J001,{DAY} 08:12,110报警,治安案件,噪声扰民,陈女士,13912345678,王警官,{DAY} 08:15,{DAY} 08:31,{DAY} 09:05,已劝导,105.002,31.005",
    f"J002,{DAY} 10:00,来所报警,criminal.theft,,李先生,,,,,,,105.015,31.005",
    f"J003,{DAY} 11:00,,求助,人员走失,,13800001111,,,,,,,",
]


def csv(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode()


def run(
    world: World, data: bytes, name: str = "110.csv", crs: str = "auto"
) -> imports.imports.ImportReport:
    return imports.import_incidents(world.users["chief"], world.station, data, name, crs)


def test_a_110_export_imports_placed_and_a_second_time_duplicates_nothing(world: World) -> None:
    report = run(world, csv(*GOOD))
    assert report.ok, report.errors
    assert (report.created, report.updated) == (3, 0)
    first = Incident.objects.get(number="J001")
    assert first.category.code == "public_order.noise" and first.status == "closed"
    assert first.grid is not None
    assert first.officer == world.people["officer"] and first.grid.code == "TC-D1-S1-B1-C1"
    assert first.caller_phone == "13912345678" and first.result == "已劝导"
    assert Incident.objects.get(number="J002").category.code == "criminal.theft"
    lost = Incident.objects.get(number="J003")
    assert (
        lost.source == "call_110"
        and lost.grid is None
        and lost.category.code == "help.missing_person"
    )
    # the same file again: every row updates, none is added
    again = run(world, csv(*GOOD))
    assert (again.created, again.updated) == (0, 3)
    assert Incident.objects.count() == 3
    first.refresh_from_db()
    assert first.version == 2
    events = AuditEvent.objects.filter(action="import_incidents", outcome="ok")
    oldest = events.order_by("seq").first()
    assert events.count() == 2 and oldest is not None and oldest.detail_data["created"] == 3
    # each incident's timeline shows its imports
    assert AuditEvent.objects.filter(action="import_incident", object_id=str(first.id)).count() == 2


def test_every_bad_row_is_reported_by_row_and_field_and_nothing_is_written(world: World) -> None:
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    rows = [
        GOOD[0],
        f"J010,{DAY} 08:00,110,治安案件,吵架,,,,,,,,,",  # unknown sub-category (line 3)
        f"J011,{future},110,治安案件,,,,,,,,,,",  # in the future (line 4)
        f"J012,{DAY} 08:00,110,治安案件,,,,,{DAY} 09:00,{DAY} 08:30,,,,",  # arrived before dispatched
        f"J013,{DAY} 08:00,110,治安案件,,,12345,李四,,,,,,",  # bad phone, unknown officer
        f"J001,{DAY} 08:00,110,治安案件,,,,,,,,,,",  # duplicate number (line 7)
        f"J 014,{DAY} 08:00,110,治安案件,,,,,,{DAY} 09:00,,,,",  # space in number, arrival w/o dispatch
    ]
    report = run(world, csv(*rows))
    assert not report.ok and report.created == 0
    found = {(p.row, p.field) for p in report.errors}
    assert (3, "警情细类") in found
    assert (4, "接警时间") in found
    assert (5, "到场时间") in found
    assert {(6, "报警电话"), (6, "处警民警")} <= found
    assert (7, "警情编号") in found
    assert {(8, "警情编号"), (8, "派警时间")} <= found
    messages = {(p.row, p.field): p.message for p in report.errors}
    assert "J001" in messages[(7, "警情编号")] and "2" in messages[(7, "警情编号")]
    assert not Incident.objects.exists()
    assert AuditEvent.objects.filter(action="import_incidents", outcome="failed").count() == 1


def test_an_xlsx_export_with_gcj02_points(world: World) -> None:
    from openpyxl import Workbook

    lon, lat = wgs84_to_gcj02(105.012, 31.005)
    book = Workbook()
    sheet = book.active
    sheet.append(["某派出所警情日报"])  # a title above the header
    sheet.append(["警情编号", "接警时间", "警情类别", "经度", "纬度"])
    sheet.append(["X1", datetime.fromisoformat(f"{DAY} 07:30"), "交通", lon, lat])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(world, buffer.getvalue(), "日报.xlsx", crs="gcj02")
    assert report.ok, report.errors
    incident = Incident.objects.get(number="X1")
    assert incident.lon is not None and incident.grid is not None
    assert abs(incident.lon - 105.012) < 1e-6 and incident.grid.code == "TC-D1-S1-B2-C1"
    assert incident.category.code == "traffic"


def test_the_page_imports_within_scope(world: World) -> None:
    client = world.client("officer")
    page = client.get("/incidents/import/?station=TC")
    assert page.status_code == 200 and "警情编号" in page.content.decode()
    response = client.post(
        "/incidents/import/",
        {"station": "TC", "crs": "auto", "file": SimpleUploadedFile("110.csv", csv(*GOOD))},
    )
    assert response.status_code == 200 and 'id="import-report"' in response.content.decode()
    assert Incident.objects.count() == 3
    # a grid worker, or another station's chief, reaches nothing
    assert world.client("grid_worker").get("/incidents/import/").status_code == 404
    denied = world.client("other_chief").post(
        "/incidents/import/",
        {
            "station": "TC",
            "crs": "auto",
            "file": SimpleUploadedFile("110.csv", csv("J9" + GOOD[0][4:])),
        },
    )
    assert denied.status_code == 404 and not Incident.objects.filter(number="J9").exists()


def test_the_command_line(world: World, tmp_path: Path) -> None:
    good = tmp_path / "110.csv"
    good.write_bytes(csv(*GOOD))
    out = io.StringIO()
    call_command("import_incidents", str(good), "--station", "TC", stdout=out)
    assert "3" in out.getvalue() and Incident.objects.count() == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv(f"J5,{DAY} 08:00,110,没有这类,,,,,,,,,,"))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_incidents", str(bad), "--station", "TC", stdout=out)
    assert "没有这类" in out.getvalue()
    assert Incident.objects.count() == 3


def test_every_problem_code_has_a_message_and_is_documented() -> None:
    docs = (ROOT / "docs" / "data-formats.md").read_text()
    section = docs.split("## Incidents: the 110 system's daily export")[1].split("\n## ")[0]
    source = Path(imports.__file__).read_text()
    codes = set(re.findall(r'problem\(\s*"([a-z_0-9]+)"', source))
    assert codes == set(imports.MESSAGES) - {"duplicate_code", "conflict"}
    for code in imports.MESSAGES:
        assert f"`{code}`" in section, code
