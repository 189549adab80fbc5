from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.core import drafts
from jingwang.core.exports import Column, xlsx_response
from jingwang.core.params import choice_param, text_param
from jingwang.core.personal import unmask as unmask_door
from jingwang.people import actions
from jingwang.people.forms import AccountLinkForm, AssignmentForm, CommitteePostForm, PersonForm
from jingwang.people.models import GridAssignment, Person
from jingwang.people.queries import (
    access_assignment,
    access_person,
    access_post,
    access_reassignment,
    accounts_to_link,
    assignments_visible_to,
    coverage_gaps,
    people_visible_to,
    posts_visible_to,
    reassignments_visible_to,
)
from jingwang.territory.maps import feature, grid_feature, map_data
from jingwang.territory.queries import communities_visible_to, grids_visible_to
from jingwang.territory.views import chosen_station


def people_list(request: HttpRequest) -> HttpResponseBase:
    require(request.user, Perm.PEOPLE_VIEW)
    station, stations = chosen_station(request)
    people = people_visible_to(request.user).select_related("station")
    if station is not None:
        people = people.filter(station=station)
    kind = choice_param(request.GET, "kind", Person.Kind.values)
    if kind:
        people = people.filter(kind=kind)
    q = text_param(request.GET, "q")
    if q:
        people = people.filter(Q(name__icontains=q) | Q(badge_number__icontains=q))
    if choice_param(request.GET, "format", ["xlsx"]):
        return _export_people(request, people.order_by("name", "id"), station, kind, q)
    page = Paginator(people.order_by("name", "id"), 50).get_page(request.GET.get("page"))
    context = {
        "station": station,
        "stations": stations,
        "page": page,
        "kind": kind,
        "kinds": Person.Kind.choices,
        "q": q,
        "can_manage": has_perm(request.user, Perm.PEOPLE_MANAGE),
        "export_query": _export_query(request),
    }
    return render(request, "people/list.html", context)


def _export_query(request: HttpRequest) -> str:
    """The list's filters with ``format=xlsx`` (the "Export XLSX" link)."""
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "xlsx"
    return query.urlencode()


def _export_people(
    request: HttpRequest, people: Any, station: Any, kind: str | None, q: str | None
) -> HttpResponseBase:
    """The filtered list as XLSX (jingwang.core.exports); personal data prints masked."""
    columns = [
        Column(_("Name"), lambda p: p.name),
        Column(_("Kind"), lambda p: p.get_kind_display()),
        Column(_("Badge number"), lambda p: p.badge_number),
        Column(_("ID number"), lambda p: p.id_number or ""),
        Column(_("Mobile phone"), lambda p: p.phone or ""),
        Column(_("Station"), lambda p: p.station.name),
        Column(_("Active"), lambda p: p.is_active),
        Column(_("Added"), lambda p: p.created_at),
    ]
    return xlsx_response(
        request,
        filename="people",
        title=_("People"),
        columns=columns,
        rows=people,
        object_type="people.person",
        station_id=station.id if station is not None else None,
        detail={
            "filters": {
                "station": station.code if station is not None else "",
                "kind": kind or "",
                "q": q or "",
            }
        },
    )


