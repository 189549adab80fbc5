"""Pages of the dispute loop: the list and its export, registering (on a phone, from the desk,
from an incident) and editing a dispute, a dispute's page with its steps (their POSTs are in
``views_steps.py``), a party's timeline, repeat complainants and an agreement's PDF."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.accounts.roles import GRID_ROLES, Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.audit.queries import timeline
from jingwang.core import drafts
from jingwang.core.config import settings_for
from jingwang.core.params import choice_param, date_param, int_param, text_param
from jingwang.disputes import actions, queries, rules
from jingwang.disputes.forms import (
    AgreementForm,
    CallForm,
    DisputeForm,
    ExtendForm,
    FollowUpForm,
    LeadForm,
    PartyRows,
    ReferForm,
    SessionForm,
    TierForm,
    TrackForm,
    WithdrawForm,
)
from jingwang.disputes.models import Agreement, Dispute, DisputeSettings, Session, Tier
from jingwang.territory.models import Grid
from jingwang.territory.queries import grids_visible_to
from jingwang.territory.views import chosen_station, grid_options

PAGE_SIZE = 50
TIMELINE = 200  # events shown on a dispute's page


# ---------------------------------------------------------------------------------------------
# The list, its filters and its export


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered(request: HttpRequest) -> tuple[QuerySet[Dispute], dict[str, Any]]:
    """The disputes the reader may see, narrowed by the list's filters (also the export's)."""
    station, stations = chosen_station(request, perm=Perm.DISPUTES_VIEW)
    rows = queries.disputes_visible_to(request.user)
    chosen: dict[str, Any] = {"station": station, "stations": stations}
    if station is not None:
        rows = rows.filter(station=station)
    status = choice_param(request.GET, "status", Dispute.Status.values)
    if status:
        rows = rows.filter(status=status)
    tier = int_param(request.GET, "tier", minimum=1, maximum=3)
    if tier:
        rows = rows.filter(tier=tier)
    category = int_param(request.GET, "category", minimum=1)
    if category:
        rows = rows.filter(category_id=category)
    grid_id = int_param(request.GET, "grid", minimum=1)
    if grid_id:
        grid = grids_visible_to(request.user).filter(id=grid_id).first()
        rows = rows.filter(grid_id__in=Grid.with_descendants({grid.id})) if grid else rows.none()
        chosen["grid"] = grid
    start, end = date_param(request.GET, "from"), date_param(request.GET, "to")
    if start:
        rows = rows.filter(registered_at__gte=_midnight(start))
    if end:
        rows = rows.filter(registered_at__lt=_midnight(end + timedelta(days=1)))
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        rows = rows.filter(status=Dispute.Status.OPEN, deadline__lt=timezone.localdate())
    q = text_param(request.GET, "q", max_length=40)
    if q:
        named = queries.parties_visible_to(request.user).filter(name__icontains=q)
        rows = rows.filter(Q(number__icontains=q) | Q(pk__in=named.values("dispute_id")))
    chosen |= {
        "status": status,
        "tier": tier,
        "category_id": category,
        "grid_id": grid_id,
        "from": start,
        "to": end,
        "overdue": overdue,
        "q": q,
    }
    return rows, chosen


def _filters(chosen: dict[str, Any]) -> dict[str, Any]:
    """The filters as the audit event of an export records them."""
    shown = {k: v for k, v in chosen.items() if k not in ("stations", "grid") and v}
    if shown.get("station") is not None:
        shown["station"] = shown["station"].code
    return {k: str(v) if isinstance(v, date) else v for k, v in shown.items()}


def is_overdue(dispute: Dispute, today: date) -> bool:
    return (
        dispute.status == Dispute.Status.OPEN
        and dispute.deadline is not None
        and dispute.deadline < today
    )


def dispute_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.DISPUTES_VIEW)
    rows, chosen = filtered(request)
    rows = (
        rows.select_related("category", "grid", "station")
        .defer("grid__geometry_wkt", "grid__map_geojson")
        .prefetch_related("parties")
        .order_by("-registered_at", "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(int_param(request.GET, "page", minimum=1))
    today = timezone.localdate()
    for dispute in page:
        dispute.overdue = is_overdue(dispute, today)  # type: ignore[attr-defined]
    station = chosen["station"]
    context = {
        **chosen,
        "page": page,
        "today": today,
        "statuses": Dispute.Status.choices,
        "tiers": Tier.choices,
        "categories": queries.categories_for(station) if station else [],
        "grid_options": grid_options(request.user, station, chosen["grid_id"]),
        "can_record": has_perm(request.user, Perm.DISPUTES_RECORD),
        "query": request.GET.urlencode(),
    }
    return render(request, "disputes/list.html", context)


def export(request: HttpRequest) -> HttpResponseBase:
    """The filtered list as an XLSX file (one ``export`` audit event); personal data masked."""
    from jingwang.core.exports import Column, xlsx_response

    require(request.user, Perm.DISPUTES_VIEW)
    rows, chosen = filtered(request)
    rows = rows.select_related("category", "grid", "station").prefetch_related("parties")
    station = chosen["station"]
    today = timezone.localdate()

    def parties(d: Dispute) -> str:
        return "; ".join(
            f"{p.name} ({p.get_role_display()}){' ' + str(p.phone) if p.phone else ''}"
            for p in d.parties.all()
        )

    columns = [
        Column(_("Station"), lambda d: d.station.name),
        Column(_("Dispute number"), lambda d: d.number),
        Column(_("Registered"), lambda d: d.registered_at),
        Column(_("Source"), lambda d: d.get_source_display()),
        Column(_("Category"), lambda d: d.category.label),
        Column(_("Tier"), lambda d: d.tier),
        Column(_("Status"), lambda d: d.get_status_display()),
        Column(_("Overdue"), lambda d: _("yes") if is_overdue(d, today) else ""),
        Column(_("Grid"), lambda d: d.grid.code if d.grid else ""),
        Column(_("Legal track"), lambda d: d.get_track_display() if d.track else ""),
        Column(_("Deadline"), lambda d: d.deadline),
        Column(_("Amount at stake (yuan)"), lambda d: d.amount),
        Column(_("People involved"), lambda d: d.people_involved),
        Column(_("Parties"), parties),
        Column(_("Address"), lambda d: d.address.masked),
        Column(_("Facts"), lambda d: d.facts),
    ]
    return xlsx_response(
        request,
        filename="disputes",
        title=_("Disputes"),
        columns=columns,
        rows=rows.order_by("-registered_at", "-id"),
        object_type="disputes.dispute",
        station_id=station.pk if station else None,
        detail={"filters": _filters(chosen)},
    )


# ---------------------------------------------------------------------------------------------
# Registering and editing


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -1000 < number < 1000 else None


def _put_error(form: DisputeForm, rows: PartyRows, error: actions.InvalidDispute) -> None:
    """An action's refusal next to the field it names (``parties.<i>.<field>`` on its row)."""
    field, message = error.field or "", error.message
    if field.startswith("parties."):
        _prefix, _dot, rest = field.partition(".")
        index, _dot, name = rest.partition(".")
        if index.isdigit() and rows.add_error(int(index), name, message):
            return
        rows.error = message
        return
    form.add_error(field if field in form.fields else None, message)


