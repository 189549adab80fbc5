"""Exports (jingwang.core.exports): a list as an XLSX file a user opens, with headers in their
language, dates as dates and personal data masked; over the row cap a page instead of a file;
each export one audit event. Used for real by the people list."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone
from openpyxl import load_workbook

from jingwang.audit.models import AuditEvent
from jingwang.core.exports import CONTENT_TYPE, Column, write_xlsx, xlsx_response
from jingwang.people.models import Person
from tests.cast import World


def _sheet(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    book = load_workbook(io.BytesIO(body))
    return list(book.active.iter_rows(values_only=True))


def _export(world: World, role: str, query: str = "") -> Any:
    return world.client(role).get(f"/people/?station=TC&format=xlsx{query}")


def test_people_list_exports_what_the_list_shows_in_chinese_and_masked(world: World) -> None:
    rows = _sheet(_export(world, "chief"))
    assert rows[0] == ("姓名", "类别", "警号", "身份证号", "手机号", "派出所", "在岗", "添加时间")
    names = [row[0] for row in rows[1:]]
    assert set(names) == {"王警官", "李辅警", "张网格", "赵义警", "钱调解", "孙代表"}  # not XX's
    wang = next(row for row in rows if row[0] == "王警官")
    assert wang[3] == "510722********1236"  # masked, as on the page
    assert wang[4] == "138****5678"
    assert "13812345678" not in repr(rows) and "510722199001011236" not in repr(rows)
    assert wang[5] == "潼川派出所"
    assert wang[6] == "是"
    assert isinstance(wang[7], dt.datetime)  # a date cell, not text


def test_export_keeps_the_filters(world: World) -> None:
    rows = _sheet(_export(world, "chief", "&kind=officer"))
    assert [row[0] for row in rows[1:]] == ["王警官"]


def test_export_is_one_audit_event_naming_rows_and_filters(world: World) -> None:
    before = AuditEvent.objects.filter(action="export").count()
    _sheet(_export(world, "chief", "&q=王"))
    events = AuditEvent.objects.filter(action="export")
    assert events.count() == before + 1
    event = events.latest("seq")
    assert event.actor_id == world.users["chief"].id
    assert event.object_type == "people.person"
    assert event.station_id == world.station.id
    assert event.detail_data["rows"] == 1
    assert event.detail_data["filters"] == {"station": "TC", "kind": "", "q": "王"}


def test_export_is_scoped_like_the_list(world: World) -> None:
    rows = _sheet(_export(world, "grid_worker"))
    # The grid worker sees the people of their grid, nobody else.
    assert {row[0] for row in rows[1:]} == {"张网格", "赵义警"}
    assert world.client("other_chief").get("/people/?station=TC&format=xlsx").status_code == 404
    assert world.client("volunteer").get("/people/?format=xlsx").status_code == 404


def test_over_the_cap_a_page_says_how_many_matched(world: World, settings: Any) -> None:
    settings.EXPORT_MAX_ROWS = 3
    before = AuditEvent.objects.filter(action="export").count()
    response = _export(world, "chief")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "6 行符合条件" in page and "3" in page
    assert 'href="/people/?station=TC"' in page  # back to the list, filters kept
    assert AuditEvent.objects.filter(action="export").count() == before
    settings.EXPORT_MAX_ROWS = 6
    assert len(_sheet(_export(world, "chief"))) == 7


def test_people_list_offers_the_export_with_its_filters(world: World) -> None:
    page = world.client("chief").get("/people/?station=TC&kind=officer&page=1").content.decode()
    assert 'id="export-xlsx"' in page
    assert "station=TC&amp;kind=officer&amp;format=xlsx" in page
    assert "page=1&amp;format" not in page


@pytest.mark.django_db
def test_cells_dates_times_text_and_no_formulas(world: World) -> None:
    moment = dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)  # 09:30 in Asia/Shanghai
    rows = [
        {"when": moment, "day": dt.date(2026, 3, 1), "text": '=HYPERLINK("x")', "n": 3},
        {"when": None, "day": None, "text": "普通\x07文字", "n": 2.5},
    ]
    out = io.BytesIO()
    written = write_xlsx(
        out,
        title="Test: [list]",
        columns=[
            Column("When", lambda r: r["when"]),
            Column("Day", lambda r: r["day"]),
            Column("Text", lambda r: r["text"]),
            Column("N", lambda r: r["n"]),
        ],
        rows=rows,
    )
    assert written == 2
    sheet = load_workbook(out).active
    assert sheet.title == "Test   list"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("When", "Day", "Text", "N")
    assert values[1][0] == dt.datetime(2026, 3, 1, 9, 30)
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["C2"].data_type == "s" and values[1][2] == '=HYPERLINK("x")'
    assert values[2] == (None, None, "普通文字", 2.5)
    assert sheet.freeze_panes == "A2"


def test_a_queryset_is_read_in_chunks_and_capped(world: World, settings: Any) -> None:
    factory = RequestFactory()
    request = factory.get("/people/?format=xlsx")
    request.user = world.users["chief"]
    Person.objects.bulk_create(
        [Person(station=world.station, name=f"人{i:04}", kind="officer") for i in range(2500)]
    )
    response = xlsx_response(
        request,
        filename="many",
        title="Many",
        columns=[Column("Name", lambda p: p.name), Column("Added", lambda p: p.created_at)],
        rows=Person.objects.filter(name__startswith="人").order_by("name"),
        object_type="people.person",
    )
    rows = _sheet(response)
    assert len(rows) == 2501
    assert rows[1][0] == "人0000" and rows[-1][0] == "人2499"
    assert isinstance(rows[1][1], dt.datetime)
    assert timezone.is_naive(rows[1][1])
