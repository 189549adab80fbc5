"""The rosters of a station's three mediation bodies (三级联调).

Tier 1, the police–civilian mediation workstation (警民联调工作站): full-time mediators, grid
workers and community officers. Tier 2, the police–civilian harmony team (警民和谐工作队): the
community, people's congress deputies, CPPCC members and police conduct supervisors. Tier 3, the
dispute mediation room (矛盾纠纷调解室): the judicial office, law enforcement and other
departments. Anyone who reads disputes sees the rosters of their station; adding a member and
ending a membership take ``disputes.manage`` (the station chief, the bureau admin).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm, Role, has_perm
from jingwang.accounts.scope import deny, require
from jingwang.disputes import actions
from jingwang.disputes.models import Body, Dispute, Member, Tier
from jingwang.disputes.queries import (
    access_body,
    bodies_visible_to,
    disputes_visible_to,
    people_for_roster,
)
from jingwang.people.models import Person
from jingwang.territory.views import chosen_station

# Roles in a body that stand for a department: the member's department must be named.
DEPARTMENT_ROLES = frozenset({"judicial_office", "law_enforcement", "department"})
# Kinds of person who come from outside the police and the community's grid work: without an
# account they see nothing in the system (see the note on the body's page).
OUTSIDE_KINDS = frozenset(
    {"deputy", "cppcc_member", "conduct_supervisor", "judicial_office", "law_enforcement"}
)
CLOSED = (Dispute.Status.PERFORMED, Dispute.Status.REFERRED, Dispute.Status.WITHDRAWN)

# What each tier is for (the source article's three tiers).
TIER_WORK = {
    1: gettext_lazy("General disputes: full-time mediators and grid workers mediate."),
    2: gettext_lazy(
        "Larger disputes: the community, people's congress deputies, CPPCC members and police "
        "conduct supervisors join."
    ),
    3: gettext_lazy(
        "Major disputes: the judicial office, law enforcement and other departments join."
    ),
}


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class RoleField(forms.ChoiceField):
    """A role of the body's tier; a role of another tier is refused by its name."""

    def validate(self, value: Any) -> None:
        if value and not self.valid_value(value):
            known = value in Member.Role.values
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": Member.Role(value).label if known else value},
            )
        super().validate(value)


