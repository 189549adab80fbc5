"""Chinese PDF documents (docs/architecture.md, "Chinese PDF"): a small writer on PyMuPDF with
the library's own CJK font (Droid Sans Fallback, ``pymupdf.Font("cjk")``), embedded as a
subset, so a PDF shows correct Chinese on any machine and needs no system font.

    from jingwang.core import pdf

    doc = pdf.Document(title="人民调解协议书", created=agreement.created_at)
    doc.heading("人民调解协议书")
    doc.paragraph("编号：TC-2026-0001-X1", align="right", size=10.5)
    doc.fields([("申请人", "张三"), ("被申请人", "李四")])
    doc.paragraph("……", indent=2)
    doc.signatures(["当事人签名", "调解员签名"])
    data = doc.bytes()
    return pdf.pdf_response(request, filename="协议书", data=data,
                            object_type="disputes.agreement", object_id=agreement.pk,
                            station_id=agreement.dispute.station_id)

- A4 pages with margins; text flows onto new pages by itself, every page numbered
  "第 N 页 共 M 页" at the foot.
- Text wraps by the measured width of each character: Chinese breaks between any two
  characters, a run of Latin letters or digits stays whole when it fits on a line, and
  punctuation that may not open a line (，。）…) stays with the character before it, like
  punctuation that may not close one (（《“…) stays with the one after.
- A character the font lacks (some rare characters of names, emoji) prints as □, so a reader
  sees that something is missing and can write it in by hand.
- The blocks are kept and laid out when ``bytes()`` is called: the same blocks and the same
  ``created`` time give the same bytes.
- ``pdf_response`` answers the file as a download and records the ``export`` audit event, as
  every export does (``core/exports.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pymupdf
from django.db import models, transaction
from django.http import FileResponse, HttpRequest
from django.utils import timezone

from jingwang.audit.actions import record

CONTENT_TYPE = "application/pdf"
FONT = "cjk"  # the font's name inside each page's resources

PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points (210 × 297 mm)
MARGIN_TOP = 72.0
MARGIN_BOTTOM = 72.0
MARGIN_X = 68.0
LINE_SPACING = 1.6  # line height as a multiple of the font size
FOOTER_SIZE = 9.0
PAGE_NUMBERS = "第 {n} 页 共 {m} 页"

# Punctuation that may not open a line (it joins the character before it) and punctuation that
# may not close one (it joins the character after it): the usual rules of Chinese typesetting.
NO_LINE_START = set("，。、；：？！）》」』】〉”’…—·%‰,.;:?!)]}")
NO_LINE_END = set("（《「『【〈“‘([{")

# A run of characters that is not Chinese, not full-width and not space: a Latin word, a number,
# an ID or a code, which is broken only when it is wider than a whole line.
_TOKEN = re.compile(
    r"\s+|[^\s\u00b7\u2014-\u201f\u2026\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+|.",
    re.S,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@functools.cache
def _font() -> Any:
    """The CJK font (loaded once per process: its file is a few megabytes)."""
    return pymupdf.Font(FONT)


def text_width(text: str, size: float) -> float:
    """The width of ``text`` in points at font size ``size``."""
    return float(_font().text_length(text, fontsize=size))


def _tokens(text: str) -> list[str]:
    """The pieces a line may break between (see module)."""
    raw = _TOKEN.findall(text)
    merged: list[str] = []
    carry = ""
    for token in raw:
        if token[0] in NO_LINE_START and merged and not merged[-1].isspace() and not carry:
            merged[-1] += token
        elif token in NO_LINE_END:
            carry += token
        elif carry and not token.isspace():
            merged.append(carry + token)
            carry = ""
        else:
            if carry:
                merged.append(carry)
                carry = ""
            merged.append(token)
    if carry:
        merged.append(carry)
    return merged


def wrap(text: str, size: float, width: float, first_indent: float = 0.0) -> list[str]:
    """``text`` (one paragraph, no newline) cut into lines no wider than ``width`` points (the
    first line ``first_indent`` narrower). Every character but the spaces at a break is kept,
    in order."""
    lines: list[str] = []
    line, used = "", 0.0

    def room() -> float:
        return width - (first_indent if not lines else 0.0)

    def flush() -> None:
        nonlocal line, used
        lines.append(line.rstrip())
        line, used = "", 0.0

    for token in _tokens(text):
        wide = text_width(token, size)
        if token.isspace():
            if line and used + wide <= room():
                line, used = line + token, used + wide
            elif line:
                flush()
            continue
        if used + wide <= room():
            line, used = line + token, used + wide
            continue
        if line:
            flush()
        if wide <= room():
            line, used = token, wide
            continue
        for char in token:  # wider than a whole line: broken by character
            step = text_width(char, size)
            if line and used + step > room():
                flush()
            line, used = line + char, used + step
    if line or not lines:
        lines.append(line.rstrip())
    return lines


MISSING = "□"  # stands for a character the font does not have (a rare name character, an emoji)


@functools.lru_cache(maxsize=8192)
def _printable(char: str) -> str:
    return char if char == "\n" or _font().has_glyph(ord(char)) else MISSING


def _clean(text: Any) -> str:
    """Text the font can print: no control characters, tabs as spaces, and a □ for each
    character the font lacks (never a blank that a reader or a search would misread)."""
    text = _CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\t", " "))
    return "".join(_printable(char) for char in text)


@dataclass
class _Line:
    """One line to draw: its text and left edge (relative to the margin), size, height."""

    text: str
    x: float
    size: float
    height: float
    rule: tuple[float, float] | None = None  # a signature line from x0 to x1 (relative)


_Placed = tuple[float, float, str, float, tuple[float, float] | None]


@dataclass
class _Block:
    lines: list[_Line] = field(default_factory=list)
    keep_together: bool = False
    space_after: float = 0.0
    page_break: bool = False


class Document:
    """A Chinese document laid out on A4 pages (see module)."""

    def __init__(
        self,
        title: str = "",
        *,
        created: dt.datetime | None = None,
        author: str = "",
        page_numbers: str = PAGE_NUMBERS,
    ) -> None:
        self.title = _clean(title)
        self.created = created
        self.author = _clean(author)
        self.page_numbers = page_numbers
        self._blocks: list[_Block] = []

    @property
    def width(self) -> float:
        """The width of the text area in points."""
        return PAGE_WIDTH - 2 * MARGIN_X

    # -- blocks ---------------------------------------------------------------------------

    def heading(self, text: str, *, size: float = 18.0) -> None:
        """A centred title (wrapped when longer than a line)."""
        lines = [
            self._line(part, size, align="center")
            for paragraph in _clean(text).split("\n")
            for part in wrap(paragraph, size, self.width)
        ]
        self._blocks.append(_Block(lines, keep_together=True, space_after=size * 0.6))

    def paragraph(
        self,
        text: str,
        *,
        size: float = 12.0,
        indent: float = 0.0,
        align: str = "left",
        space_after: float | None = None,
    ) -> None:
        """Body text: each line of ``text`` a paragraph whose first line is indented by
        ``indent`` characters (2 is the Chinese custom), aligned left, centre or right."""
        lines: list[_Line] = []
        first = indent * size
        for paragraph in _clean(text).split("\n"):
            for number, part in enumerate(wrap(paragraph, size, self.width, first)):
                line = self._line(part, size, align=align)
                if number == 0 and align == "left":
                    line.x = first
                lines.append(line)
        after = size * 0.4 if space_after is None else space_after
        self._blocks.append(_Block(lines, space_after=after))

    def fields(self, rows: Sequence[tuple[Any, Any]], *, size: float = 12.0) -> None:
        """Label–value rows: "label：" in a column as wide as the widest label (at most two
        fifths of the line), each value wrapped beside it."""
        labels = [_clean(label) + "：" for label, _value in rows]
        column = min(max((text_width(x, size) for x in labels), default=0.0), self.width * 0.4)
        for label, (_label, value) in zip(labels, rows, strict=True):
            label_lines = wrap(label, size, column)
            value_lines = wrap(_clean(value).replace("\n", " "), size, self.width - column)
            height = size * LINE_SPACING
            lines = []
            for i in range(max(len(label_lines), len(value_lines))):
                text_left = label_lines[i] if i < len(label_lines) else ""
                text_right = value_lines[i] if i < len(value_lines) else ""
                # Two pieces on one line: the label's line carries no height of its own.
                if text_left:
                    lines.append(_Line(text_left, 0.0, size, 0.0))
                lines.append(_Line(text_right, column, size, height))
            self._blocks.append(_Block(lines, keep_together=True, space_after=size * 0.2))

    def signatures(
        self, labels: Sequence[Any], *, size: float = 12.0, columns: int = 2, dated: bool = False
    ) -> None:
        """A signing block: each label followed by a line to sign on, ``columns`` to a row
        (one when a label is too long to share a row), with room to write; ``dated`` adds a
        "年 月 日" line under each."""
        gap = size * 1.5
        texts = [_clean(label).replace("\n", " ") + "：" for label in labels]
        columns = max(columns, 1)
        if any(text_width(t, size) > self.width / columns - gap - size * 5 for t in texts):
            columns = 1
        cell = self.width / columns
        lines: list[_Line] = []
        for start in range(0, len(texts), columns):
            row = texts[start : start + columns]
            for i, text in enumerate(row):
                x = i * cell
                parts = wrap(text, size, cell - gap - size * 5)
                for part in parts[:-1]:  # a long label (one to a row): the line follows its end
                    lines.append(_Line(part, x, size, size * LINE_SPACING))
                rule = (x + text_width(parts[-1], size) + 2, x + cell - gap)
                height = size * 3.2 if i == len(row) - 1 else 0.0
                lines.append(_Line(parts[-1], x, size, height, rule=rule))
            if dated:
                for i in range(len(row)):
                    date = "年　　月　　日"
                    x = i * cell + cell - gap - text_width(date, size)
                    height = size * 2.2 if i == len(row) - 1 else 0.0
                    lines.append(_Line(date, x, size, height))
        self._blocks.append(_Block(lines, keep_together=True, space_after=size * 0.6))

    def spacer(self, lines: float = 1.0, *, size: float = 12.0) -> None:
        """Empty room of ``lines`` lines."""
        self._blocks.append(_Block([_Line("", 0.0, size, size * LINE_SPACING * lines)]))

    def page_break(self) -> None:
        self._blocks.append(_Block(page_break=True))

    def _line(self, text: str, size: float, *, align: str) -> _Line:
        free = self.width - text_width(text, size)
        x = {"center": free / 2, "right": free}.get(align, 0.0)
        return _Line(text, max(x, 0.0), size, size * LINE_SPACING)

    # -- output ---------------------------------------------------------------------------

    def bytes(self) -> bytes:
        """The PDF: the blocks laid out on pages, numbered, the font embedded as a subset."""
        pages = self._layout()
        font = _font()
        doc = pymupdf.open()
        for number, placed in enumerate(pages, start=1):
            page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
            writer = pymupdf.TextWriter(page.rect)
            footer = self.page_numbers.format(n=number, m=len(pages))
            foot_x = (PAGE_WIDTH - text_width(footer, FOOTER_SIZE)) / 2
            placed = [*placed, (foot_x, PAGE_HEIGHT - MARGIN_BOTTOM / 2, footer, FOOTER_SIZE, None)]
            for x, baseline, text, size, rule in placed:
                if text:
                    writer.append((x, baseline), text, font=font, fontsize=size)
                if rule is not None:
                    page.draw_line((rule[0], baseline + 2), (rule[1], baseline + 2), width=0.6)
            writer.write_text(page)
        stamp = _pdf_date(self.created) if self.created else ""
        doc.set_metadata(
            {
                "title": self.title,
                "author": self.author,
                "creator": "jingwang",
                "producer": "jingwang",
                "creationDate": stamp,
                "modDate": stamp,
            }
        )
        doc.subset_fonts()
        data: bytes = doc.tobytes(garbage=4, deflate=True, no_new_id=1)
        doc.close()
        return data

    def _layout(self) -> list[list[_Placed]]:
        """Each page's pieces: (x, baseline, text, size, signature line or None), in points."""
        pages: list[list[_Placed]] = []
        bottom = PAGE_HEIGHT - MARGIN_BOTTOM
        y = MARGIN_TOP

        def new_page() -> None:
            nonlocal y
            pages.append([])
            y = MARGIN_TOP

        def place(line: _Line) -> None:
            nonlocal y
            baseline = y + line.size * (1.0 + (LINE_SPACING - 1.0) / 2) - line.size * 0.12
            rule = None
            if line.rule is not None:
                rule = (MARGIN_X + line.rule[0], MARGIN_X + line.rule[1])
            pages[-1].append((MARGIN_X + line.x, baseline, line.text, line.size, rule))
            y += line.height

        for block in self._blocks:
            if block.page_break:
                if pages:
                    y = bottom + 1.0
                continue
            height = sum(line.height for line in block.lines)
            if not pages or (
                block.keep_together
                and y + height > bottom
                and height <= bottom - MARGIN_TOP
                and y > MARGIN_TOP
            ):
                new_page()
            # Pieces without height (a label beside its value, the cells of a row of
            # signatures) go on the line of the next piece that has one.
            pending: list[_Line] = []
            for line in block.lines:
                if not line.height:
                    pending.append(line)
                    continue
                if y + line.height > bottom:
                    new_page()
                for piece in pending:
                    place(piece)
                pending = []
                place(line)
            for piece in pending:
                place(piece)
            y += block.space_after
        if not pages:
            new_page()
        return pages


