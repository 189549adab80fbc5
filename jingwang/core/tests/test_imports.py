"""The shared import piece: an importer declared in a few lines gets reading, checks, messages,
the atomic write, the audit event and a command; problem codes, messages and docs agree."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from io import StringIO
from pathlib import Path

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from jingwang.audit.models import AuditEvent
from jingwang.audit.vocabulary import register_actions
from jingwang.core import imports
from jingwang.core.import_command import ImportCommand
from jingwang.core.imports import ImportConflict, Importer, Option, Upload
from jingwang.lib import importing
from jingwang.lib.importing import Choice, Date, Integer, Schema, Table, Text
from jingwang.territory.models import Community

ROOT = Path(__file__).resolve().parents[3]

# A small importer as an app would declare it: villages from a register, without shapes.
# (Its label is one the catalogue translates: every registered action must have a Chinese one.)
register_actions({"import_test_villages": gettext_lazy("Imported territory data")})


def _not_reserved(values, problem):
    if values["code"] == "X0":
        problem("reserved_code", "code", code=values["code"])


SCHEMA = Schema(
    (
        Text("code", ("编码",), required=True, unique=True, max_length=32),
        Text("name", ("名称",), required=True, max_length=100),
        Choice("kind", ("类别",), required=True, values={"village": "village", "村": "village"}),
        Integer("population", ("人口",)),
        Date("registered", ("登记日期",)),
    ),
    check_row=_not_reserved,
)


def write(upload: Upload, table: Table) -> tuple[int, int]:
    for row in table.rows:
        village = Community(station=upload.station, code=row.code, name=row.name, kind=row.kind)
        village.population = row.population or 0
        village.set_geometry(shapely.box(105, 31, 105.01, 31.01))
        village.save()
        if upload.options.get("mode") == "vanish" and row.code == "V2":
            raise ImportConflict(row.code)  # after V1 was written: it must not stay
    return len(table.rows), 0


VILLAGES = Importer(
    name="import_test_villages",
    title=gettext_lazy("Import villages"),
    perm="territory.import",
    schema=SCHEMA,
    write=write,
    options=(Option("mode", "mode", (("plain", "plain"), ("vanish", "vanish")), default="plain"),),
    messages={"reserved_code": gettext_lazy("The code “%(code)s” is reserved.")},
    detail=lambda upload, table: {"rows": len(table.rows)},
)

GOOD = "编码,名称,类别,人口,登记日期\nV1,东村,村,120,2024年3月5日\nV2,西村,village,,\n".encode()


def run(world, data=GOOD, filename="villages.csv", **options):
    with translation.override("en"):
        return imports.run_import(
            VILLAGES, world.users["chief"], world.station, data, filename, **options
        )


def test_a_declared_importer_reads_checks_writes_and_audits(world):
    report = run(world)

    assert (report.ok, report.created, report.updated, report.row_unit) == (True, 2, 0, "line")
    v1 = Community.objects.get(station=world.station, code="V1")
    assert (v1.name, v1.kind, v1.population) == ("东村", "village", 120)
    event = AuditEvent.objects.get(action="import_test_villages")
    assert (event.outcome, event.actor_name, event.station_id) == ("ok", "chief", world.station.id)
    assert json.loads(event.detail) == {
        "filename": "villages.csv",
        "format": "csv",
        "source": "web",
        "rows": 2,
        "created": 2,
        "updated": 0,
        "errors": 0,
    }


def test_problems_get_shared_and_own_messages_and_nothing_is_written(world):
    data = b"code,name,kind,population,registered\nX0,a,village,-1,2024-02-30\n"

    report = run(world, data)

    assert report.errors == [
        (2, "population", "This must not be negative (it is -1)."),
        (
            2,
            "registered",
            "“2024-02-30” is not a date: write it as 2024-03-05 or 2024年3月5日.",
        ),
        (2, "code", "The code “X0” is reserved."),
    ]
    assert not Community.objects.filter(code="X0").exists()
    event = AuditEvent.objects.get(action="import_test_villages")
    assert event.outcome == "failed" and json.loads(event.detail)["errors"] == 3


def test_a_write_that_finds_the_data_changed_leaves_nothing(world):
    report = run(world, options={"mode": "vanish"})

    assert report.errors == [
        (
            None,
            "",
            "The data of this station was changed by someone else during the import: nothing "
            "was imported; import the file again.",
        )
    ]
    assert (report.created, report.updated) == (0, 0)
    assert not Community.objects.filter(code__in=["V1", "V2"]).exists()
    assert AuditEvent.objects.get(action="import_test_villages").outcome == "failed"


def test_a_row_the_database_refuses_is_a_conflict_too(world):
    data = b"code,name,kind\nC01,again,village\n"  # C01 exists in TC: unique constraint

    report = run(world, data)

    assert [e.message for e in report.errors] == [
        "The data of this station was changed by someone else during the import: nothing "
        "was imported; import the file again."
    ]
    assert Community.objects.get(station=world.station, code="C01").name == "东街社区"


def xlsx_file(*sheets):
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_sheet_is_chosen_and_named_in_the_event(world):
    data = xlsx_file(
        ("说明", [["本表为登记表"]]),
        ("登记", [["编码", "名称", "类别", "人口"], ["V7", "南村", "村", 35.0]]),
    )

    report = run(world, data, "register.xlsx", sheet="登记")

    assert (report.ok, report.row_unit, report.sheet) == (True, "row", "登记")
    assert Community.objects.get(code="V7").population == 35
    assert json.loads(AuditEvent.objects.get(action="import_test_villages").detail)["sheet"] == (
        "登记"
    )


def test_the_row_limits_of_the_page_and_the_command_line(world, settings):
    settings.IMPORT_MAX_ROWS_WEB, settings.IMPORT_MAX_ROWS = 1, 2

    web = run(world)
    cli = run(world, source="cli")

    assert [e.message for e in web.errors] == [
        "The file holds more than 1 rows, the most one import may hold: reading stopped at "
        "row 3. Split the file into smaller ones."
    ]
    assert cli.ok and cli.created == 2


class VillagesCommand(ImportCommand):
    importer = VILLAGES


def test_a_command_comes_with_the_importer(world, tmp_path):
    path = tmp_path / "villages.csv"
    path.write_bytes(b"code,name,kind\nV1,a,town\n")
    out = StringIO()

    with translation.override("en"), pytest.raises(CommandError) as raised:
        call_command(VillagesCommand(), str(path), station="TC", stdout=out)

    assert raised.value.returncode == 1
    assert out.getvalue().splitlines() == [
        "row 2, field kind: Unknown value “town”: use one of village, 村."
    ]
    event = AuditEvent.objects.get(action="import_test_villages")
    assert (event.actor_name, json.loads(event.detail)["source"]) == ("system", "cli")


def test_a_schema_may_depend_on_the_upload(world):
    asked = []

    def schema(upload: Upload) -> Schema:
        asked.append((upload.station.code, upload.source, upload.limits.rows))
        return SCHEMA

    importer = dataclasses.replace(VILLAGES, schema=schema)
    report = imports.run_import(importer, None, world.station, GOOD, "v.csv", source="cli")

    assert report.ok and report.created == 2
    assert asked == [("TC", "cli", 1_000_000)]


def test_an_unknown_code_still_says_something():
    assert imports.message(None, "no_such_code", {"a": 1}) == "no_such_code {'a': 1}"


# --- one code, one message, one documented row --------------------------------------------------

EMITTED = re.compile(r'(?:Problem|problem|reporter|Unreadable|\.at)\(\s*"([a-z_0-9]+)"')


def emitted(*paths: Path) -> set[str]:
    return {code for path in paths for code in EMITTED.findall(path.read_text())}


def test_every_shared_problem_code_has_a_message_and_is_documented():
    package = Path(importing.__file__).parent
    sources = sorted(package.glob("*.py"))
    codes = emitted(*sources)
    notices = {
        code
        for path in sources
        for code in re.findall(r'Notice\(\s*"([a-z_0-9]+)"', path.read_text())
    }
    docs = (ROOT / "docs" / "data-formats.md").read_text()

    assert len(codes) > 40
    # Besides the reader's codes: the write's conflict, and the invalid shape with its point.
    assert codes | {"conflict", "geometry_invalid_at"} == set(imports.MESSAGES)
    assert notices == set(imports.NOTICES)
    for code in [*imports.MESSAGES, *imports.NOTICES]:
        assert f"`{code}`" in docs, code
    assert set(importing.GEOS_REASONS.values()) == set(imports.REASONS)


def test_every_translation_uses_only_the_parameters_of_its_message():
    # A %(name)s the code does not give would raise KeyError on the page.
    def names(text: str) -> set[str]:
        return set(re.findall(r"%\((\w+)\)s", text))

    for code, template in [*imports.MESSAGES.items(), *imports.NOTICES.items()]:
        with translation.override("en"):
            english = str(template)
        with translation.override("zh-hans"):
            chinese = str(template)
        assert chinese != english, f"{code}: not translated"
        assert names(chinese) <= names(english), code
        chinese % dict.fromkeys(names(english), "x")
