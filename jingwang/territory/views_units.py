"""Base units: their list, a unit's page (its grids, its complexity and the score's inputs), and
the division page's button that recomputes complexity from records (``territory.complexity``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.core.params import text_param
from jingwang.lib.division import complexity as score
from jingwang.territory import complexity, index
from jingwang.territory.models import BaseUnit
from jingwang.territory.queries import (
    GridLabel,
    access_base_unit,
    access_station,
    ancestors,
    base_units_visible_to,
    grids_visible_to,
)
from jingwang.territory.views import chosen_station

INPUT_LABELS = {
    "incidents": gettext_lazy("Incidents"),
    "disputes": gettext_lazy("Disputes"),
    "key_places": gettext_lazy("Key places"),
    "floating_population": gettext_lazy("Floating population"),
}


def units_view(request: HttpRequest) -> HttpResponse:
    """The station's base units with their figures and complexity (most complex first)."""
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    units = base_units_visible_to(request.user).select_related("community")
    if station is not None:
        units = units.filter(station=station)
    q = text_param(request.GET, "q")
    if q:
        units = units.filter(Q(code__icontains=q) | Q(name__icontains=q))
    order = "code" if request.GET.get("order") == "code" else "-complexity"
    units = units.defer("geometry_wkt", "map_geojson").order_by(order, "code")
    page = Paginator(units, 50).get_page(request.GET.get("page"))
    context = {
        "station": station,
        "stations": stations,
        "page": page,
        "q": q,
        "order": order,
        "can_divide": has_perm(request.user, Perm.TERRITORY_DIVIDE),
    }
    return render(request, "territory/units.html", context)


def _grid_chain(user: Any, unit: BaseUnit) -> list[GridLabel]:
    """The current grids holding the unit (a point inside it), largest first."""
    point = unit.geometry.point_on_surface()
    found = index.locate_id([unit.station_id], point.x, point.y)
    if found is None:
        return []
    grid = grids_visible_to(user).filter(id=found).first()
    if grid is None:
        return []
    return [*ancestors(user, grid), GridLabel(grid.id, grid.code, grid.name, grid.level, True)]


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def unit_view(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = access_base_unit(request.user, unit_id)
    inputs = unit.complexity_inputs or {}
    rows = [{**row, "label": INPUT_LABELS[row["name"]]} for row in complexity.shown_inputs(unit)]
    context = {
        "unit": unit,
        "chain": _grid_chain(request.user, unit),
        "inputs": inputs,
        "rows": rows,
        "people": max(
            float(inputs.get("residents", 0)) + (inputs.get("floating_population") or 0),
            score.MIN_PEOPLE,
        ),
        "min_people": int(score.MIN_PEOPLE),
        "period_from": _moment(inputs.get("period_from")),
        "period_to": _moment(inputs.get("period_to")),
        "computed_at": _moment(inputs.get("computed_at")),
        "key_places_registered": "key_places" in complexity.sources(),
        "can_divide": has_perm(request.user, Perm.TERRITORY_DIVIDE),
    }
    return render(request, "territory/unit.html", context)


@require_POST
def recompute_view(request: HttpRequest) -> HttpResponse:
    """The division page's button: recompute the station's complexity from its records now."""
    require(request.user, Perm.TERRITORY_DIVIDE)
    code = text_param(request.POST, "station", max_length=64)
    station = access_station(request.user, code, perm=Perm.TERRITORY_DIVIDE)
    figures = complexity.recompute_station(request.user, station)
    if figures["skipped"]:
        messages.info(
            request,
            _(
                "No incidents, disputes or key places in the last 12 months: the complexity of "
                "the base units stays as imported."
            ),
        )
    else:
        messages.success(
            request,
            _("Complexity computed from records for %(units)s base units (%(changed)s changed).")
            % {"units": figures["units"], "changed": figures["changed"]},
        )
    return redirect(f"{reverse('territory:divisions')}?station={station.code}")
