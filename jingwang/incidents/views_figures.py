"""The figures pages: a station's figures grouped by grid level, officer or category, and one
grid's figures (the grids below it included); every table exports to XLSX."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.core.params import choice_param, text_param
from jingwang.incidents import figures
from jingwang.incidents.figures import LEVELS, RATINGS, Period, PeriodError, Row, Table
from jingwang.territory.queries import access_grid, ancestors
from jingwang.territory.views import chosen_station

TABLES = ("summary", "groups")


def _period(request: HttpRequest) -> tuple[Period | None, dict[str, str]]:
    today = timezone.localdate()
    try:
        return (
            figures.parse_period(
                text_param(request.GET, "period", max_length=20),
                text_param(request.GET, "start", max_length=20),
                text_param(request.GET, "end", max_length=20),
                today,
            ),
            {},
        )
    except PeriodError as problem:
        return None, {problem.field: problem.message}


def _context(request: HttpRequest, groups: list[str], default_group: str) -> dict[str, Any]:
    period, errors = _period(request)
    group = choice_param(request.GET, "group", groups, default_group)
    return {
        "period": period,
        "errors": errors,
        "group": group,
        "group_label": figures.GROUP_LABELS[group],
        "groups": [(g, figures.GROUP_LABELS[g]) for g in groups],
        "presets": list(figures.PRESETS.items()),
        "preset": text_param(request.GET, "period", max_length=20) or figures.DEFAULT_PRESET,
        "start": text_param(request.GET, "start", max_length=20),
        "end": text_param(request.GET, "end", max_length=20),
        "ratings": [r.label for r in RATINGS],
    }


def figures_view(request: HttpRequest) -> HttpResponseBase:
    """A station's figures: the station's summary, and a table per grid level, officer or
    category."""
    require(request.user, Perm.INCIDENTS_VIEW)
    station, stations = chosen_station(request, perm=Perm.INCIDENTS_VIEW)
    context = _context(request, list(figures.GROUPS), "sector")
    context.update(station=station, stations=stations, grid=None)
    found = None
    if station is not None and context["period"] is not None:
        found = figures.table(
            request.user, context["period"], context["group"], station_id=station.id
        )
        _link_grids(found)
        export = _export(request, found, station_id=station.id, name=station.code)
        if export is not None:
            return export
    context["table"] = found
    return render(request, "incidents/figures.html", context)


def figures_grid(request: HttpRequest, grid_id: int) -> HttpResponseBase:
    """One grid's figures (the grids below it included), grouped by the levels below it,
    officer or category."""
    require(request.user, Perm.INCIDENTS_VIEW)
    grid = access_grid(request.user, grid_id)
    below = [level for level in LEVELS if LEVELS.index(level) > LEVELS.index(grid.level)]
    groups = [*below, "officer", "category"]
    context = _context(request, groups, groups[0])
    context.update(
        station=grid.station, stations=[], grid=grid, ancestors=ancestors(request.user, grid)
    )
    found = None
    if context["period"] is not None:
        found = figures.table(
            request.user,
            context["period"],
            context["group"],
            station_id=grid.station_id,
            grid_id=grid.id,
        )
        _link_grids(found)
        export = _export(request, found, station_id=grid.station_id, name=grid.code)
        if export is not None:
            return export
    context["table"] = found
    return render(request, "incidents/figures.html", context)


def _link_grids(found: Table) -> None:
    if found.group in LEVELS:
        for row in found.rows:
            if row.key is not None:
                row.url = reverse("incidents:figures_grid", args=[row.key])


# ── XLSX ────────────────────────────────────────────────────────────────────────────────────


def _number(value: float | None, digits: int = 1) -> float | str:
    return "" if value is None else round(value, digits)


def columns(first: str) -> list[tuple[str, Callable[[Row], Any]]]:
    """The columns of a figures table, as the page and the XLSX file show them."""
    cols: list[tuple[str, Callable[[Row], Any]]] = [
        (first, lambda r: r.label),
        (_("Incidents"), lambda r: r.incidents),
        (_("Median dispatch to arrival (min)"), lambda r: _number(r.arrival_minutes)),
        (_("Callbacks due"), lambda r: r.callbacks_due),
        (_("Callbacks done"), lambda r: r.callbacks_done),
        (_("Callback coverage (%)"), lambda r: _number(_pct(r.coverage))),
        (_("Unreachable"), lambda r: r.callbacks_unreachable),
        (_("Reach rate (%)"), lambda r: _number(_pct(r.reach_rate))),
    ]
    for q, q_label in figures.QUESTION_LABELS.items():
        for rating in RATINGS:
            cols.append((f"{q_label}: {rating.label} (%)", _share_of(q, str(rating))))
    cols += [
        (_("Rectifications"), lambda r: r.rectifications),
        (_("Rectifications open"), lambda r: r.rectifications_open),
        (_("Rectifications overdue"), lambda r: r.rectifications_overdue),
    ]
    return cols


def _share_of(question: str, rating: str) -> Callable[[Row], Any]:
    return lambda r: _number(_pct(r.share(question, rating)))


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def _export(
    request: HttpRequest, found: Table, *, station_id: int, name: str
) -> HttpResponseBase | None:
    if choice_param(request.GET, "format", ("xlsx",)) != "xlsx":
        return None
    which = choice_param(request.GET, "table", TABLES, "groups")
    from jingwang.core.exports import Column, xlsx_response

    period = found.period
    if which == "summary":
        rows, first, title = [found.total], _("Selection"), _("Incident figures")
    else:
        rows = found.rows
        first = str(figures.GROUP_LABELS[found.group])
        title = _("Incident figures by %(group)s") % {"group": first}
    return xlsx_response(
        request,
        filename=f"figures-{name}-{which}-{period.start:%Y%m%d}-{period.end:%Y%m%d}",
        title=f"{title} {period.start:%Y-%m-%d}–{period.end:%Y-%m-%d}",
        columns=[Column(header, value) for header, value in columns(first)],
        rows=rows,
        object_type="incidents.figures",
        station_id=station_id,
        detail={
            "table": which,
            "group": found.group,
            "period": [period.start.isoformat(), period.end.isoformat()],
            "of": name,
        },
    )
