from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jingwang.accounts import scope
from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.core.params import BadParameter, choice_param, int_param, text_param
from jingwang.lib import division
from jingwang.people.models import GridAssignment
from jingwang.people.queries import assignments_visible_to, coverage_of
from jingwang.territory import actions, maps, planning
from jingwang.territory.forms import DivisionForm, MoveForm
from jingwang.territory.maps import grid_feature, map_data
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


def grid_options(user: Any, station: Any, chosen: int | None) -> SafeString:
    """The ``<option>``s of a list's grid filter: the station's districts, sectors and blocks
    the user may see (a grid's filter takes the grids below it, and a list of every cluster,
    thousands in a county, is no choice on a phone), and the chosen grid whatever its level.
    Built here rather than in a template loop: a county has hundreds of them."""
    if station is None:
        return SafeString("")
    rows = (
        grids_visible_to(user)
        .filter(station=station)
        .filter(~Q(level="cluster") | Q(id=chosen or 0))
        .order_by("code")
        .values_list("id", "code", "name")
    )
    return format_html_join(
        "",
        '<option value="{}"{}>{} {}</option>',
        ((pk, " selected" if pk == chosen else "", code, name) for pk, code, name in rows),
    )


def chosen_station(request: HttpRequest, *, perm: str = Perm.TERRITORY_VIEW) -> Any:
    """The station named by ``?station=`` (code or id, within scope), else the first one."""
    stations = stations_visible_to(request.user, perm=perm)
    code = text_param(request.GET, "station", max_length=64)
    if code:
        return access_station(request.user, code, perm=perm), stations
    return stations.first(), stations


def map_view(request: HttpRequest) -> HttpResponse:
    """The territory map: the station's outline and the chosen level's grids, loaded by the
    visible area from ``map_shapes``, and the point layers the user may see (``map_points``)."""
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    level = choice_param(request.GET, "level", LEVELS, "block")
    config: dict[str, Any] | None = None
    grid_count = 0
    if station is not None:
        shapes = maps.station_shapes(station.id)
        visible = _visible_grids(request.user, station)
        if visible is None:
            grid_count = len(shapes.levels[level].ids)
            outline: Any = json.loads(shapes.outline)
            bounds = shapes.bounds
        else:
            mine = grids_visible_to(request.user).filter(station=station)
            grid_count = mine.filter(level=level).count()
            found = mine.aggregate(
                a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat")
            )
            outline = None
            bounds = (found["a"], found["b"], found["c"], found["d"]) if found["a"] else None
        config = {
            "station": station.code,
            "level": level,
            "stamp": _stamp_text(shapes.stamp),
            "shapes_url": reverse("territory:map_shapes"),
            "outline": outline,
            "bounds": bounds,
            "tiles": settings.MAP_TILE_URL,
            "layers": [
                {
                    "name": layer.name,
                    "label": str(layer.label),
                    "url": reverse("territory:map_points", args=[layer.name]),
                    "color": layer.color,
                    "create_url": (
                        reverse(layer.create_url)
                        if layer.create_url
                        and layer.create_perm
                        and has_perm(request.user, layer.create_perm)
                        else ""
                    ),
                    "create_label": str(
                        layer.create_label or _("New: %(layer)s") % {"layer": layer.label}
                    ),
                }
                for layer in maps.point_layers()
                if has_perm(request.user, layer.perm)
            ],
        }
    context = {
        "station": station,
        "stations": stations,
        "level": level,
        "levels": Grid.Level.choices,
        "map_config": config,
        "grid_count": grid_count,
        "can_divide": has_perm(request.user, Perm.TERRITORY_DIVIDE),
        "proposals": (
            proposals_visible_to(request.user).filter(station=station, status="proposed").count()
            if station
            else 0
        ),
    }
    return render(request, "territory/map.html", context)


def _visible_grids(user: Any, station: Any) -> set[int] | None:
    """The station's grids the user may see; None when they see every one (station scope)."""
    if scope.grid_ids(user) is None:
        return None
    return set(grids_visible_to(user).filter(station=station).values_list("id", flat=True))


def _stamp_text(stamp: tuple[int, int, int]) -> str:
    return "-".join(str(part) for part in stamp)


