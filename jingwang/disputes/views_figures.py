"""The dispute figures page (/disputes/figures/) and its XLSX export (/disputes/figures.xlsx).

Filters (query string): ``station`` (code, within scope), ``start``/``end`` (the period, by
default the last 12 months), ``grid`` (a grid of the station and those below it), ``tier``,
``category``, and ``group`` (the breakdown: tier, category, a grid level or the lead mediator;
the month rows are always shown). A filter that does not parse is named on the page, never a
500. The disputes counted are ``disputes_visible_to(user)``: a grid worker's figures are their
grids', an outside member's the disputes they were called to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import deny, require
from jingwang.core.params import choice_param, parse_int, text_param
from jingwang.disputes import figures
from jingwang.disputes.figures import Figures, Period, PeriodError, Row
from jingwang.disputes.models import Tier
from jingwang.disputes.queries import categories_for, disputes_visible_to
from jingwang.territory.queries import grids_visible_to
from jingwang.territory.views import chosen_station, grid_options

TABLES = ("summary", "groups", "months")


def _filters(request: HttpRequest, station: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The filters asked for, and a message per field that does not parse."""
    errors: dict[str, str] = {}
    found: dict[str, Any] = {"period": None, "grid": None, "tier": None, "category": None}
    start = text_param(request.GET, "start", max_length=20)
    end = text_param(request.GET, "end", max_length=20)
    try:
        found["period"] = figures.period_from(start, end, timezone.localdate())
    except PeriodError as problem:
        errors[problem.field] = problem.message
    raw = text_param(request.GET, "grid", max_length=20)
    if raw:
        grid_id = parse_int(raw, minimum=1)
        grid = None
        if grid_id is not None and station is not None:
            grid = grids_visible_to(request.user).filter(station=station, id=grid_id).first()
        if grid is None:
            errors["grid"] = _("Choose a grid of this station from the list.")
        found["grid"] = grid
    raw = text_param(request.GET, "tier", max_length=5)
    if raw:
        tier = parse_int(raw, minimum=1, maximum=3)
        if tier is None:
            errors["tier"] = _("The tier must be 1, 2 or 3.")
        found["tier"] = tier
    raw = text_param(request.GET, "category", max_length=20)
    if raw:
        category_id = parse_int(raw, minimum=1)
        category = None
        if category_id is not None and station is not None:
            category = categories_for(station).filter(id=category_id).first()
        if category is None:
            errors["category"] = _("Choose a category from the list.")
        found["category"] = category
    return found, errors


def _context(request: HttpRequest) -> tuple[dict[str, Any], Figures | None]:
    station, stations = chosen_station(request, perm=Perm.DISPUTES_VIEW)
    group = choice_param(request.GET, "group", figures.GROUPS, "tier")
    filters, errors = _filters(request, station)
    context: dict[str, Any] = {
        "station": station,
        "stations": stations,
        "errors": errors,
        "group": group,
        "group_label": figures.GROUP_LABELS[group],
        "groups": [(g, figures.GROUP_LABELS[g]) for g in figures.GROUPS],
        "start": text_param(request.GET, "start", max_length=20),
        "end": text_param(request.GET, "end", max_length=20),
        "grid": filters["grid"],
        "grid_param": text_param(request.GET, "grid", max_length=20),
        "tier": text_param(request.GET, "tier", max_length=5),
        "category": text_param(request.GET, "category", max_length=20),
        "tiers": Tier.choices,
        "grid_options": "",
        "categories": [],
    }
    if station is None:
        return context, None
    grid = context.get("grid")
    context["grid_options"] = grid_options(request.user, station, grid.id if grid else None)
    context["categories"] = categories_for(station)
    if errors:
        return context, None
    period: Period = filters["period"]
    found = figures.figures(
        disputes_visible_to(request.user).filter(station=station),
        period,
        group,
        grid_id=filters["grid"].id if filters["grid"] else None,
        tier=filters["tier"],
        category_id=filters["category"].id if filters["category"] else None,
    )
    return context, found


def figures_view(request: HttpRequest) -> HttpResponseBase:
    """The figures page."""
    require(request.user, Perm.DISPUTES_VIEW)
    context, found = _context(request)
    context["figures"] = found
    if found is not None:
        by = _("By %(group)s") % {"group": context["group_label"]}
        context["tables"] = [
            ("groups", by, context["group_label"], found.groups.rows),
            ("months", _("By month"), figures.GROUP_LABELS["month"], found.months.rows),
        ]
    return render(request, "disputes/figures.html", context)


def export_figures(request: HttpRequest) -> HttpResponseBase:
    """One of the page's tables as an XLSX file (``table``: summary, groups or months)."""
    require(request.user, Perm.DISPUTES_VIEW)
    context, found = _context(request)
    if context.get("station") is None:  # no station's figures to export (an outside member)
        deny(request.user, "page", "", mode="read", perm=Perm.DISPUTES_VIEW)
    if found is None:  # a filter at fault: the page says which
        context["figures"] = None
        return render(request, "disputes/figures.html", context, status=400)
    from jingwang.core.exports import Column, xlsx_response

    which = choice_param(request.GET, "table", TABLES, "groups")
    period = found.period
    station = context["station"]
    if which == "summary":
        rows, first, title = [found.total], _("Selection"), _("Dispute figures")
    elif which == "months":
        rows, first = found.months.rows, str(figures.GROUP_LABELS["month"])
        title = _("Dispute figures by month")
    else:
        rows = found.groups.rows
        first = str(figures.GROUP_LABELS[found.groups.group])
        title = _("Dispute figures by %(group)s") % {"group": first}
    return xlsx_response(
        request,
        filename=f"dispute-figures-{station.code}-{which}-{period.start:%Y%m%d}-{period.end:%Y%m%d}",
        title=f"{title} {period.start:%Y-%m-%d}–{period.end:%Y-%m-%d}",
        columns=[Column(header, value) for header, value in columns(first)],
        rows=rows,
        object_type="disputes.figures",
        station_id=station.id,
        detail={
            "table": which,
            "group": found.groups.group,
            "period": [period.start.isoformat(), period.end.isoformat()],
            "grid": context["grid"].code if context["grid"] else None,
            "tier": context["tier"] or None,
            "category": context["category"] or None,
        },
    )


def _pct(value: float | None) -> float | str:
    return "" if value is None else round(value * 100, 1)


def columns(first: str) -> list[tuple[str, Callable[[Row], Any]]]:
    """The columns of a figures table, as the XLSX file shows them."""
    return [
        (first, lambda r: r.label),
        (_("Registered"), lambda r: r.registered),
        (_("Mediated"), lambda r: r.mediated),
        (_("Succeeded"), lambda r: r.succeeded),
        (pgettext("dispute figures", "Failed"), lambda r: r.failed),
        (_("Success rate (%)"), lambda r: _pct(r.success_rate)),
        (_("Referred"), lambda r: r.referred),
        (_("Withdrawn"), lambda r: r.withdrawn),
        (_("Agreements carried out"), lambda r: r.performed),
        (_("Agreements followed up to the end"), lambda r: r.concluded),
        (_("Carried-out rate (%)"), lambda r: _pct(r.carried_out_rate)),
        (_("Median duration (days)"), lambda r: "" if r.median_days is None else r.median_days),
        (_("Open now"), lambda r: r.open),
        (_("Overdue now"), lambda r: r.overdue),
    ]
