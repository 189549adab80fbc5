from __future__ import annotations

from typing import Any

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
from jingwang.accounts.scope import require
from jingwang.core.params import choice_param, int_param, text_param
from jingwang.lib import division
from jingwang.people.models import GridAssignment
from jingwang.people.queries import assignments_visible_to, coverage_of
from jingwang.territory import actions, planning
from jingwang.territory.forms import DivisionForm, MoveForm
from jingwang.territory.maps import feature, grid_feature, map_data
from jingwang.territory.models import BaseUnit, DivisionProposal, Grid
from jingwang.territory.queries import (
    access_grid,
    access_proposal,
    access_station,
    ancestors,
    base_units_visible_to,
    communities_visible_to,
    grids_visible_to,
    proposals_visible_to,
    stations_visible_to,
)

LEVELS = [level for level, _label in Grid.Level.choices]


def chosen_station(request: HttpRequest, *, perm: str = Perm.TERRITORY_VIEW) -> Any:
    """The station named by ``?station=`` (code or id, within scope), else the first one."""
    stations = stations_visible_to(request.user, perm=perm)
    code = text_param(request.GET, "station", max_length=64)
    if code:
        return access_station(request.user, code, perm=perm), stations
    return stations.first(), stations


def map_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    level = choice_param(request.GET, "level", LEVELS, "block")
    # Maps draw the stored map shapes: the full shapes are not read.
    grids = (
        grids_visible_to(request.user).filter(station=station, level=level).defer("geometry_wkt")
        if station
        else []
    )
    communities = (
        communities_visible_to(request.user).filter(station=station).defer("geometry_wkt")
        if station
        else []
    )
    data = map_data(
        grids=[grid_feature(g) for g in grids],
        communities=[feature(c, code=c.code, name=c.name, kind=c.kind) for c in communities],
    )
    context = {
        "station": station,
        "stations": stations,
        "level": level,
        "levels": Grid.Level.choices,
        "map_data": data,
        "grid_count": len(data["grids"]["features"]),
        "can_divide": has_perm(request.user, Perm.TERRITORY_DIVIDE),
        "proposals": (
            proposals_visible_to(request.user).filter(station=station, status="proposed").count()
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
    level = choice_param(request.GET, "level", LEVELS)
    if level:
        grids = grids.filter(level=level)
    q = text_param(request.GET, "q")
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
    """A grid, as the reader may see it: its figures and children; the grids above as labels
    (linked when the reader may open them); the people on it and above it whom the reader may
    see; and which roles cover it, whoever holds them."""
    grid = access_grid(request.user, grid_id)
    children = grids_visible_to(request.user, current=False).filter(parent=grid).order_by("code")
    chain = ancestors(request.user, grid)
    assignments = list(
        assignments_visible_to(request.user)
        .filter(grid_id__in=[grid.id, *[g.id for g in chain]], ended_at__isnull=True)
        .select_related("person", "grid")
    )
    covered = coverage_of(grid)
    context = {
        "grid": grid,
        "ancestors": chain,
        "children": children,
        "own_assignments": [a for a in assignments if a.grid_id == grid.id],
        "inherited_assignments": [a for a in assignments if a.grid_id != grid.id],
        "covered_from_above": [
            GridAssignment.Role(role).label for role, where in covered.items() if where == "above"
        ],
        "map_data": map_data(
            grids=[grid_feature(grid)], children=[grid_feature(child) for child in children]
        ),
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
    station, stations = chosen_station(request, perm=Perm.TERRITORY_DIVIDE)
    if station is None:
        raise Http404()
    form = DivisionForm(request.POST or None, initial=DivisionForm.initial_for(station))
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
    proposals = proposals_visible_to(request.user).filter(station=station).order_by("-number")
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


def _block_features(
    data: dict[str, Any], rows: list[BaseUnit], flagged: set[str]
) -> list[dict[str, Any]]:
    """The proposal's blocks for its map, from the shapes it stored (a proposal made before
    they were stored gets them computed here)."""
    shapes = data.get("shapes") or planning.block_shapes(data["blocks"], rows)
    return [
        {
            "type": "Feature",
            "geometry": shapes[block["id"]],
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
        for block in data["blocks"]
        if block["id"] in shapes
    ]


def division_view(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """A proposal beside the current grids. Reads what the proposal stored; re-measures the
    current grids only when they changed since the proposal was measured against them."""
    proposal = access_proposal(request.user, proposal_id)
    data = proposal.plan
    rows = list(
        base_units_visible_to(request.user).filter(station=proposal.station).order_by("code")
    )
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
    current_blocks = (
        grids_visible_to(request.user)
        .filter(station=proposal.station, level="block")
        .defer("geometry_wkt")
    )
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
        "current_data": map_data(grids=[grid_feature(g) for g in current_blocks]),
        "proposal_data": map_data(grids=_block_features(data, rows, flagged)),
    }
    return render(request, "territory/division.html", context)


@require_POST
def division_move(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access_proposal(request.user, proposal_id, write=True)
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
    proposal = access_proposal(request.user, proposal_id, write=True)
    revision = int_param(request.POST, "revision", required=True)
    assert revision is not None
    try:
        version = actions.apply_grid_plan(request.user, proposal, revision)
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
    proposal = access_proposal(request.user, proposal_id, write=True)
    revision = int_param(request.POST, "revision", required=True)
    assert revision is not None
    try:
        actions.discard_proposal(request.user, proposal, revision)
    except actions.PlanError as error:
        messages.error(request, str(error))
    return redirect(f"{reverse('territory:divisions')}?station={proposal.station.code}")
