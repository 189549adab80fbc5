"""Pages for recording and working incidents, and the system admin's category pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.audit.queries import timeline
from jingwang.core import drafts
from jingwang.core.params import choice_param, date_param, int_param, text_param
from jingwang.incidents import actions, categories
from jingwang.incidents.forms import (
    CategoryForm,
    CloseForm,
    DispatchForm,
    IncidentForm,
    PlaceForm,
    StepForm,
)
from jingwang.incidents.imports import INCIDENTS
from jingwang.incidents.models import Incident
from jingwang.incidents.queries import (
    access_incident,
    access_station_grid,
    incidents_visible_to,
    officers_of,
)
from jingwang.territory.models import Grid
from jingwang.territory.queries import access_config_bureau, config_bureaus, grids_visible_to
from jingwang.territory.views import chosen_station, grid_options

PAGE_SIZE = 50
TIMELINE = 200  # events shown on an incident's page


# ---------------------------------------------------------------------------------------------
# The list, its filters and its export


def filtered(request: HttpRequest) -> tuple[QuerySet[Incident], dict[str, Any]]:
    """The incidents the reader may see, narrowed by the list's filters (also the export's)."""
    station, stations = chosen_station(request, perm=Perm.INCIDENTS_VIEW)
    rows = incidents_visible_to(request.user)
    chosen: dict[str, Any] = {"station": station, "stations": stations}
    if station is not None:
        rows = rows.filter(station=station)
    status = choice_param(request.GET, "status", Incident.Status.values)
    if status:
        rows = rows.filter(status=status)
    grid_id = int_param(request.GET, "grid", minimum=1)
    if grid_id:
        grid = grids_visible_to(request.user).filter(id=grid_id).first()
        rows = rows.filter(grid_id__in=Grid.with_descendants({grid.id})) if grid else rows.none()
        chosen["grid"] = grid
    category = int_param(request.GET, "category", minimum=1)
    if category:
        rows = rows.filter(Q(category_id=category) | Q(category__parent_id=category))
    officer = int_param(request.GET, "officer", minimum=1)
    if officer:
        rows = rows.filter(officer_id=officer)
    start, end = date_param(request.GET, "from"), date_param(request.GET, "to")
    if start:
        rows = rows.filter(received_at__gte=timezone.make_aware(datetime.combine(start, time.min)))
    if end:
        after = end + timedelta(days=1)
        rows = rows.filter(received_at__lt=timezone.make_aware(datetime.combine(after, time.min)))
    unplaced = request.GET.get("unplaced") == "1"
    if unplaced:
        rows = rows.filter(grid__isnull=True)
    q = text_param(request.GET, "q", max_length=32)
    if q:
        rows = rows.filter(number__icontains=q)
    chosen |= {
        "status": status,
        "grid_id": grid_id,
        "category_id": category,
        "officer_id": officer,
        "from": start,
        "to": end,
        "unplaced": unplaced,
        "q": q,
    }
    return rows, chosen


def _filters(chosen: dict[str, Any]) -> dict[str, Any]:
    """The filters as the audit event of an export records them."""
    shown = {k: v for k, v in chosen.items() if k not in ("stations", "grid") and v}
    if shown.get("station") is not None:
        shown["station"] = shown["station"].code
    return {k: str(v) if isinstance(v, date) else v for k, v in shown.items()}


def incident_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.INCIDENTS_VIEW)
    rows, chosen = filtered(request)
    rows = (
        rows.select_related("category", "grid", "officer")
        .defer("grid__geometry_wkt", "grid__map_geojson")
        .order_by("-received_at", "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(int_param(request.GET, "page", minimum=1))
    station = chosen["station"]
    context = {
        **chosen,
        "page": page,
        "statuses": Incident.Status.choices,
        "category_options": _category_options(station.bureau_id) if station else [],
        "grid_options": grid_options(request.user, station, chosen["grid_id"]),
        "officers": officers_of(request.user, station) if station else [],
        "can_record": has_perm(request.user, Perm.INCIDENTS_RECORD),
        "query": request.GET.urlencode(),
        "map_url": map_link(station),
    }
    return render(request, "incidents/list.html", context)


def _category_options(bureau_id: int) -> list[tuple[int, str, bool]]:
    """Every category of the bureau for the filter: each top-level one (its incidents and its
    sub-categories'), then its sub-categories."""
    rows = list(categories.categories_of(bureau_id, active=None))
    options: list[tuple[int, str, bool]] = []
    for top in (c for c in rows if c.parent_id is None):
        options.append((top.id, top.label, False))
        options += [(c.id, c.label, True) for c in rows if c.parent_id == top.id]
    return options


def export(request: HttpRequest) -> HttpResponseBase:
    """The filtered list as an XLSX file (one ``export`` audit event)."""
    from jingwang.core.exports import Column, xlsx_response

    require(request.user, Perm.INCIDENTS_VIEW)
    rows, chosen = filtered(request)
    rows = rows.select_related("category", "category__parent", "grid", "officer", "station")
    station = chosen["station"]

    def moment(value: datetime | None) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    columns = [
        Column(_("Station"), lambda i: i.station.name),
        Column(_("Incident number"), lambda i: i.number),
        Column(_("Received"), lambda i: moment(i.received_at)),
        Column(_("Source"), lambda i: i.get_source_display()),
        Column(_("Category"), lambda i: i.category.parent.label if i.category.parent else ""),
        Column(_("Sub-category"), lambda i: i.category.label),
        Column(_("Status"), lambda i: i.get_status_display()),
        Column(_("Grid"), lambda i: i.grid.code if i.grid else ""),
        Column(_("Handling officer"), lambda i: i.officer.name if i.officer else ""),
        Column(_("Dispatched"), lambda i: moment(i.dispatched_at)),
        Column(_("Arrived"), lambda i: moment(i.arrived_at)),
        Column(_("Closed"), lambda i: moment(i.closed_at)),
        Column(_("Caller's phone"), lambda i: i.caller_phone.masked),
        Column(_("What happened"), lambda i: i.summary),
        Column(_("Result"), lambda i: i.result),
    ]
    return xlsx_response(
        request,
        filename="incidents",
        title=_("Incidents"),
        columns=columns,
        rows=rows.order_by("-received_at", "-id"),
        object_type="incidents.incident",
        station_id=station.pk if station else None,
        detail={"filters": _filters(chosen)},
    )


# ---------------------------------------------------------------------------------------------
# One incident


def incident_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = access_incident(request.user, incident_id)
    can_record = has_perm(request.user, Perm.INCIDENTS_RECORD)
    events = list(timeline(incident)[:TIMELINE])
    context: dict[str, Any] = {
        "incident": incident,
        "events": events,
        "can_record": can_record,
    }
    if can_record:
        officers = officers_of(request.user, incident.station)
        initial = {"version": incident.version}
        if incident.dispatched_at is None:
            context["dispatch_form"] = DispatchForm(
                initial={**initial, "officer": incident.officer_id}, officers=officers
            )
        elif incident.arrived_at is None and incident.closed_at is None:
            context["arrive_form"] = StepForm(initial=initial)
        if incident.closed_at is None:
            context["close_form"] = CloseForm(initial={**initial, "result": incident.result})
        if incident.grid_id is None:
            context["place_form"] = PlaceForm(
                initial=initial, grids=_place_grids(request, incident)
            )
    return render(request, "incidents/incident.html", context)


def _place_grids(request: HttpRequest, incident: Incident) -> QuerySet[Any]:
    return (
        grids_visible_to(request.user)
        .filter(station_id=incident.station_id)
        .only("id", "code", "name", "level", "station_id")
        .order_by("code")
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -1000 < number < 1000 else None


def incident_form(request: HttpRequest, incident_id: int | None = None) -> HttpResponse:
    """Record an incident (``?station=``; ``?lon=&lat=`` from the map), or edit one."""
    require(request.user, Perm.INCIDENTS_RECORD)
    incident = access_incident(request.user, incident_id, write=True) if incident_id else None
    if incident is None:
        station, _stations = chosen_station(request, perm=Perm.INCIDENTS_RECORD)
        if station is None:
            raise Http404()
        initial: dict[str, Any] = {
            "received_at": timezone.localtime().replace(second=0, microsecond=0),
            "source": Incident.Source.CALL_110,
            "lon": _number(request.GET.get("lon")),
            "lat": _number(request.GET.get("lat")),
            "crs": choice_param(request.GET, "crs", [actions.WGS84, actions.GCJ02], actions.WGS84),
        }
    else:
        station = incident.station
        initial = {
            name: getattr(incident, name)
            for name in ("number", "source", "summary", "caller_name", "result", "lon", "lat")
        }
        for name in actions.TIMES:
            value = getattr(incident, name)
            initial[name] = timezone.localtime(value) if value else None
        initial |= {
            "category": incident.category_id,
            "officer": incident.officer_id,
            "crs": actions.WGS84,
            "version": incident.version,
        }
    form = IncidentForm(
        request.POST or None,
        initial=initial,
        bureau_id=station.bureau_id,
        officers=officers_of(request.user, station),
        editing=incident is not None,
        current=incident.category if incident else None,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if incident is None:
                data.pop("version", None)
                incident = actions.record_incident(request.user, station, **data)
                messages.success(
                    request, _("Incident %(number)s was recorded.") % {"number": incident.number}
                )
            else:
                version = data.pop("version")
                incident = actions.update_incident(request.user, incident, version=version, **data)
                messages.success(request, _("The changes were saved."))
        except actions.InvalidIncident as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except actions.StaleEdit as error:
            form.add_error(None, str(error))
        else:
            drafts.saved(request, f"incident-{incident_id or 'new'}")  # the form's data-keep-draft
            return redirect("incidents:detail", incident_id=incident.id)
    context = {"form": form, "incident": incident, "station": station}
    return render(request, "incidents/incident_form.html", context)


def _refused(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def _step(request: HttpRequest, incident_id: int, verb: str) -> HttpResponse:
    incident = access_incident(request.user, incident_id, write=True)
    form: StepForm
    if verb == "dispatch":
        form = DispatchForm(request.POST, officers=officers_of(request.user, incident.station))
    elif verb == "close":
        form = CloseForm(request.POST)
    else:
        form = StepForm(request.POST)
    if not form.is_valid():
        _refused(request, form)
        return redirect("incidents:detail", incident_id=incident.id)
    data = form.cleaned_data
    try:
        if verb == "dispatch":
            actions.dispatch(
                request.user,
                incident,
                version=data["version"],
                at=data["at"],
                officer=data["officer"],
            )
            messages.success(request, _("The dispatch was recorded."))
        elif verb == "arrive":
            actions.arrive(request.user, incident, version=data["version"], at=data["at"])
            messages.success(request, _("The arrival was recorded."))
        else:
            actions.close_incident(
                request.user,
                incident,
                version=data["version"],
                at=data["at"],
                result=data["result"],
            )
            messages.success(request, _("The incident was closed."))
    except actions.InvalidIncident as error:
        label = form.fields["at"].label if error.field in actions.TIMES else ""
        messages.error(request, f"{label}: {error.message}" if label else error.message)
    except actions.StaleEdit as error:
        messages.error(request, str(error))
    return redirect("incidents:detail", incident_id=incident.id)


@require_POST
def dispatch_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _step(request, incident_id, "dispatch")


@require_POST
def arrive_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _step(request, incident_id, "arrive")


@require_POST
def close_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _step(request, incident_id, "close")


@require_POST
def place_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Place an incident by hand in a current grid of its station."""
    incident = access_incident(request.user, incident_id, write=True)
    grid_id = int_param(request.POST, "grid", minimum=1, required=True)
    grid = access_station_grid(request.user, incident, grid_id)
    version = int_param(request.POST, "version", minimum=1, required=True) or 0
    try:
        actions.place_incident_by_hand(request.user, incident, grid, version=version)
    except actions.InvalidIncident as error:
        messages.error(request, error.message)
    except actions.StaleEdit as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The incident was placed in %(grid)s.") % {"grid": grid.code})
    return redirect("incidents:detail", incident_id=incident.id)


def import_view(request: HttpRequest) -> HttpResponse:
    from jingwang.core.imports import import_page

    return import_page(request, INCIDENTS)


# ---------------------------------------------------------------------------------------------
# The system admin's category pages


def category_bureaus(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.SYSTEM_CONFIGURE)
    bureaus = config_bureaus(request.user).order_by("code")
    return render(request, "incidents/category_bureaus.html", {"bureaus": bureaus})


def categories_view(request: HttpRequest, bureau_id: int) -> HttpResponse:
    """A bureau's category list, and adding a category (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id, write=posted)
    rows = list(categories.categories_of(bureau.pk, active=None))
    tops = categories.categories_of(bureau.pk, active=None).filter(parent__isnull=True)
    form = CategoryForm(request.POST or None, tops=tops)
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            made = categories.add_category(
                request.user,
                bureau.pk,
                code=data["code"],
                name=data["name"],
                name_en=data["name_en"],
                parent=data["parent"],
                officer_only=data["officer_only"],
            )
        except categories.CategoryError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("The category %(name)s was added.") % {"name": made.name})
            return redirect("incidents:categories", bureau_id=bureau.pk)
    tree = [
        (top, [c for c in rows if c.parent_id == top.id]) for top in rows if top.parent_id is None
    ]
    return render(
        request, "incidents/categories.html", {"bureau": bureau, "tree": tree, "form": form}
    )


def category_edit(request: HttpRequest, bureau_id: int, category_id: int) -> HttpResponse:
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id, write=posted)
    category = categories.access_category(request.user, bureau, category_id, write=posted)
    initial = {
        "name": category.name,
        "name_en": category.name_en,
        "officer_only": category.officer_only,
        "is_active": category.is_active,
        "version": category.version,
    }
    form = CategoryForm(request.POST or None, initial=initial, tops=None, editing=True)
    if posted and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            categories.update_category(request.user, category, version=version, **data)
        except categories.CategoryError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except categories.StaleCategory as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("incidents:categories", bureau_id=bureau.pk)
    context = {"bureau": bureau, "category": category, "form": form}
    return render(request, "incidents/category_form.html", context)


def map_link(station: Any) -> str:
    """The map of the station, where the incident layer is drawn over the grids."""
    return (
        f"{reverse('territory:map')}?station={station.code}"
        if station
        else reverse("territory:map")
    )
