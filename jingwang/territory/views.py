from __future__ import annotations

from typing import Any

import shapely
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require, station_ids
from jingwang.lib import division
from jingwang.people.queries import open_assignments
from jingwang.territory import actions, planning
from jingwang.territory.forms import DivisionForm, MoveForm
from jingwang.territory.models import BaseUnit, DivisionProposal, Grid
from jingwang.territory.queries import (
    access_grid,
    access_station,
    ancestors,
    communities_visible_to,
    grids_visible_to,
    stations_visible_to,
)

LEVELS = [level for level, _label in Grid.Level.choices]


# Shapes sent to a map are simplified to about a metre and rounded to 6 decimals (10 cm): the
# page stays light on a village phone connection and the drawing does not change.
MAP_TOLERANCE = 0.00001


def map_geometry(geometry: shapely.Geometry) -> dict[str, Any]:
    simple = shapely.set_precision(shapely.simplify(geometry, MAP_TOLERANCE), 0.000001)
    return shapely.geometry.mapping(simple if not simple.is_empty else geometry)


def _feature(row: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": map_geometry(row.geometry), "properties": properties}


def grid_feature(grid: Grid) -> dict[str, Any]:
    return _feature(
        grid,
        id=grid.id,
        code=grid.code,
        name=grid.name,
        level=grid.level,
        level_label=str(grid.get_level_display()),
        population=grid.population,
        households=grid.households,
        complexity=round(grid.complexity, 2),
        url=f"/territory/grids/{grid.id}/",
    )


def chosen_station(request: HttpRequest) -> Any:
    stations = stations_visible_to(request.user)
    code = request.GET.get("station")
    if code:
        return access_station(request.user, code), stations
    return stations.first(), stations


def map_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    level = request.GET.get("level", "block")
    if level not in LEVELS:
        level = "block"
    grids = grids_visible_to(request.user).filter(station=station, level=level) if station else []
    communities = communities_visible_to(request.user).filter(station=station) if station else []
    data: dict[str, Any] = {
        "grids": {"type": "FeatureCollection", "features": [grid_feature(g) for g in grids]},
        "communities": {
            "type": "FeatureCollection",
            "features": [_feature(c, code=c.code, name=c.name, kind=c.kind) for c in communities],
        },
        "tiles": settings.MAP_TILE_URL,
        "gaps": [],
    }
    context = {
        "station": station,
        "stations": stations,
        "level": level,
        "levels": Grid.Level.choices,
        "map_data": data,
        "grid_count": len(data["grids"]["features"]),
        "can_divide": has_perm(request.user, Perm.TERRITORY_DIVIDE),
        "proposals": (
            DivisionProposal.objects.filter(station=station, status="proposed").count()
            if station
            else 0
        ),
    }
    return render(request, "territory/map.html", context)


def grids_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    grids = grids_visible_to(request.user).select_related("parent", "community")
    if station is not None:
        grids = grids.filter(station=station)
    level = request.GET.get("level", "")
    if level in LEVELS:
        grids = grids.filter(level=level)
    q = request.GET.get("q", "").strip()
    if q:
        grids = grids.filter(Q(code__icontains=q) | Q(name__icontains=q))
    grids = grids.annotate(
        people=Count("assignments", filter=Q(assignments__ended_at__isnull=True))
    ).order_by("code")
    page = Paginator(grids, 50).get_page(request.GET.get("page"))
    context = {
        "station": station,
        "stations": stations,
        "page": page,
        "level": level,
        "levels": Grid.Level.choices,
        "q": q,
    }
    return render(request, "territory/grids.html", context)


def grid_view(request: HttpRequest, grid_id: int) -> HttpResponse:
    grid = access_grid(request.user, grid_id)
    children = grids_visible_to(request.user, current=False).filter(parent=grid).order_by("code")
    chain = ancestors(grid)
    visible_ids = set(
        grids_visible_to(request.user, current=False)
        .filter(id__in=[g.id for g in chain])
        .values_list("id", flat=True)
    )
    assignments = open_assignments(Grid.objects.filter(id__in=[grid.id, *[g.id for g in chain]]))
    data: dict[str, Any] = {
        "grids": {"type": "FeatureCollection", "features": [grid_feature(grid)]},
        "children": {
            "type": "FeatureCollection",
            "features": [grid_feature(child) for child in children],
        },
        "tiles": settings.MAP_TILE_URL,
    }
    context = {
        "grid": grid,
        "ancestors": [(g, g.id in visible_ids) for g in chain],
        "children": children,
        "own_assignments": [a for a in assignments if a.grid_id == grid.id],
        "inherited_assignments": [a for a in assignments if a.grid_id != grid.id],
        "map_data": data,
        "can_manage": has_perm(request.user, Perm.PEOPLE_MANAGE),
    }
    return render(request, "territory/grid.html", context)


# ---------------------------------------------------------------------------------------------
# Grid division: proposals beside the current grids; run, edit by hand, apply, discard.

MEASURE_ROWS = [
    ("count", gettext_lazy("Blocks")),
    ("cv_workload", gettext_lazy("Spread of workload (coefficient of variation)")),
    ("households_min", gettext_lazy("Fewest households in a block")),
    ("households_max", gettext_lazy("Most households in a block")),
    ("share_in_range", gettext_lazy("Blocks within the household range")),
    ("polsby_popper_min", gettext_lazy("Least compact block (Polsby–Popper)")),
    ("polsby_popper_mean", gettext_lazy("Mean compactness (Polsby–Popper)")),
    ("contiguous", gettext_lazy("Every block in one piece")),
]


# What each constraint the engine reports means, for people reading Chinese; the engine's own
# sentence (English, with the figures) is shown in English.
VIOLATIONS = {
    "unit_unassigned": gettext_lazy("Base units without a grid"),
    "community_disconnected": gettext_lazy("A village or community is in separate pieces"),
    "block_households_low": gettext_lazy("Block with too few households"),
    "block_households_high": gettext_lazy("Block with too many households"),
    "block_population_high": gettext_lazy("Block with too many residents"),
    "cluster_atomic_unit": gettext_lazy("Cluster of one base unit above the cluster size"),
    "cluster_households_high": gettext_lazy("Cluster with too many households"),
    "cluster_households_low": gettext_lazy("Cluster with too few households"),
    "island_merged": gettext_lazy("Small piece merged into a neighbouring block"),
    "not_contiguous": gettext_lazy("Grid in separate pieces"),
    "crosses_community": gettext_lazy("Grid crossing a village or community boundary"),
}


def violation_label(code: str) -> str:
    """'block_not_contiguous' → the label of 'not_contiguous' with its level."""
    if code in VIOLATIONS:
        return str(VIOLATIONS[code])
    level, _sep, rest = code.partition("_")
    if rest in VIOLATIONS and level in LEVELS:
        return f"{Grid.Level(level).label} · {VIOLATIONS[rest]}"
    return code


def divisions_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_DIVIDE)
    station, stations = chosen_station(request)
    if station is None:
        raise Http404()
    station = access_station(request.user, station.code, perm=Perm.TERRITORY_DIVIDE)
    form = DivisionForm(request.POST or None, initial={"seed": 0})
    if request.method == "POST" and form.is_valid():
        try:
            proposal = actions.propose_division(
                request.user, station, form.policy(), seed=form.cleaned_data["seed"]
            )
        except ValueError as error:  # a policy field the engine refuses: name it
            field, _sep, reason = str(error).partition(": ")
            form.add_error(field if field in form.fields else None, reason or str(error))
        except actions.PlanError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Proposal %(n)s is ready for review.") % {"n": proposal.number}
            )
            return redirect("territory:division", proposal_id=proposal.id)
    proposals = DivisionProposal.objects.filter(station=station).order_by("-number")
    rows = [
        (
            p,
            p.plan.get("measures", {}).get("levels", {}).get("block", {}),
            len(p.plan.get("violations", [])),
        )
        for p in proposals
    ]
    context = {"station": station, "stations": stations, "form": form, "rows": rows}
    return render(request, "territory/divisions.html", context)