def _inputs(
    rows: PartyRows, dispute: Dispute | None, incident: Any = None
) -> list[actions.PartyInput]:
    """The party rows for the action. Personal numbers are never sent to the form in full, so
    one left empty is kept: an edited party's own, the incident caller's phone."""
    kept = {p.pk: p for p in dispute.parties.all()} if dispute is not None else {}
    inputs = []
    for row in rows.cleaned():
        before = kept.get(row.get("party") or 0)
        values = {name: row.get(name) for name in ("id_number", "phone", "guardian_phone")}
        if before is not None:
            for name in values:
                if not values[name]:
                    values[name] = getattr(before, name).plaintext
        if incident is not None and row.get("caller") and not values["phone"]:
            values["phone"] = incident.caller_phone.plaintext if incident.caller_phone else ""
        inputs.append(
            actions.PartyInput(
                role=row["role"],
                kind=row["kind"],
                name=(row.get("name") or "").strip(),
                id_number=values["id_number"] or "",
                phone=values["phone"] or "",
                age=row.get("age"),
                guardian_name=(row.get("guardian_name") or "").strip(),
                guardian_phone=values["guardian_phone"] or "",
            )
        )
    return inputs


def _form_page(
    request: HttpRequest,
    *,
    station: Any,
    initial: dict[str, Any],
    parties: list[dict[str, Any]],
    draft: str,
    dispute: Dispute | None = None,
    incident: Any = None,
) -> HttpResponse:
    posted = request.method == "POST"
    editing = dispute is not None
    form = DisputeForm(
        request.POST if posted else None,
        initial=initial,
        categories=queries.categories_for(station),
        editing=editing,
    )
    caller_phone = incident.caller_phone.masked if incident is not None else ""
    rows = PartyRows(
        request.POST if posted else None, parties, editing=editing, caller_phone=caller_phone
    )
    if incident is not None and incident.address:
        form.fields["address"].help_text = _(
            "The incident's address (%(address)s) is kept when this is left empty."
        ) % {"address": incident.address.masked}
    if posted:
        valid = form.is_valid()
        valid = rows.is_valid() and valid
        if valid:
            data = dict(form.cleaned_data)
            try:
                if dispute is None:
                    data.pop("version", None)
                    if incident is not None and not data.get("address") and incident.address:
                        data["address"] = incident.address.plaintext
                    dispute = actions.register_dispute(
                        request.user,
                        station=station,
                        parties=_inputs(rows, None, incident),
                        incident=incident,
                        **data,
                    )
                    messages.success(
                        request,
                        _("Dispute %(number)s was registered.") % {"number": dispute.number},
                    )
                else:
                    version = data.pop("version")
                    if not data.get("address"):
                        data.pop("address", None)  # left empty: kept
                    dispute = actions.update_dispute(
                        request.user,
                        dispute,
                        version=version,
                        parties=_inputs(rows, dispute),
                        **data,
                    )
                    messages.success(request, _("The changes were saved."))
            except actions.StaleEdit as error:
                form.add_error(None, str(error))
            except actions.InvalidDispute as error:
                _put_error(form, rows, error)
            else:
                drafts.saved(request, draft)  # the form's data-keep-draft
                return redirect("disputes:detail", dispute_id=dispute.pk)
    context = {
        "form": form,
        "rows": rows,
        "empty_row": rows.empty_form(),
        "dispute": dispute,
        "incident": incident,
        "station": station,
        "draft": draft,
    }
    return render(request, "disputes/form.html", context, status=200)


