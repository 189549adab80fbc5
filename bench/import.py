"""Import benchmark: rows per second of the shared reader and of the territory import, and the
time it takes to refuse a hopeless file.

    .venv/bin/python bench/import.py [--rows 10000 100000] [--database URL] [--write]

- *reader, CSV* / *reader, XLSX*: ``jingwang.lib.importing.read_table`` alone (no Django, no
  database) on a 110-style incident export: number (unique), date-time, category, phone,
  address, people, lon/lat point.
- *territory import*: ``run_import`` of the territory importer on the command line's limits
  (read, check, write in one transaction, audit), base units of a station: square polygons in
  WKT (5 vertices) and points from lon/lat, into an empty station (all created); the read share
  is timed separately.
- *refusal*: 300,000 rows that are all bad (a longitude that is not a number) into the
  territory import, on the page's limits and on the command line's: the time until the report
  is ready.

The database is a fresh SQLite file in a temporary directory unless --database names one (a
PostgreSQL database there is emptied by migrating it from zero: give one of its own).
--write puts the rows into the "## Imports" section of bench/RESULTS.md (a row with the same
work, size and database is replaced; other sections are left alone).
"""

from __future__ import annotations

import argparse
import atexit
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jingwang.lib.importing import (  # noqa: E402
    Choice,
    DateTime,
    Integer,
    Limits,
    Phone,
    Schema,
    Shape,
    Text,
    read_table,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Imports"
REPEATS = 3  # reader timings: the median of this many runs
BAD_ROWS = 300_000

INCIDENTS = Schema(
    (
        Text("number", ("警情编号",), required=True, unique=True, max_length=32),
        DateTime("reported_at", ("报警时间",), required=True),
        Choice(
            "category",
            ("类别",),
            required=True,
            values={"纠纷": "dispute", "盗窃": "theft", "求助": "help"},
        ),
        Phone("caller_phone", ("报警电话",)),
        Text("address", ("地址",), max_length=200),
        Integer("people", ("人数",)),
    ),
    shape=Shape(types=("Point",), required=False, wkt=()),
)
INCIDENT_HEADER = ["警情编号", "报警时间", "类别", "报警电话", "地址", "人数", "经度", "纬度"]


@dataclass
class Row:
    work: str
    rows: int
    seconds: float
    database: str
    load: float
    command: str
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def incident_records(count: int) -> list[list[object]]:
    return [
        [
            f"J{i:08d}",
            f"2024-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
            ("纠纷", "盗窃", "求助")[i % 3],
            f"138{i % 100_000_000:08d}",
            f"潼川镇东街{i}号",
            i % 5,
            round(105 + i % 1000 * 1e-4, 5),
            round(31 + i % 997 * 1e-4, 5),
        ]
        for i in range(count)
    ]


def as_csv(header: list[str], records: list[list[object]]) -> bytes:
    lines = [",".join(header), *(",".join(str(v) for v in r) for r in records)]
    return ("\n".join(lines) + "\n").encode()


def as_xlsx(header: list[str], records: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("警情")
    sheet.append(header)
    for record in records:
        sheet.append(record)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def median_time(run: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_reader(rows: int, formats: list[str], command: str) -> list[Row]:
    records = incident_records(rows)
    found = []
    limits = Limits(rows=max(rows, 1_000_000))
    shanghai = ZoneInfo("Asia/Shanghai")
    files = {
        "csv": lambda: ("reader, CSV", as_csv(INCIDENT_HEADER, records), "t.csv"),
        "xlsx": lambda: ("reader, XLSX", as_xlsx(INCIDENT_HEADER, records), "t.xlsx"),
    }
    for kind in formats:
        label, data, name = files[kind]()
        load = os.getloadavg()[0]

        def run(data: bytes = data, name: str = name) -> None:
            table = read_table(data, name, INCIDENTS, limits=limits, tz=shanghai)
            assert table.ok and len(table.rows) == rows, table.problems[:3]

        seconds = median_time(run, REPEATS if rows <= 100_000 else 1)
        found.append(Row(label, rows, seconds, "—", load, command, f"{len(data) / 1e6:.1f} MB"))
        print(f"{label:<20} {rows:>9,} rows {seconds:7.2f} s {rows / seconds:>10,.0f} rows/s")
    return found


def setup_django(database: str | None) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
    if database:
        _fresh_postgres(database)
        os.environ["DATABASE_URL"] = database
    else:
        folder = tempfile.mkdtemp(prefix="jw-import-bench-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor


def _fresh_postgres(url: str) -> None:
    """Drop and create the database the URL names (it must be the benchmark's own)."""
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def base_unit_records(count: int, offset: int = 0) -> list[list[object]]:
    records: list[list[object]] = []
    for i in range(offset, offset + count):
        x, y = 105 + i % 1000 * 0.001, 31 + i // 1000 * 0.001
        if i % 2:
            records.append([f"B{i:07d}", f"单元{i}", "城镇", "C01", i % 500, i % 200, "", x, y])
        else:
            wkt = (
                f"POLYGON (({x} {y}, {x + 0.0008} {y}, {x + 0.0008} {y + 0.0008}, "
                f"{x} {y + 0.0008}, {x} {y}))"
            )
            records.append([f"B{i:07d}", f"单元{i}", "城镇", "C01", i % 500, i % 200, wkt, "", ""])
    return records


BASE_UNIT_HEADER = ["编码", "名称", "类别", "所属社区", "人口", "户数", "wkt", "经度", "纬度"]


def as_quoted_csv(header: list[str], records: list[list[object]]) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(records)
    return buffer.getvalue().encode()


def bench_territory(sizes: list[int], command: str) -> list[Row]:
    from django.db import connection

    from jingwang.core import imports
    from jingwang.lib import territory_files
    from jingwang.territory.imports import TERRITORY
    from jingwang.territory.models import BaseUnit, Bureau, Community, Station

    vendor = connection.vendor
    bureau = Bureau.objects.create(code="BB", name="bench bureau")
    found = []
    for number, rows in enumerate(sizes):
        station = Station.objects.create(bureau=bureau, code=f"B{number}", name=f"bench {number}")
        community = Community(station=station, code="C01", name="c", kind="urban")
        community.set_geometry(_square())
        community.save()
        data = as_quoted_csv(BASE_UNIT_HEADER, base_unit_records(rows))

        load = os.getloadavg()[0]
        start = time.perf_counter()
        parsed = territory_files.read_territory_file(
            data,
            "units.csv",
            territory_files.BASE_UNIT,
            communities={"C01"},
            limits=imports.limits("cli"),
        )
        read_seconds = time.perf_counter() - start
        assert parsed.ok, parsed.problems[:3]
        start = time.perf_counter()
        report = imports.run_import(
            TERRITORY,
            None,
            station,
            data,
            "units.csv",
            options={"kind": territory_files.BASE_UNIT, "crs": "auto"},
            source="cli",
        )
        seconds = time.perf_counter() - start
        assert report.ok and report.created == rows, report.errors[:3]
        assert BaseUnit.objects.filter(station=station).count() == rows
        note = f"read and check {read_seconds:.2f} s ({rows / read_seconds:,.0f} rows/s)"
        found.append(Row("territory import, CSV", rows, seconds, vendor, load, command, note))
        print(
            f"territory import     {rows:>9,} rows {seconds:7.2f} s {rows / seconds:>10,.0f} rows/s  ({note})"
        )
    return found


def _square() -> shapely.Geometry:
    return shapely.box(104.9, 30.9, 106.1, 32.1)


def bench_refusal(command: str) -> list[Row]:
    from django.db import connection

    from jingwang.core import imports
    from jingwang.lib import territory_files
    from jingwang.territory.imports import TERRITORY
    from jingwang.territory.models import Station

    station = Station.objects.order_by("id").first()
    assert station is not None
    records = base_unit_records(BAD_ROWS)
    for record in records:
        record[6], record[7], record[8] = "", "east", 31.0
    data = as_quoted_csv(BASE_UNIT_HEADER, records)
    found = []
    for source in ("web", "cli"):
        load = os.getloadavg()[0]
        start = time.perf_counter()
        report = imports.run_import(
            TERRITORY,
            None,
            station,
            data,
            "bad.csv",
            options={"kind": territory_files.BASE_UNIT, "crs": "auto"},
            source=source,
        )
        seconds = time.perf_counter() - start
        assert not report.ok
        note = f"{len(report.errors):,} problems reported; last: {report.errors[-1].message}"
        found.append(
            Row(
                f"refuse an all-bad file ({source} limits)",
                BAD_ROWS,
                seconds,
                connection.vendor,
                load,
                command,
                note,
            )
        )
        print(f"refusal ({source})        {BAD_ROWS:>9,} rows {seconds:7.2f} s  {note}")
    return found


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import openpyxl
    import shapely

    return (
        f"{os.cpu_count()} cores (`nproc`), {cpu}; Python {platform.python_version()}, "
        f"shapely {shapely.__version__}, openpyxl {openpyxl.__version__}"
    )


def write_results(rows: list[Row]) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    header = (
        f"{SECTION}\n\n"
        "`bench/import.py`: rows per second of the shared reader (`jingwang.lib.importing`, no "
        "database) on a 110-style incident export, of the territory import end to end (read, "
        "check, write in one transaction, audit; half the base units 5-vertex polygons in WKT, "
        "half lon/lat points) and the time to refuse a file of 300,000 bad rows. Budget: "
        "1,000,000 rows in < 60 s. *load*: the 1-minute load average when the row started (the "
        "machine is shared).\n\n"
        f"Machine: {machine()}.\n\n"
        "| work | rows | s | rows/s | database | load | note | command |\n"
        "|---|---:|---:|---:|---|---:|---|---|\n"
    )
    existing: dict[tuple[str, str, str], str] = {}
    notes: list[str] = []  # what follows the table (findings written by hand) is kept
    if SECTION in text:
        before, rest = text.split(SECTION, 1)
        after = ""
        if "\n## " in rest:
            body, after = rest.split("\n## ", 1)
            after = "\n## " + after
        else:
            body = rest
        table_seen = False
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| ") and len(cells) == 8 and cells[1].replace(",", "").isdigit():
                existing[(cells[0], cells[1], cells[4])] = line
                table_seen = True
            elif table_seen and not line.startswith("|"):
                notes.append(line)
    else:
        before, after = text.rstrip("\n") + "\n\n", ""
    for row in rows:
        key = (row.work, f"{row.rows:,}", row.database)
        rate = "—" if row.work.startswith("refuse") else f"{row.rate:,.0f}"
        existing[key] = (
            f"| {row.work} | {row.rows:,} | {row.seconds:.2f} | {rate} | {row.database} "
            f"| {row.load:.1f} | {row.note} | `{row.command}` |"
        )
    ordered = sorted(
        existing.items(),
        key=lambda item: (item[0][2], item[0][0], int(item[0][1].replace(",", ""))),
    )
    section = header + "\n".join(line for _, line in ordered) + "\n"
    while notes and not notes[-1].strip():
        notes.pop()
    if notes:
        section += "\n".join(notes) + "\n"
    RESULTS.write_text(before + section + after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], help="of the reader")
    parser.add_argument("--no-reader", action="store_true", help="skip the reader alone")
    parser.add_argument(
        "--reader-only", action="store_true", help="skip the territory import and the refusal"
    )
    parser.add_argument("--write", action="store_true", help="record the rows in RESULTS.md")
    args = parser.parse_args()
    command = "python bench/import.py " + " ".join(sys.argv[1:])
    command = command.replace(" --write", "").strip()
    if args.database:
        command = command.replace(args.database, "postgres://…/jw_import_bench")
    found: list[Row] = []
    if not args.no_reader:
        for rows in args.rows:
            found += bench_reader(rows, args.formats, command)
    if not args.reader_only:
        setup_django(args.database)
        from django.utils import translation

        with translation.override("en"):
            found += bench_territory(args.rows, command)
            found += bench_refusal(command)
    if args.write:
        write_results(found)


if __name__ == "__main__":
    main()
