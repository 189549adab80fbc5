"""Exports: any list to an XLSX file, streamed, capped, and audited (docs/architecture.md,
"Exports").

A list page answers ``?format=xlsx`` with::

    from jingwang.core.exports import Column, xlsx_response

    return xlsx_response(
        request, filename="people", title=_("People"),
        columns=[Column(_("Name"), lambda p: p.name), Column(_("Phone"), lambda p: p.phone)],
        rows=people,                      # the same scoped, filtered queryset the page lists
        object_type="people.person", station_id=station.id, detail={"filters": {...}},
    )

- Headers are the columns' labels in the user's language; dates and times are Excel dates
  (in the site's time zone); personal data prints masked, as everywhere (its ``str``).
- The workbook is written row by row (openpyxl's write-only mode; a queryset is read in
  chunks) into a temporary file that stays in memory while small and moves to disk when large,
  and the response streams that file back in blocks: no export holds all its rows at once.
- More rows than ``JINGWANG_EXPORT_MAX_ROWS`` make no file: a page says how many rows matched
  and asks to narrow the filters.
- Each export is one audit event ``export``: who, what (``object_type``), how many rows, the
  filters (``detail``).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from jingwang.audit.actions import record

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DEFAULT_MAX_ROWS = 100_000
CHUNK = 2000  # rows read from the database at a time
SPOOL_BYTES = 8 * 1024 * 1024  # a file larger than this goes to disk while it is streamed

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Column:
    """One column: its header (translated, lazily) and how a row gives its value."""

    header: str | Promise
    value: Callable[[Any], Any]
    width: float | None = None  # in characters; from the header when not given


def max_rows() -> int:
    return int(getattr(settings, "EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def xlsx_response(
    request: HttpRequest,
    *,
    filename: str,
    title: str | Promise,
    columns: list[Column],
    rows: Iterable[Any],
    object_type: str,
    station_id: int | None = None,
    detail: dict[str, Any] | None = None,
    limit: int | None = None,
) -> HttpResponseBase:
    """The rows as an XLSX download, or a page when there are more than the cap (see module)."""
    cap = max_rows() if limit is None else limit
    matched = _count(rows, cap)
    if matched > cap:
        return render(
            request,
            "core/export_too_many.html",
            {"title": title, "matched": matched, "cap": cap, "back": _back(request)},
        )
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the response)
    try:
        written = write_xlsx(spool, title=title, columns=columns, rows=_limited(rows, cap))
        with transaction.atomic():
            record(
                request.user,
                "export",
                station_id=station_id,
                object_type=object_type,
                detail={"rows": written, "format": "xlsx", **(detail or {})},
            )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        spool, as_attachment=True, filename=f"{filename}-{stamp}.xlsx", content_type=CONTENT_TYPE
    )


def write_xlsx(
    target: Any, *, title: str | Promise, columns: list[Column], rows: Iterable[Any]
) -> int:
    """Write one sheet (a bold header row, then a row per item) to a binary file; rows written."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(str(title)))
    for number, column in enumerate(columns, start=1):
        width = column.width or min(max(10.0, 2.2 * len(str(column.header)) + 2), 60.0)
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=str(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    written = 0
    for row in rows:
        sheet.append([_cell(sheet, column.value(row)) for column in columns])
        written += 1
    book.save(target)
    return written


def _cell(sheet: Any, value: Any) -> Any:
    """A value as the spreadsheet should hold it."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None, microsecond=0))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    text = _clean(str(value))  # Promise, Personal (masked), choices' labels...
    if text.startswith("="):  # text, never a formula
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters XML cannot hold


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip() or "Sheet"
    return cleaned[:31]


def _count(rows: Iterable[Any], cap: int) -> int:
    if isinstance(rows, QuerySet):
        return rows.count()
    if hasattr(rows, "__len__"):
        return len(rows)  # type: ignore[arg-type]
    raise TypeError("rows must be a queryset or a sized collection")


def _limited(rows: Iterable[Any], cap: int) -> Iterator[Any]:
    """At most ``cap`` rows; a queryset is read in chunks, never all at once."""
    if isinstance(rows, QuerySet):
        source: Iterable[Any] = rows[:cap].iterator(chunk_size=CHUNK)
    else:
        source = rows
    for n, row in enumerate(source):
        if n >= cap:
            return
        yield row


def _back(request: HttpRequest) -> str:
    """The list the export came from: the same address and filters, without ``format``."""
    query = request.GET.copy()
    query.pop("format", None)
    encoded = query.urlencode()
    return request.path + (f"?{encoded}" if encoded else "")


__all__ = ["CONTENT_TYPE", "Column", "max_rows", "write_xlsx", "xlsx_response"]