class MemberForm(forms.Form):
    """A person of the station, in a role the body's tier offers."""

    person = PersonChoiceField(
        label=gettext_lazy("Person"),
        queryset=None,
        error_messages={
            "invalid_choice": gettext_lazy(
                "Choose a person of this station from the list (outside members are added to "
                "the people register first)."
            )
        },
    )
    role = RoleField(
        label=gettext_lazy("Role in the body"),
        error_messages={
            "invalid_choice": gettext_lazy(
                "This body takes no members in the role “%(value)s”: choose one of the roles "
                "offered."
            )
        },
    )
    department = forms.CharField(
        label=gettext_lazy("Department"),
        max_length=80,
        required=False,
        help_text=gettext_lazy(
            "Which office or department the member comes from; required for the judicial "
            "office, law enforcement and other departments."
        ),
    )

    def __init__(self, *args: Any, body: Body, people: QuerySet[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]
        offered = Member.TIER_ROLES.get(body.tier, ())
        self.fields["role"].choices = [("", "---------")] + [  # type: ignore[attr-defined]
            (role, Member.Role(role).label) for role in offered
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["department"] = (data.get("department") or "").strip()
        if data.get("role") in DEPARTMENT_ROLES and not data["department"]:
            self.add_error(
                "department", _("Name the department this member comes from, for this role.")
            )
        return data


# ---------------------------------------------------------------------------------------------
# The three bodies of a station


def bodies_view(request: HttpRequest) -> HttpResponse:
    """The station's three bodies, their active members and their open disputes; a bureau admin
    picks the station (``?station=``). An outside member (no station of their own) sees the
    bodies they sit on."""
    require(request.user, Perm.DISPUTES_VIEW)
    station, stations = chosen_station(request, perm=Perm.DISPUTES_VIEW)
    if station is not None:
        actions.ensure_bodies(station)
        shown = bodies_visible_to(request.user).filter(station=station)
    else:  # an outside member: the bodies they sit on (none yet: an empty page)
        shown = bodies_visible_to(request.user)
    disputes = disputes_visible_to(request.user).exclude(status__in=CLOSED)
    open_by_body = {
        (row["station_id"], row["tier"]): row["n"]
        for row in disputes.filter(station_id__in=shown.values("station_id"))
        .values("station_id", "tier")
        .annotate(n=Count("id"))
    }
    rows = []
    for body in shown.select_related("station").order_by("station__code", "tier"):
        members = list(body.members.filter(is_active=True).select_related("person"))
        rows.append(
            {
                "body": body,
                "label": Tier(body.tier).label,
                "work": TIER_WORK.get(body.tier, ""),
                "members": members,
                "open": open_by_body.get((body.station_id, body.tier), 0),
            }
        )
    context = {"station": station, "stations": stations, "rows": rows}
    return render(request, "disputes/bodies.html", context)


# ---------------------------------------------------------------------------------------------
# One body: its roster, adding a member, ending a membership


def _render_body(request: HttpRequest, body: Body, form: MemberForm | None = None) -> HttpResponse:
    user = request.user
    members = list(body.members.select_related("person").order_by("-is_active", "role", "since"))
    can_manage = has_perm(user, Perm.DISPUTES_MANAGE)
    if can_manage and form is None:
        form = MemberForm(body=body, people=people_for_roster(user, body))
    open_count = (
        disputes_visible_to(user)
        .filter(station_id=body.station_id, tier=body.tier)
        .exclude(status__in=CLOSED)
        .count()
    )
    context = {
        "body": body,
        "label": Tier(body.tier).label,
        "work": TIER_WORK.get(body.tier, ""),
        "roles": [Member.Role(role).label for role in Member.TIER_ROLES.get(body.tier, ())],
        "active": [m for m in members if m.is_active],
        "former": [m for m in members if not m.is_active],
        "outside_kinds": OUTSIDE_KINDS,
        "open_count": open_count,
        "can_manage": can_manage,
        "form": form if can_manage else None,
        "member_role_label": Role.MEDIATION_MEMBER.label,
    }
    return render(request, "disputes/body.html", context)


def body_view(request: HttpRequest, body_id: int) -> HttpResponse:
    require(request.user, Perm.DISPUTES_VIEW)
    return _render_body(request, access_body(request.user, body_id))


@require_POST
def body_add(request: HttpRequest, body_id: int) -> HttpResponse:
    """Add a member (a person of the station, in a role the tier offers)."""
    body = access_body(request.user, body_id, write=True)
    form = MemberForm(request.POST, body=body, people=people_for_roster(request.user, body))
    if form.is_valid():
        data = form.cleaned_data
        try:
            member = actions.add_member(
                request.user, body, data["person"], role=data["role"], department=data["department"]
            )
        except actions.InvalidDispute as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("%(name)s was added to %(body)s.")
                % {"name": member.person.name, "body": Tier(body.tier).label},
            )
            return redirect("disputes:body", body_id=body.pk)
    return _render_body(request, body, form)


@require_POST
def member_end(request: HttpRequest, body_id: int, member_id: int) -> HttpResponse:
    """End a membership (the member stays in the history of the sessions they took part in)."""
    body = access_body(request.user, body_id, write=True)
    member = body.members.filter(pk=member_id).select_related("person").first()
    if member is None:
        deny(request.user, "disputes.member", member_id, mode="write")
    assert member is not None
    if not member.is_active:  # ended meanwhile (a second click, another manager)
        messages.info(request, _("This membership had already ended."))
        return redirect("disputes:body", body_id=body.pk)
    try:
        actions.end_membership(request.user, member)
    except actions.InvalidDispute as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is no longer a member of %(body)s.")
            % {"name": member.person.name, "body": Tier(body.tier).label},
        )
    return redirect("disputes:body", body_id=body.pk)
