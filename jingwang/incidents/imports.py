"""Importing the 110 command system's daily export (CSV or XLSX) through ``jingwang.core.imports``.

The page (``/incidents/import/``), the command line (``jingwang import-incidents``), the atomic
write and the audit event are the shared ones; this module declares the columns and their
checks, its problem codes (docs/data-formats.md, "Incidents: the 110 system's daily export") and
how rows become incidents (``actions.write_imported``). A number the station already has
updates that incident: importing the same file again duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.roles import Perm
from jingwang.core import imports
from jingwang.core.imports import CRS_OPTION, Importer, Upload
from jingwang.incidents import actions, categories
from jingwang.incidents.models import Incident
from jingwang.incidents.queries import officer_names
from jingwang.lib.importing import CSV, XLSX, Choice, DateTime, Phone, Schema, Shape, Table, Text

SOURCES = {
    "call_110": Incident.Source.CALL_110,
    "110": Incident.Source.CALL_110,
    "110报警": Incident.Source.CALL_110,
    "电话报警": Incident.Source.CALL_110,
    "walk_in": Incident.Source.WALK_IN,
    "来所报警": Incident.Source.WALK_IN,
    "来所": Incident.Source.WALK_IN,
    "patrol": Incident.Source.PATROL,
    "巡逻发现": Incident.Source.PATROL,
    "巡逻": Incident.Source.PATROL,
    "grid_worker": Incident.Source.GRID_WORKER,
    "网格员上报": Incident.Source.GRID_WORKER,
    "网格员": Incident.Source.GRID_WORKER,
    "other": Incident.Source.OTHER,
    "其他": Incident.Source.OTHER,
}

FIELDS = (
    Text("number", ("警情编号", "接警编号", "编号"), required=True, unique=True, max_length=32),
    DateTime("received_at", ("接警时间", "报警时间", "received"), required=True),
    Choice("source", ("警情来源", "来源"), values=SOURCES),
    Text("category", ("警情类别", "类别", "警情类型"), required=True, max_length=80),
    Text("subcategory", ("警情细类", "细类", "子类别"), max_length=80),
    Text("summary", ("简要警情", "警情内容", "报警内容", "简要案情"), max_length=2000),
    Text("address", ("发生地址", "事发地址", "地址"), max_length=200),
    Text("caller_name", ("报警人", "报警人姓名"), max_length=50),
    Phone("caller_phone", ("报警电话", "联系电话", "报警人电话")),
    Text("officer", ("处警民警", "处警人", "民警"), max_length=50),
    DateTime("dispatched_at", ("派警时间", "派警", "dispatched")),
    DateTime("arrived_at", ("到场时间", "到达时间", "arrived")),
    DateTime("closed_at", ("结警时间", "办结时间", "closed")),
    Text("result", ("处警结果", "处理结果", "结果"), max_length=2000),
)
POINT = Shape(types=("Point",), required=False, name="point", wkt=())

# The import's own problem codes, and its wording of two shared ones. docs/data-formats.md
# lists them; a test keeps the three in step.
MESSAGES = {
    "unknown_category": _(
        "There is no category “%(value)s” in this bureau's list: use a name or code from "
        "the list of incident categories."
    ),
    "unknown_officer": _(
        "There is no active officer “%(value)s” in this station (or two share the name): "
        "give the badge number."
    ),
    "bad_number": _("An incident number has no spaces or control characters."),
    "in_the_future": _("This time is in the future: check the date and time."),
    "before_received": _("This time is before the time the incident was received."),
    "out_of_order": _("This time is before the time of %(before)s: times must be in order."),
    "arrival_without_dispatch": _("An arrival needs the dispatch time: give it too."),
    "too_early": _("This time is before 2000: check the year."),
    "duplicate_code": _("The incident number “%(code)s” is also in row %(first_row)s."),
    "conflict": _(
        "The incidents of this station were changed by someone else during the import: "
        "nothing was imported; import the file again."
    ),
}

TIME_COLUMNS = ("received_at", "dispatched_at", "arrived_at", "closed_at")


def _find_category(known: dict[str, Any], top: str, sub: str | None) -> Any:
    top_key = top.strip().lower()
    if sub:
        found = known.get(f"{top_key}/{sub.strip().lower()}")
        if found is not None:
            return found
        found = known.get(sub.strip().lower())
        parent = getattr(found, "parent", None)
        if parent is not None and top_key in (
            parent.code,
            parent.name.lower(),
            parent.name_en.lower(),
        ):
            return found
        return None
    return known.get(top_key)


def row_checks(known: dict[str, Any], officers: dict[str, Any]) -> Callable[..., None]:
    """The checks across the columns of a row and against the bureau's and station's data."""

    def check(values: dict[str, Any], problem: Callable[..., None]) -> None:
        now = timezone.now()
        number = values.get("number")
        if number and actions.number_problem(number):
            problem("bad_number", "number")
        top = values.get("category")
        if top:
            found = _find_category(known, top, values.get("subcategory"))
            if found is None:
                shown = f"{top}/{values['subcategory']}" if values.get("subcategory") else top
                problem(
                    "unknown_category",
                    "subcategory" if values.get("subcategory") else "category",
                    value=shown[:80],
                )
            values["category"] = found
        name = values.get("officer")
        if name:
            officer = officers.get(name)
            if officer is None:
                problem("unknown_officer", "officer", value=name[:50])
            values["officer"] = officer
        times: dict[str, datetime | None] = {name: values.get(name) for name in TIME_COLUMNS}
        for name, value in times.items():
            if value is None:
                continue
            if value > now + actions.FUTURE_TOLERANCE:
                problem("in_the_future", name)
                times[name] = None
            elif value < actions.EARLIEST:
                problem("too_early", name)
                times[name] = None
        if times["arrived_at"] is not None and times["dispatched_at"] is None:
            if values.get("dispatched_at") is None:
                problem("arrival_without_dispatch", "dispatched_at")
        previous = "received_at"
        for name in TIME_COLUMNS[1:]:
            value, before = times[name], times[previous]
            if value is None:
                continue
            if before is not None and value < before:
                if previous == "received_at":
                    problem("before_received", name)
                else:
                    problem("out_of_order", name, before=previous)
            previous = name

    return check


def schema(upload: Upload) -> Schema:
    known = categories.by_name(upload.station.bureau_id)
    return Schema(
        FIELDS,
        shape=POINT,
        check_row=row_checks(known, officer_names(upload.station)),
        formats=(CSV, XLSX),
    )


def write(upload: Upload, table: Table) -> tuple[int, int]:
    rows = []
    for row in table.rows:
        values = dict(row.values)
        point = values.pop("point", None)
        values.pop("subcategory", None)
        values["lon"], values["lat"] = (point.x, point.y) if point is not None else (None, None)
        rows.append(values)
    return actions.write_imported(upload.actor, upload.station, rows, filename=upload.filename)


def detail(upload: Upload, table: Table) -> dict[str, Any]:
    return {"crs": table.crs, "rows": len(table.rows)}


INCIDENTS = Importer(
    name="import_incidents",
    title=_("Import the 110 system's incidents"),
    perm=Perm.INCIDENTS_RECORD,
    schema=schema,
    write=write,
    options=(CRS_OPTION,),
    messages=MESSAGES,
    detail=detail,
    formats=(CSV, XLSX),
    template="incidents/import.html",
)


def import_incidents(
    actor: Any,
    station: Any,
    data: bytes,
    filename: str,
    crs: str = "auto",
    *,
    source: str = "web",
    sheet: str = "",
) -> imports.ImportReport:
    """Import a 110 export into a station: every row checked first, a file with any problem
    writes nothing; a number the station has updates that incident. One audit event."""
    return imports.run_import(
        INCIDENTS, actor, station, data, filename, options={"crs": crs}, sheet=sheet, source=source
    )


def import_page(request: HttpRequest) -> HttpResponse:
    return imports.import_page(request, INCIDENTS)