def person_view(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_person(request.user, person_id)
    can_manage = has_perm(request.user, Perm.PEOPLE_MANAGE)
    context: dict[str, Any] = {
        "person": person,
        # Only what the reader may see: assignments in their grids, posts in their communities.
        "assignments": assignments_visible_to(request.user)
        .filter(person=person, ended_at__isnull=True)
        .select_related("grid"),
        "posts": posts_visible_to(request.user)
        .filter(person=person, ended_at__isnull=True)
        .select_related("community"),
        "can_manage": can_manage,
        "can_unmask": has_perm(request.user, Perm.PII_UNMASK),
    }
    if can_manage:
        context["assignment_form"] = AssignmentForm(
            grids=grids_visible_to(request.user).filter(station=person.station), person=person
        )
        context["post_form"] = CommitteePostForm(
            communities=communities_visible_to(request.user).filter(station=person.station),
            person=person,
        )
        context["account_form"] = AccountLinkForm(
            initial={"user": person.user_id, "version": person.version},
            person=person,
            offered=accounts_to_link(person),
        )
    return render(request, "people/person.html", context)


@require_POST
def unmask(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_person(request.user, person_id)
    revealed = unmask_door(request.user, person)
    return render(request, "people/_unmasked.html", {"person": person, "revealed": revealed})


def person_form(request: HttpRequest, person_id: int | None = None) -> HttpResponse:
    require(request.user, Perm.PEOPLE_MANAGE)
    person = access_person(request.user, person_id, write=True) if person_id else None
    if person is None:
        station, _stations = chosen_station(request, perm=Perm.PEOPLE_MANAGE)
        if station is None:
            raise Http404()
    else:
        station = person.station
    initial = (
        {
            "name": person.name,
            "kind": person.kind,
            "badge_number": person.badge_number,
            "is_active": person.is_active,
            "version": person.version,
        }
        if person
        else {"is_active": True}
    )
    form = PersonForm(request.POST or None, initial=initial, editing=person is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if person is None:
                person = actions.create_person(
                    request.user,
                    station,
                    name=data["name"],
                    kind=data["kind"],
                    badge_number=data["badge_number"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    is_active=data["is_active"],
                )
                messages.success(request, _("%(name)s was added.") % {"name": person.name})
            else:
                actions.update_person(request.user, person, **data)
                messages.success(request, _("The changes were saved."))
        except actions.DuplicatePerson as error:
            form.add_error("id_number", str(error))
        except actions.StaleEdit:
            form.add_error(None, _stale_person())
        else:
            drafts.saved(request, f"person-{person_id or 'new'}")  # the form's data-keep-draft
            return redirect("people:person", person_id=person.id)
    return render(
        request, "people/person_form.html", {"form": form, "person": person, "station": station}
    )


def _stale_person() -> str:
    return _(
        "Someone else changed this person while you were editing. "
        "Reload the page to see their changes, then edit again."
    )


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:  # ErrorList yields str; its stubs also allow ValidationError
            messages.error(request, f"{label}: {error}" if label else str(error))


@require_POST
def link_account(request: HttpRequest, person_id: int) -> HttpResponse:
    """Link the person to their login account, or unlink it (an empty choice)."""
    person = access_person(request.user, person_id, write=True)
    form = AccountLinkForm(request.POST, person=person, offered=accounts_to_link(person))
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("people:person", person_id=person.id)
    label = form.fields["user"].label
    account = form.cleaned_data["user"]
    try:
        actions.link_account(
            request.user, person, version=form.cleaned_data["version"], user=account
        )
    except actions.StaleEdit:
        messages.error(request, f"{label}: {_stale_person()}")
    except actions.AccountRefused as error:
        messages.error(request, f"{label}: {error}")
    else:
        if account is None:
            messages.success(request, _("%(name)s has no account now.") % {"name": person.name})
        else:
            messages.success(
                request,
                _("%(name)s is linked to the account %(account)s.")
                % {"name": person.name, "account": account.username},
            )
    return redirect("people:person", person_id=person.id)


@require_POST
def add_assignment(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_person(request.user, person_id, write=True)
    form = AssignmentForm(
        request.POST,
        grids=grids_visible_to(request.user).filter(station=person.station),
        person=person,
    )
    if form.is_valid():
        actions.assign(request.user, person, form.cleaned_data["grid"], form.cleaned_data["role"])
        messages.success(request, _("The assignment was added."))
    else:
        _form_errors(request, form)
    return redirect("people:person", person_id=person.id)


@require_POST
def end_assignment(request: HttpRequest, person_id: int, assignment_id: int) -> HttpResponse:
    person = access_person(request.user, person_id, write=True)
    assignment = access_assignment(request.user, person, assignment_id, write=True)
    actions.end_assignment(request.user, assignment)
    messages.success(request, _("The assignment was ended."))
    return redirect("people:person", person_id=person.id)


@require_POST
def add_post(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_person(request.user, person_id, write=True)
    form = CommitteePostForm(
        request.POST,
        communities=communities_visible_to(request.user).filter(station=person.station),
        person=person,
    )
    if form.is_valid():
        data = form.cleaned_data
        actions.add_committee_post(
            request.user, person, data["community"], data["title"], data["since"]
        )
        messages.success(request, _("The committee post was recorded."))
    else:
        _form_errors(request, form)
    return redirect("people:person", person_id=person.id)


@require_POST
def end_post(request: HttpRequest, person_id: int, post_id: int) -> HttpResponse:
    person = access_person(request.user, person_id, write=True)
    post = access_post(request.user, person, post_id, write=True)
    actions.end_committee_post(request.user, post)
    messages.success(request, _("The committee post was ended."))
    return redirect("people:person", person_id=person.id)


def coverage_view(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    gaps = coverage_gaps(request.user, station) if station else []
    features = []
    for gap in gaps:
        shown = grid_feature(gap.grid)
        shown["properties"]["missing"] = [str(GridAssignment.Role(r).label) for r in gap.missing]
        features.append(shown)
    blocks = (
        grids_visible_to(request.user).filter(station=station, level="block") if station else None
    )
    pending = (
        reassignments_visible_to(request.user)
        .filter(version__station=station, version__is_current=True, resolved_at__isnull=True)
        .select_related("person", "old_grid", "suggested_grid")
        if station
        else []
    )
    context = {
        "station": station,
        "stations": stations,
        "pending": pending,
        "can_manage": has_perm(request.user, Perm.PEOPLE_MANAGE),
        "gaps": [(gap, [GridAssignment.Role(r).label for r in gap.missing]) for gap in gaps],
        "blocks": blocks.count() if blocks is not None else 0,
        "map_data": map_data(
            grids=features,
            context=[
                feature(g) for g in (blocks.only("id", "map_geojson") if blocks is not None else [])
            ],
        ),
    }
    return render(request, "people/coverage.html", context)


@require_POST
def resolve_reassignment(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_reassignment(request.user, item_id)
    grid = item.suggested_grid if request.POST.get("assign") == "suggested" else None
    actions.resolve_reassignment(request.user, item, assign_to=grid)
    if grid is not None:
        messages.success(
            request,
            _("%(name)s is now assigned to %(grid)s.")
            % {"name": item.person.name, "grid": grid.code},
        )
    return redirect(f"{reverse('people:coverage')}?station={item.person.station.code}")
