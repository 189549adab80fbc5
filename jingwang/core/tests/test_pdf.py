"""Chinese PDFs (``jingwang.core.pdf``): the text a reader's PDF tool extracts is exactly what was
written, in order, across page breaks; the CJK font travels inside the file; the download is an
attachment and an audited export."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

import pymupdf
import pytest
from django.test import RequestFactory

from jingwang.audit.models import AuditEvent
from jingwang.core import pdf
from tests.cast import World

TZ = dt.timezone(dt.timedelta(hours=8))


def opened(data: bytes) -> Any:
    assert data.startswith(b"%PDF-")
    return pymupdf.open(stream=data, filetype="pdf")


def page_texts(data: bytes) -> list[str]:
    return [page.get_text() for page in opened(data)]


def flat(text: str) -> str:
    """Text without the line breaks and spaces the layout adds."""
    return re.sub(r"\s+", "", text)


def body(data: bytes) -> str:
    """Every page's text without its page number, pages in order, flattened."""
    return "".join(flat(re.sub(r"第 \d+ 页 共 \d+ 页", "", text)) for text in page_texts(data))


def test_chinese_comes_back_exactly_with_the_heading_centred() -> None:
    doc = pdf.Document(title="测试文书")
    doc.heading("人民调解协议书")
    doc.paragraph("经调解，双方自愿达成如下协议：楼上住户于2026年5月31日前修复漏水管道。", indent=2)
    doc.fields([("申请人", "张三（男）"), ("被申请人", "李四，身份证号 510722********1234")])
    data = doc.bytes()

    document = opened(data)
    assert document.page_count == 1
    text = document[0].get_text()
    assert text.splitlines()[0] == "人民调解协议书"
    assert "经调解，双方自愿达成如下协议：楼上住户于2026年5月31日前修复漏水管道。" in text
    assert "李四，身份证号 510722********1234" in text
    assert flat(text) == flat(
        "人民调解协议书"
        "经调解，双方自愿达成如下协议：楼上住户于2026年5月31日前修复漏水管道。"
        "申请人：张三（男）被申请人：李四，身份证号510722********1234"
        "第 1 页 共 1 页"
    )
    assert document.metadata["title"] == "测试文书"
    # the heading sits in the middle of the page
    (x0, _y0, x1, _y1), *_ = [b[:4] for b in document[0].get_text("blocks")]
    assert abs((x0 + x1) / 2 - pdf.PAGE_WIDTH / 2) < 2
    # and the page is A4
    assert (round(document[0].rect.width), round(document[0].rect.height)) == (595, 842)


def test_the_font_is_embedded_as_a_small_subset() -> None:
    doc = pdf.Document()
    doc.paragraph("潼川派出所警民联调工作站")
    data = doc.bytes()
    document = opened(data)
    fonts = document[0].get_fonts()
    assert len(fonts) == 1
    xref, ext, kind, basefont, *_rest = fonts[0]
    assert kind == "Type0" and "Droid Sans Fallback" in basefont
    # a subset: its name carries the six-letter tag, and the file is small
    assert re.match(r"^[A-Z]{6}\+", basefont)
    name, extension, _type, buffer = document.extract_font(xref)
    assert extension == "ttf" and len(buffer) > 1000
    assert len(data) < 100_000  # the whole font is several megabytes


def test_a_long_text_breaks_onto_numbered_pages_keeping_every_character_in_order() -> None:
    sentences = [
        f"第{i}条：楼上住户（王某）赔偿楼下住户维修费用{i * 100}元，于“五一”前付清。"
        for i in range(1, 121)
    ]
    text = "".join(sentences)
    doc = pdf.Document()
    doc.heading("很长的协议")
    doc.paragraph(text, indent=2)
    doc.signatures(["当事人签名", "调解员签名"], dated=True)
    data = doc.bytes()

    texts = page_texts(data)
    assert len(texts) >= 3
    for number, page in enumerate(texts, start=1):
        assert f"第 {number} 页 共 {len(texts)} 页" in page
    # (the two signatures share a row, their dates the row below)
    assert body(data) == "很长的协议" + text + "当事人签名：调解员签名：年月日年月日"
    # no line of the paragraph starts with punctuation that must stay with what is before it
    for page in texts:
        for line in page.splitlines():
            assert not line.startswith(("，", "。", "）", "”", "：")), line


