"""The steps on a dispute's page, each a small POST form carrying the dispute's version: a
refused step shows the page again with the message next to its field, a stale one the conflict
message, a done one goes back to the page with a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm
from jingwang.disputes import actions, queries, rules
from jingwang.disputes.forms import (
    AgreementForm,
    CallForm,
    ExtendForm,
    FollowUpForm,
    LeadForm,
    ReferForm,
    SessionForm,
    TierForm,
    TrackForm,
    WithdrawForm,
)
from jingwang.disputes.models import Dispute
from jingwang.disputes.views import render_detail

Done = Callable[[dict[str, Any]], Any]


def _run(
    request: HttpRequest,
    dispute: Dispute,
    name: str,
    form: forms.Form,
    do: Done,
    done: str,
) -> HttpResponse:
    """Validate ``form``, call the action ``do(cleaned_data)``; answer as the module says."""
    if not form.is_valid():
        _tell(request, form)
        return render_detail(request, dispute, name, form, status=400)
    try:
        do(form.cleaned_data)
    except actions.StaleEdit as error:
        form.add_error(None, str(error))
        _tell(request, form)
        return render_detail(request, dispute, name, form, status=409)
    except actions.InvalidDispute as error:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
        _tell(request, form)
        return render_detail(request, dispute, name, form, status=400)
    messages.success(request, done)
    return redirect("disputes:detail", dispute_id=dispute.pk)


def _tell(request: HttpRequest, form: forms.Form) -> None:
    """The refusal on top of the page too (the form may be far below on a phone)."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def _dispute(request: HttpRequest, dispute_id: int, perm: str) -> Dispute:
    return queries.access_dispute(request.user, dispute_id, write=True, perm=perm)


@require_POST
def override_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_TRIAGE)
    form = TierForm(request.POST)
    return _run(
        request,
        dispute,
        "override",
        form,
        lambda d: actions.override_tier(
            request.user, dispute, version=d["version"], tier=d["tier"], reason=d["reason"]
        ),
        _("The tier was set."),
    )


@require_POST
def tier_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_TRIAGE)
    form = TierForm(request.POST)
    return _run(
        request,
        dispute,
        "tier",
        form,
        lambda d: actions.change_tier(
            request.user, dispute, version=d["version"], tier=d["tier"], reason=d["reason"]
        ),
        _("The dispute moved to another tier."),
    )


@require_POST
def call_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = CallForm(request.POST, members=queries.members_offered(dispute))
    return _run(
        request,
        dispute,
        "call",
        form,
        lambda d: actions.call_member(request.user, dispute, d["member"]),
        _("The member was called to the dispute."),
    )


@require_POST
def lead_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = LeadForm(request.POST, members=queries.members_offered(dispute))
    return _run(
        request,
        dispute,
        "lead",
        form,
        lambda d: actions.set_lead(request.user, dispute, version=d["version"], member=d["member"]),
        _("The lead mediator was set."),
    )


@require_POST
def track_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    exclusions = [(code, rules.exclusion_label(code)) for code in rules.POLICE_EXCLUSIONS]
    form = TrackForm(request.POST, exclusions=exclusions)
    return _run(
        request,
        dispute,
        "track",
        form,
        lambda d: actions.choose_track(
            request.user,
            dispute,
            version=d["version"],
            track=d["track"],
            exclusions=d["exclusions"],
            accepted_on=d["accepted_on"],
        ),
        _("The legal track was chosen."),
    )


@require_POST
def extend_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = ExtendForm(request.POST)
    return _run(
        request,
        dispute,
        "extend",
        form,
        lambda d: actions.extend_mediation(
            request.user, dispute, version=d["version"], reason=d["reason"]
        ),
        _("The mediation was extended."),
    )


@require_POST
def session_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = SessionForm(request.POST, members=queries.station_members(dispute))
    return _run(
        request,
        dispute,
        "session",
        form,
        lambda d: actions.record_session(
            request.user,
            dispute,
            version=d["version"],
            held_at=d["held_at"],
            result=d["result"],
            place=d["place"],
            participants=list(d["participants"]),
            others=d["others"],
            said=d["said"],
            offered=d["offered"],
        ),
        _("The session was recorded."),
    )


@require_POST
def agreement_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = AgreementForm(request.POST, names=[p.name for p in dispute.parties.all()])
    return _run(
        request,
        dispute,
        "agreement",
        form,
        lambda d: actions.record_agreement(
            request.user,
            dispute,
            version=d["version"],
            form=d["form"],
            facts=d["facts"],
            terms=d["terms"],
            performance=d["performance"],
            perform_by=d["perform_by"],
            signed_on=d["signed_on"],
            signatories=list(d["signatories"]),
            copies=d["copies"],
        ),
        _("The agreement was recorded."),
    )


@require_POST
def followup_view(request: HttpRequest, agreement_id: int) -> HttpResponse:
    agreement = queries.access_agreement(request.user, agreement_id, write=True)
    dispute = _dispute(request, agreement.dispute_id, Perm.DISPUTES_MEDIATE)
    form = FollowUpForm(request.POST)
    return _run(
        request,
        dispute,
        f"followup-{agreement.pk}",
        form,
        lambda d: actions.record_followup(
            request.user,
            agreement,
            version=d["version"],
            visited_at=d["visited_at"],
            method=d["method"],
            result=d["result"],
            notes=d["notes"],
        ),
        _("The follow-up visit was recorded."),
    )


@require_POST
def refer_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = ReferForm(request.POST)
    return _run(
        request,
        dispute,
        "refer",
        form,
        lambda d: actions.refer_dispute(
            request.user,
            dispute,
            version=d["version"],
            to=d["to"],
            told=d["told"],
            department=d["department"],
        ),
        _("The referral was recorded."),
    )


@require_POST
def withdraw_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(request, dispute_id, Perm.DISPUTES_MEDIATE)
    form = WithdrawForm(request.POST)
    return _run(
        request,
        dispute,
        "withdraw",
        form,
        lambda d: actions.withdraw_dispute(
            request.user, dispute, version=d["version"], reason=d["reason"]
        ),
        _("The dispute was closed as withdrawn."),
    )