def _proposal(request: HttpRequest, proposal_id: int) -> DivisionProposal:
    require(request.user, Perm.TERRITORY_DIVIDE)
    proposal = (
        DivisionProposal.objects.filter(id=proposal_id, station_id__in=station_ids(request.user))
        .select_related("station", "applied_version")
        .first()
    )
    if proposal is None:
        raise Http404()
    return proposal


def _block_features(
    blocks: list[dict[str, Any]], rows: list[BaseUnit], flagged: set[str]
) -> list[dict[str, Any]]:
    by_code = {unit.code: unit for unit in rows}
    features = []
    for block in blocks:
        shape = shapely.union_all(
            [by_code[code].geometry for code in block["units"] if code in by_code]
        )
        features.append(
            {
                "type": "Feature",
                "geometry": map_geometry(shape),
                "properties": {
                    "code": block["id"],
                    "name": "",
                    "level": "block",
                    "level_label": str(Grid.Level.BLOCK.label),
                    "households": block["households"],
                    "population": block["population"],
                    "flagged": block["id"] in flagged,
                },
            }
        )
    return features


def division_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """A proposal beside the current grids. Reads what the proposal stored; re-measures the
    current grids only when they changed since the proposal was measured against them."""
    proposal = _proposal(request, proposal_id)
    data = proposal.plan
    rows = list(BaseUnit.objects.filter(station=proposal.station).order_by("code"))
    version = proposal.station.current_version()
    current = data.get("current")
    if version is not None and (current is None or current["version"] != version.pk):
        shaped, units = planning.station_units(proposal.station)
        policy = division.Policy.from_dict(data["policy"])
        current = planning.compare_current(proposal.station, shaped, units, policy)
    theirs = current["blocks"] if current else {}
    mine = data["measures"]["levels"]["block"]
    measures: list[tuple[str | Promise, Any, Any, str]] = [
        (label, theirs.get(key), mine.get(key), key) for key, label in MEASURE_ROWS
    ]
    measures.append(
        (
            _("Constraints not met"),
            current["violations"] if current else None,
            len(data["violations"]),
            "violations",
        )
    )
    flagged = {i for v in data["violations"] if v.get("level") == "block" for i in v["ids"]}
    current_blocks = grids_visible_to(request.user).filter(station=proposal.station, level="block")
    block_ids = [block["id"] for block in data["blocks"]]
    form = MoveForm(
        initial={"revision": proposal.revision}, units={u.code for u in rows}, blocks=block_ids
    )
    context = {
        "proposal": proposal,
        "station": proposal.station,
        "measures": measures,
        "violations": [
            {
                "code": v["code"],
                "label": violation_label(v["code"]),
                "ids": ", ".join(v["ids"]),
                "message": v["message"],
            }
            for v in data["violations"]
        ],
        "regions": [(block, BaseUnit.Kind(block["kind"]).label) for block in data["blocks"]],
        "move_form": form,
        "unit_codes": [u.code for u in rows],
        "editable": proposal.status == DivisionProposal.Status.PROPOSED,
        "current_data": {
            "grids": {
                "type": "FeatureCollection",
                "features": [grid_feature(g) for g in current_blocks],
            },
            "tiles": settings.MAP_TILE_URL,
        },
        "proposal_data": {
            "grids": {
                "type": "FeatureCollection",
                "features": _block_features(data["blocks"], rows, flagged),
            },
            "tiles": settings.MAP_TILE_URL,
        },
    }
    return render(request, "territory/division.html", context)


