"""The three kinds of file: their text, their records, and what makes one unreadable."""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

from jingwang.lib.importing.problems import Notice

CSV = "csv"
XLSX = "xlsx"
GEOJSON = "geojson"
EXTENSIONS = {".csv": CSV, ".xlsx": XLSX, ".geojson": GEOJSON, ".json": GEOJSON}
# What a row number counts, as the person sees it: a line in a text editor (the header is line
# 1), a row of the spreadsheet as the program numbers it, a feature from 1 in file order.
ROW_UNITS = {CSV: "line", XLSX: "row", GEOJSON: "feature"}

# A spreadsheet's shared strings are read into memory whole: a file whose strings expand past
# this is refused before it is opened (a zip bomb would exhaust the server's memory).
XLSX_STRINGS_MAX = 1024 * 1024 * 1024

Record = tuple[int, Sequence[Any]]  # (row number, cells)


class Unreadable(Exception):
    """A problem of the whole file that stops reading it."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def extension(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "." + base.rsplit(".", 1)[1] if "." in base else ""


def decode(data: bytes, notices: list[Notice]) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030 with a notice."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Excel in China saves CSV in GBK/GB18030 unless told otherwise.
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise Unreadable("bad_encoding") from None
    notices.append(Notice("read_as_gb18030"))
    return text


def csv_records(text: str) -> Iterator[Record]:
    """(line where the record starts, values); a quote left open is ``csv_malformed``."""
    # A MultiPolygon in WKT easily exceeds csv's default limit of 128 KiB per field.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    # strict: a quote left open is an error, not a field that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    try:
        for record in reader:
            yield line, record
            line = reader.line_num + 1
    except csv.Error:
        raise Unreadable("csv_malformed", line=reader.line_num) from None


def xlsx_records(data: bytes, sheet: str | None) -> tuple[str, Iterator[Record]]:
    """The sheet's name and its rows (number as the spreadsheet shows it, cell values).

    Cells come as the spreadsheet gives them: text, whole numbers as int, other numbers as
    float, dates and times as datetime, formulas as their last computed value.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            strings = sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.lower().endswith("sharedstrings.xml")
            )
    except Exception:
        # zipfile raises BadZipFile, but also NotImplementedError, EOFError, struct.error, …
        # on a damaged archive; whichever it is, the file cannot be read.
        raise Unreadable("xlsx_unreadable") from None
    if strings > XLSX_STRINGS_MAX:
        raise Unreadable("xlsx_too_large", limit=XLSX_STRINGS_MAX // (1024 * 1024))
    from openpyxl import load_workbook  # only when a spreadsheet is read: it takes 0.2 s

    try:
        with warnings.catch_warnings():
            # "no default style", "extension not supported": nothing the person can act on.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        # openpyxl raises KeyError, ValueError, TypeError, XML parse errors, … for a file that
        # is a zip but not a workbook; whichever it is, the file cannot be read.
        raise Unreadable("xlsx_unreadable") from None
    names = [ws.title for ws in book.worksheets]
    if sheet and sheet not in names:
        book.close()
        raise Unreadable("sheet_not_found", sheet=sheet[:40], sheets=", ".join(names)[:200])
    if not names:
        book.close()
        raise Unreadable("xlsx_unreadable")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    # Some programs write a wrong <dimension>: read what the sheet holds, not what it declares.
    worksheet.reset_dimensions()

    def rows() -> Iterator[Record]:
        try:
            yield from enumerate(worksheet.iter_rows(values_only=True), 1)
        except Exception:
            raise Unreadable("xlsx_unreadable") from None
        finally:
            book.close()

    return worksheet.title, rows()