def _bbox(request: HttpRequest, shapes: maps.StationShapes) -> tuple[float, float, float, float]:
    """``?bbox=min_lon,min_lat,max_lon,max_lat`` (WGS-84); the whole station when absent."""
    raw = text_param(request.GET, "bbox", max_length=200)
    if not raw:
        return shapes.bounds or (0.0, 0.0, 0.0, 0.0)
    message = _("bbox: four numbers, min_lon,min_lat,max_lon,max_lat (WGS-84).")
    parts = raw.split(",")
    if len(parts) != 4:
        raise BadParameter("bbox", message)
    try:
        values = [float(part) for part in parts if part.strip().isascii()]
    except ValueError as error:
        raise BadParameter("bbox", message) from error
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise BadParameter("bbox", message)
    a, b, c, d = values
    if not (-180 <= a <= c <= 180 and -90 <= b <= d <= 90):
        raise BadParameter("bbox", message)
    return (a, b, c, d)


def _map_station(request: HttpRequest) -> Any:
    """The station a map request names (``?station=``, required), within scope."""
    code = text_param(request.GET, "station", max_length=64)
    if not code:
        raise BadParameter("station", _("station: the code of a station is required."))
    return access_station(request.user, code)


def _json(text: str, *, cacheable: bool = False) -> HttpResponse:
    response = HttpResponse(text, content_type="application/json")
    if cacheable:  # the URL names the grid stamp: a new grid version is another URL
        response["Cache-Control"] = "private, max-age=300"
    return response


def map_shapes(request: HttpRequest) -> HttpResponse:
    """The level's grids and the communities meeting the visible area (GeoJSON), as the user
    may see them: ``?station=TC&level=block&bbox=…&zoom=…`` (the map's zoom: coarser shapes
    when the view is wide)."""
    require(request.user, Perm.TERRITORY_VIEW)
    station = _map_station(request)
    level = choice_param(request.GET, "level", LEVELS, "block")
    shapes = maps.station_shapes(station.id)
    bbox = _bbox(request, shapes)
    visible = _visible_grids(request.user, station)
    zoom = int_param(request.GET, "zoom", minimum=0, maximum=24)
    grids = maps.grids_in_view(shapes, level, bbox, visible, zoom)
    communities = maps.communities_in_view(
        communities_visible_to(request.user).filter(station=station), bbox
    )
    stamp = _stamp_text(shapes.stamp)
    text = f'{{"stamp":"{stamp}","grids":{grids},"communities":{communities}}}'
    return _json(text, cacheable=request.GET.get("v") == stamp)


def map_points(request: HttpRequest, name: str) -> HttpResponse:
    """A point layer's records in the visible area: one by one when few, counts per finest grid
    when many (``jingwang.territory.maps.points_in_view``)."""
    require(request.user, Perm.TERRITORY_VIEW)
    layer = maps.point_layer(name)
    if layer is None:
        scope.deny(request.user, "territory.map_layer", name, mode="read")
    assert layer is not None
    require(request.user, layer.perm)
    station = _map_station(request)
    shapes = maps.station_shapes(station.id)
    bbox = _bbox(request, shapes)
    visible = _visible_grids(request.user, station)
    found = maps.points_in_view(layer, request.user, shapes, bbox, visible, request.GET)
    return _json(json.dumps(found, ensure_ascii=False, separators=(",", ":")))


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


# What the checks of the base units found (lib/division/checks.py), for people reading Chinese.
FINDINGS = {
    "isolated_units": gettext_lazy("Base units with no neighbour: their borders do not meet"),
    "gaps": gettext_lazy("Neighbouring base units with a gap between their borders"),
    "overlaps": gettext_lazy("Neighbouring base units that overlap"),
    "repaired_polygon": gettext_lazy("Invalid shape, repaired"),
    "refused_unit": gettext_lazy("Shape that cannot be used"),
}


def violation_label(code: str) -> str:
    """'block_not_contiguous' → the label of 'not_contiguous' with its level."""
    if code in VIOLATIONS:
        return str(VIOLATIONS[code])
    level, _sep, rest = code.partition("_")
    if rest in VIOLATIONS and level in LEVELS:
        return f"{Grid.Level(level).label} · {VIOLATIONS[rest]}"
    return code


# Why a constraint is not met (Violation.cause).
CAUSES = {
    "data": gettext_lazy("The data force it"),
    "search": gettext_lazy("The search found no better"),
}


def _share(kept: dict[str, Any] | None, part: str, whole: str) -> dict[str, Any] | None:
    """``part`` of ``whole`` from a continuity dict: {"n", "of", "percent"}; None when absent."""
    if not kept or part not in kept or whole not in kept:
        return None
    n, of = int(kept[part]), int(kept[whole])
    return {"n": n, "of": of, "percent": round(100 * n / of) if of else None}