def dispute_new(request: HttpRequest) -> HttpResponse:
    """Register a dispute (``?station=``; ``?lon=&lat=`` from the map): a phone-first form."""
    require(request.user, Perm.DISPUTES_RECORD)
    station, _stations = chosen_station(request, perm=Perm.DISPUTES_RECORD)
    if station is None:
        raise Http404()
    source = (
        Dispute.Source.GRID_WORKER
        if getattr(request.user, "role", None) in GRID_ROLES
        else Dispute.Source.WALK_IN
    )
    initial = {
        "source": source,
        "departments": 1,
        "lon": _number(request.GET.get("lon")),
        "lat": _number(request.GET.get("lat")),
        "coords": choice_param(request.GET, "coords", ["wgs84", "gcj02"], "wgs84"),
    }
    return _form_page(request, station=station, initial=initial, parties=[], draft="dispute-new")


def dispute_from_incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Register a dispute from an incident: its caller, place and facts carried over."""
    from jingwang.incidents.queries import access_incident

    require(request.user, Perm.DISPUTES_RECORD)
    incident = access_incident(request.user, incident_id)
    found = dict(actions.initial_from_incident(incident))
    parties = [dict(row) for row in found.pop("parties", []) or []]
    # Personal data is not put into the form in full: the caller's phone and the address are
    # kept from the incident when their fields are left empty.
    found.pop("address", None)
    for row in parties:
        if row.pop("phone", ""):
            row["caller"] = True
    category = found.get("category")
    if isinstance(category, str):  # a code: the form takes the category itself
        found["category"] = queries.categories_for(incident.station).filter(code=category).first()
    initial = {"departments": 1, "coords": "wgs84", **found, "source": Dispute.Source.INCIDENT}
    return _form_page(
        request,
        station=incident.station,
        initial=initial,
        parties=parties,
        draft=f"dispute-incident-{incident.pk}",
        incident=incident,
    )


def dispute_edit(request: HttpRequest, dispute_id: int) -> HttpResponse:
    require(request.user, Perm.DISPUTES_RECORD)
    dispute = queries.access_dispute(
        request.user, dispute_id, write=request.method == "POST", perm=Perm.DISPUTES_RECORD
    )
    initial: dict[str, Any] = {
        "category": dispute.category,
        "facts": dispute.facts,
        "amount": dispute.amount,
        "people_involved": dispute.people_involved,
        "departments": dispute.departments,
        "risks": [name for name in Dispute.RISKS if getattr(dispute, name)],
        "lon": dispute.lon,
        "lat": dispute.lat,
        "coords": "wgs84",
        "version": dispute.version,
    }
    parties = [
        {
            "party": p.pk,
            "role": p.role,
            "kind": p.kind,
            "name": p.name,
            "age": p.age,
            "guardian_name": p.guardian_name,
        }
        for p in dispute.parties.all()
    ]
    return _form_page(
        request,
        station=dispute.station,
        initial=initial,
        parties=parties,
        draft=f"dispute-{dispute.pk}",
        dispute=dispute,
    )


# ---------------------------------------------------------------------------------------------
# One dispute


def _described(reasons: Any) -> list[str]:
    """The triage reasons as sentences (a reason the rules do not know is shown as stored)."""
    shown = []
    for reason in reasons or []:
        try:
            shown.append(rules.describe(reason))
        except (KeyError, TypeError, ValueError):
            shown.append(str(reason))
    return shown


def step_forms(
    request: HttpRequest, dispute: Dispute, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The forms of the steps the reader may take on this dispute now. ``bound`` holds a step
    just posted and refused: it is shown with its errors instead of a blank one (even when the
    step is not offered, so that its message is seen)."""
    user = request.user
    version = {"version": dispute.version}
    shown: dict[str, Any] = {}
    is_open = dispute.status == Dispute.Status.OPEN
    # A grid worker mediates tier-1 disputes only.
    can_mediate = has_perm(user, Perm.DISPUTES_MEDIATE) and (
        dispute.tier == 1 or getattr(user, "role", None) not in GRID_ROLES
    )
    if has_perm(user, Perm.DISPUTES_TRIAGE) and not dispute.is_closed:
        shown["override"] = TierForm(initial={**version, "tier": dispute.tier})
        shown["tier"] = TierForm(initial=version)
    if can_mediate and is_open:
        offered = queries.members_offered(dispute)
        uncalled = offered.exclude(pk__in=dispute.calls.values("member_id"))
        if uncalled.exists():
            shown["call"] = CallForm(initial=version, members=uncalled)
        if offered.exists():
            shown["lead"] = LeadForm(
                initial={**version, "member": dispute.lead_id}, members=offered
            )
        if not dispute.sessions.exists():
            shown["track"] = TrackForm(
                initial={**version, "track": dispute.track or None},
                exclusions=[(c, rules.exclusion_label(c)) for c in rules.POLICE_EXCLUSIONS],
            )
        if dispute.track == Dispute.Track.PEOPLE and not dispute.extended:
            shown["extend"] = ExtendForm(initial=version)
        now = timezone.localtime().replace(second=0, microsecond=0)
        if dispute.track:
            called = [c.member_id for c in dispute.calls.all()]
            shown["session"] = SessionForm(
                initial={**version, "held_at": now, "participants": called},
                members=queries.station_members(dispute),
            )
        if dispute.sessions.filter(result=Session.Result.AGREED).exists():
            names = [p.name for p in dispute.parties.all()]
            shown["agreement"] = AgreementForm(
                initial={
                    **version,
                    "form": Agreement.Form.WRITTEN,
                    "facts": dispute.facts,
                    "signed_on": timezone.localdate(),
                    "signatories": names,
                    "copies": len(names) + 1,
                },
                names=names,
            )
        shown["refer"] = ReferForm(initial=version)
        shown["withdraw"] = WithdrawForm(initial=version)
    followups: dict[int, Any] = {}
    if can_mediate and dispute.status == Dispute.Status.AGREED:
        now = timezone.localtime().replace(second=0, microsecond=0)
        for agreement in dispute.agreements.all():
            if agreement.status == Agreement.Status.PENDING:
                followups[agreement.pk] = FollowUpForm(initial={**version, "visited_at": now})
    for name, form in (bound or {}).items():
        if name.startswith("followup-"):
            followups[int(name.removeprefix("followup-"))] = form
        else:
            shown[name] = form
    shown["followups"] = followups
    return shown