def test_latin_words_are_kept_whole_and_nothing_runs_past_the_margin() -> None:
    words = " ".join(["mediation"] * 60)
    lines = pdf.wrap(words, 12, 200)
    assert all(line.split(" ") == ["mediation"] * len(line.split(" ")) for line in lines)
    assert all(pdf.text_width(line, 12) <= 200 for line in lines)
    assert " ".join(lines) == words
    # a run longer than a line is cut by character, nothing lost
    code = "TC-2026-0001-X1" * 10
    cut = pdf.wrap(code, 12, 100)
    assert "".join(cut) == code and len(cut) > 1
    assert all(pdf.text_width(line, 12) <= 100 for line in cut)
    # Chinese breaks anywhere, but the closing mark stays with its character
    chinese = pdf.wrap("甲乙丙丁，戊己", 12, 40)  # three characters a line
    assert chinese == ["甲乙丙", "丁，戊", "己"]


def test_the_same_document_gives_the_same_bytes() -> None:
    def make() -> bytes:
        doc = pdf.Document(title="协议", created=dt.datetime(2026, 5, 4, 9, 30, tzinfo=TZ))
        doc.heading("人民调解协议书")
        doc.paragraph("双方同意。")
        return doc.bytes()

    first = make()
    assert first == make()
    assert opened(first).metadata["creationDate"].startswith("D:20260504093000")


def test_a_response_is_an_attachment_and_an_audited_export(world: World) -> None:
    request = RequestFactory().get("/disputes/agreements/7/pdf/")
    request.user = world.users["chief"]
    doc = pdf.Document()
    doc.paragraph("协议内容")
    data = doc.bytes()
    before = AuditEvent.objects.filter(action="export").count()

    response = pdf.pdf_response(
        request,
        filename="调解协议书 TC-2026-0001",
        data=data,
        object_type="disputes.agreement",
        object_id=7,
        station_id=world.station.pk,
        detail={"number": "TC-2026-0001-X1"},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote('调解协议书 TC-2026-0001.pdf')}" in disposition
    assert response.getvalue() == data
    events = AuditEvent.objects.filter(action="export").order_by("seq")
    assert events.count() == before + 1
    event = events.last()
    assert event is not None
    assert (event.object_type, event.object_id, event.station_id, event.actor_id) == (
        "disputes.agreement",
        "7",
        world.station.pk,
        world.users["chief"].pk,
    )
    assert event.detail_data == {"format": "pdf", "bytes": len(data), "number": "TC-2026-0001-X1"}


@pytest.mark.parametrize("text", ["", "\x00\x07控制字符\x1b", "a\tb\r\nc"])
def test_odd_text_never_breaks_the_writer(text: str) -> None:
    doc = pdf.Document(title=text)
    doc.heading(text)
    doc.paragraph(text)
    doc.fields([(text, text)])
    doc.signatures([text])
    data = doc.bytes()
    assert opened(data).page_count == 1


def test_a_long_signature_label_is_wrapped_never_cut() -> None:
    long_name = "四川省绵阳市三台县潼川镇某某物业管理有限公司第三分公司" * 2
    doc = pdf.Document()
    doc.signatures(["当事人 王大爷", f"当事人 {long_name}", "调解员 钱调解"])
    data = doc.bytes()
    assert body(data) == flat(f"当事人 王大爷：当事人 {long_name}：调解员 钱调解：")


def test_a_character_the_font_lacks_prints_as_a_box_not_as_garbage() -> None:
    doc = pdf.Document()
    doc.paragraph("刘\U00020000先生😀到场")  # a CJK Extension B character and an emoji
    assert body(doc.bytes()) == "刘□先生□到场"