def _pdf_date(when: dt.datetime) -> str:
    """A PDF date (``D:YYYYMMDDHHmmSS+08'00'``) in the site's time zone."""
    if timezone.is_aware(when):
        when = timezone.localtime(when)
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return when.strftime("D:%Y%m%d%H%M%S") + f"{sign}{hours:02d}'{mins:02d}'"


def pdf_response(
    request: HttpRequest,
    *,
    filename: str,
    data: bytes,
    object_type: str,
    object_id: Any,
    station_id: int | None,
    detail: dict[str, Any] | None = None,
    subject: models.Model | None = None,
) -> FileResponse:
    """``data`` as a PDF download named ``filename`` (".pdf" added; any language: the name is
    sent in UTF-8 by RFC 5987), after recording the ``export`` audit event of the object
    (``subject``: the record whose timeline shows it, as in ``record``)."""
    with transaction.atomic():
        record(
            request.user,
            "export",
            station_id=station_id,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            detail={"format": "pdf", "bytes": len(data), **(detail or {})},
            subject=subject,
        )
    name = filename if filename.lower().endswith(".pdf") else f"{filename}.pdf"
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name)
    return FileResponse(
        io.BytesIO(data), as_attachment=True, filename=name, content_type=CONTENT_TYPE
    )


__all__ = ["CONTENT_TYPE", "Document", "pdf_response", "text_width", "wrap"]