def detail_context(
    request: HttpRequest, dispute: Dispute, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    today = timezone.localdate()
    parties = list(dispute.parties.all())
    flags = queries.repeat_flags(dispute)
    for party in parties:
        party.complaints = flags.get(party.pk, 0)  # type: ignore[attr-defined]
    changes = list(dispute.tier_changes.select_related("actor"))
    for change in changes:
        change.described = _described(change.reasons)  # type: ignore[attr-defined]
    agreements = list(dispute.agreements.prefetch_related("followups"))
    steps = step_forms(request, dispute, bound)
    followups = steps.pop("followups", {})
    for agreement in agreements:
        agreement.step_name = f"followup-{agreement.pk}"  # type: ignore[attr-defined]
        agreement.followup_form = followups.get(agreement.pk)  # type: ignore[attr-defined]
    return {
        "dispute": dispute,
        "parties": parties,
        "reasons": _described(dispute.tier_reasons),
        "changes": changes,
        "calls": list(dispute.calls.select_related("member__person", "member__body")),
        "sessions": list(dispute.sessions.prefetch_related("participants__person")),
        "agreements": agreements,
        "referrals": list(dispute.referrals.all()),
        "events": list(timeline(dispute)[:TIMELINE]),
        "today": today,
        "overdue": is_overdue(dispute, today),
        "can_record": has_perm(request.user, Perm.DISPUTES_RECORD) and not dispute.is_closed,
        "steps": steps,
    }


def dispute_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = queries.access_dispute(request.user, dispute_id)
    return render(request, "disputes/detail.html", detail_context(request, dispute))


def render_detail(
    request: HttpRequest, dispute: Dispute, name: str, form: forms.Form, status: int = 200
) -> HttpResponse:
    """The dispute's page again, with the refused step's form and its errors."""
    context = detail_context(request, dispute, {name: form})
    context["refused"] = name
    return render(request, "disputes/detail.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# Parties, repeat complainants, the agreement's PDF


def party_view(request: HttpRequest, party_id: int) -> HttpResponse:
    """One party's story: every dispute and incident of the same person the reader may see."""
    require(request.user, Perm.DISPUTES_VIEW)
    party = queries.access_party(request.user, party_id)
    entries = queries.party_timeline(request.user, party)
    return render(request, "disputes/party.html", {"party": party, "entries": entries})


def repeat_view(request: HttpRequest) -> HttpResponse:
    """The parties with several complaints within the bureau's window, with their lists."""
    require(request.user, Perm.DISPUTES_VIEW)
    station, stations = chosen_station(request, perm=Perm.DISPUTES_VIEW)
    bureau_id = station.bureau_id if station is not None else None
    setting = settings_for(bureau_id, DisputeSettings) if bureau_id else DisputeSettings()
    months = int_param(request.GET, "months", minimum=1, maximum=36) or setting.repeat_months
    threshold = (
        int_param(request.GET, "threshold", minimum=2, maximum=50) or setting.repeat_complaints
    )
    found = queries.repeat_complainants(request.user, months=months, threshold=threshold)
    context = {
        "station": station,
        "stations": stations,
        "months": months,
        "threshold": threshold,
        "found": found,
    }
    return render(request, "disputes/repeat.html", context)


def agreement_pdf(request: HttpRequest, agreement_id: int) -> HttpResponseBase:
    """The agreement in the usual layout, as a Chinese PDF (an ``export`` audit event)."""
    from jingwang.core.pdf import pdf_response
    from jingwang.disputes.agreement_pdf import agreement_pdf as make_pdf

    require(request.user, Perm.DISPUTES_VIEW)
    agreement = queries.access_agreement(request.user, agreement_id)
    return pdf_response(
        request,
        filename=agreement.number,
        data=make_pdf(agreement),
        object_type="disputes.agreement",
        object_id=agreement.pk,
        station_id=agreement.dispute.station_id,
        detail={"dispute": agreement.dispute.number},
    )