@require_POST
def division_move(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal(request, proposal_id)
    rows, units = planning.station_units(proposal.station)
    blocks = sorted(
        set(proposal.plan["clusters"][code].rsplit("-", 1)[0] for code in proposal.plan["clusters"])
    )
    form = MoveForm(request.POST, units={u.code for u in units}, blocks=blocks)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.move_base_unit(
                request.user, proposal, data["unit"], data["block"], data["revision"]
            )
        except actions.PlanError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("%(unit)s moved into block %(block)s; the measures below are updated.")
                % {"unit": data["unit"], "block": data["block"]},
            )
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for message in errors:  # ErrorList yields str; its stubs also allow ValidationError
                messages.error(request, f"{label}: {message}" if label else str(message))
    return redirect("territory:division", proposal_id=proposal.id)


@require_POST
def division_apply(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal(request, proposal_id)
    revision = request.POST.get("revision", "")
    try:
        version = actions.apply_grid_plan(
            request.user, proposal, int(revision) if revision.isdigit() else -1
        )
    except actions.PlanError as error:
        messages.error(request, str(error))
        return redirect("territory:division", proposal_id=proposal.id)
    messages.success(
        request,
        _("Grid version %(n)s is now current. Check the people who need a new grid below.")
        % {"n": version.number},
    )
    return redirect(f"{reverse('people:coverage')}?station={proposal.station.code}")


@require_POST
def division_discard(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal(request, proposal_id)
    revision = request.POST.get("revision", "")
    try:
        actions.discard_proposal(
            request.user, proposal, int(revision) if revision.isdigit() else -1
        )
    except actions.PlanError as error:
        messages.error(request, str(error))
    return redirect(f"{reverse('territory:divisions')}?station={proposal.station.code}")