def continuity_rows(data: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """What the proposal keeps of the current grids beside what a full re-division keeps:
    (key, label, this proposal, full re-division) with each figure a ``_share``."""
    mine = data.get("kept")
    fresh = (data.get("fresh") or {}).get("kept")
    if not mine:
        return []
    rows = [
        ("units", _("Base units keeping their block"), "units_kept", "units"),
        ("households", _("Households keeping their block"), "households_kept", "households"),
        ("population", _("Residents keeping their block"), "population_kept", "population"),
        ("blocks", _("Blocks kept"), "blocks_kept", "blocks_before"),
        ("people", _("Grid workers kept"), "people_kept", "people"),
        ("records", _("Records kept"), "records_kept", "records"),
    ]
    return [
        (key, label, _share(mine, part, whole), _share(fresh, part, whole))
        for key, label, part, whole in rows
    ]


def search_line(search: dict[str, Any]) -> str:
    """The engine's search figures in one line (docs/division.md, "Several starts")."""
    if not search:
        return ""
    if search.get("method") == "redivide":
        return _(
            "Re-division: %(moved)s base units moved, %(splits)s blocks split, %(merges)s merged."
        ) % {
            "moved": search.get("moved_units", 0),
            "splits": search.get("splits", 0),
            "merges": search.get("merges", 0),
        }
    starts = search.get("starts")
    if isinstance(starts, dict):
        starts = sum(int(n) for n in starts.values())
    elif isinstance(starts, list):
        starts = sum(int(n) for n in starts)
    if starts is None:
        return ""
    return _("Search: %(starts)s starts tried within a budget of %(seconds)s s.") % {
        "starts": starts,
        "seconds": search.get("search_seconds", search.get("budget_seconds", "—")),
    }


def _rerun_fields(data: dict[str, Any], seed: int, tolerance: float) -> dict[str, Any]:
    """The division form's fields for the same run with the snapping ``tolerance``."""
    policy = data.get("policy", {})
    fields: dict[str, Any] = {
        name: "" if policy.get(name) is None else policy.get(name)
        for name in DivisionForm.base_fields
        if name not in DivisionForm.RUN_FIELDS
    }
    fields.update(seed=seed, mode=data.get("mode") or "fresh", snap_tolerance_m=tolerance)
    return fields


def divisions_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_DIVIDE)
    station, stations = chosen_station(request, perm=Perm.TERRITORY_DIVIDE)
    if station is None:
        raise Http404()
    form = DivisionForm(
        request.POST or None,
        initial=DivisionForm.initial_for(station),
        can_redivide=planning.has_full_grids(station),
    )
    if request.method == "POST" and form.is_valid():
        try:
            proposal = actions.propose_division(
                request.user,
                station,
                form.policy(),
                seed=form.cleaned_data["seed"],
                mode=form.cleaned_data["mode"],
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
    report = data.get("data") or {}
    suggested = report.get("suggested_tolerance_m")
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
                "cause": v.get("cause") or "",
                "cause_label": CAUSES.get(v.get("cause") or "", ""),
            }
            for v in data["violations"]
        ],
        "mode": data.get("mode") or "fresh",
        # The input checks: a warning at the top when the data look broken or units were left out.
        "report": report,
        "warn": bool(report.get("looks_broken") or report.get("refused")),
        "findings": [
            {
                "code": f["code"],
                "label": str(FINDINGS.get(f["code"], f["code"])),
                "message": f["message"],
                "ids": ", ".join(f.get("ids", [])),
            }
            for f in report.get("findings", [])
        ],
        "refused": [{"code": code, "reason": reason} for code, reason in report.get("refused", [])],
        "repaired": ", ".join(report.get("repaired", [])),
        "suggested": suggested,
        "rerun": (
            _rerun_fields(data, proposal.seed, suggested)
            if suggested and has_perm(request.user, Perm.TERRITORY_DIVIDE)
            else None
        ),
        "search_line": search_line(data.get("search") or {}),
        "share_in_range": mine.get("share_in_range", 0),
        "continuity": continuity_rows(data),
        "has_fresh": bool((data.get("fresh") or {}).get("kept")),
        "fresh": data.get("fresh"),
        "records_since": data.get("records_since"),
        "moved": (data.get("kept") or {}).get("moved", []),
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
