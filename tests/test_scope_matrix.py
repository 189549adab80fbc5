"""Every role against every page and API operation: allowed, or the same 404 as a missing page.

The table is built from what the URL resolver and the API schema know: a new URL or API
operation fails ``test_every_url_is_classified`` until it has a row here. Each row says who may
read it and, for a write, who may make it and with what valid body. Then:

- a read outside the reader's scope answers 404 (missing and forbidden look alike);
- a write by someone who may not (another station's chief, a grid worker, a 三员 role, ...)
  answers 404, changes nothing in the database, and leaves an audit event with outcome
  ``denied``; the same write by someone who may goes through (so the body is a real one and
  "nothing changed" means something).

Rows a route needs (a dispute, an agreement, a proposal) are made by the ``_dispute``-style
builders below, once per test and through the actions. A builder that does real work wraps it
in ``prepared("name", build)`` (tests/cast.py): built by the first test that needs it, then
copied row by row into each later test that asks from the same database state (else built
again), so a new row can reuse the builders at no cost. ``snapshot()`` reads every table with
queries compiled once (``_snapshot_queries``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from jingwang.audit.models import AuditEvent
from tests.cast import PASSWORD, ROLES, World, make_units, prepared

EVERYONE = set(ROLES)
FIELD_ROLES = {
    "bureau_admin",
    "chief",
    "officer",
    "auxiliary",
    "grid_worker",
    "mediator",
    "volunteer",
    "other_officer",
    "other_chief",
}
PEOPLE_ROLES = FIELD_ROLES - {"volunteer"}
MANAGERS = {"bureau_admin", "chief", "other_chief"}
# Station-wide readers of TC, and TC's managers.
TC = {"bureau_admin", "chief", "officer", "auxiliary", "mediator"}
TC_MANAGERS = {"bureau_admin", "chief"}
XX = {"bureau_admin", "other_officer", "other_chief"}
SYSTEM = {"system_admin"}
# Incidents: who reads them (their own station's), and who records them at TC.
INCIDENT_READERS = {
    "bureau_admin",
    "chief",
    "officer",
    "auxiliary",
    "grid_worker",
    "other_officer",
    "other_chief",
}
TC_RECORDERS = {"bureau_admin", "chief", "officer", "auxiliary"}


@dataclass
class Write:
    """A state change: who may make it, a valid body, and what shows it happened."""

    allowed: set[str]
    data: Callable[[World], dict[str, Any]] = lambda world: {}
    json: bool = False
    method: str = "post"
    # For writes whose only trace is an audit event (unmasking): the action it records.
    audit_action: str | None = None


@dataclass
class Route:
    url: Callable[[World], str]
    get: set[str] | None = None  # roles that GET 200 (None: not a GET page)
    write: Write | None = None
    # A page outside the login, or a special answer (a redirect, 405): its own tests cover it.
    special: str = ""
    status: dict[str, int] = field(default_factory=dict)


def _person(world: World, key: str = "officer") -> int:
    return world.people[key].id


def _assignment(world: World) -> int:
    person = world.people["officer"]
    return person.assignments.get(ended_at__isnull=True).id


def _post(world: World) -> int:
    from jingwang.people.models import CommitteePost

    person = world.people["officer"]
    return CommitteePost.objects.create(person=person, community=world.community, title="副书记").id


def _reassignment(world: World) -> int:
    from jingwang.people.models import Reassignment

    return Reassignment.objects.create(
        person=world.people["officer"],
        role="community_officer",
        old_grid=world.block_b,
        suggested_grid=world.block_a,
        overlap=0.5,
        version=world.version,
    ).id


def _sms_message(world: World) -> int:
    """A text of station TC, queued (sms.actions.send)."""
    from jingwang.sms.actions import send

    return send(
        station=world.station, phone="13812345678", text="您好", purpose="test", ref="matrix"
    ).pk


def _proposal(world: World) -> int:
    """A real proposal over TC's base units (made once per test)."""
    from jingwang.territory.actions import propose_division

    if not hasattr(world, "proposal"):

        def build() -> Any:
            make_units(world)
            return propose_division(world.users["chief"], world.station)

        world.proposal = prepared("proposal", build)  # type: ignore[attr-defined]
        world.community.refresh_from_db()  # make_units reshapes it
    return int(world.proposal.id)  # type: ignore[attr-defined]


def _move(world: World) -> dict[str, Any]:
    """Move the first unit of the first block into the second block."""
    plan = world.proposal.plan  # type: ignore[attr-defined]
    first, second = plan["blocks"][0], plan["blocks"][1]
    return {"unit": first["units"][0], "block": second["id"], "revision": "1"}


def _account_request(world: World) -> int:
    """A pending request of the security admin: reset the officer's password."""
    from jingwang.accounts.actions import reset_password

    done = reset_password(world.users["security_admin"], world.users["officer"])
    assert done.request is not None
    return done.request.pk


def _community_file(world: World) -> dict[str, Any]:
    feature = {
        "type": "Feature",
        "properties": {"code": "C77", "name": "新村", "kind": "village"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[105.1, 31.1], [105.11, 31.1], [105.11, 31.11], [105.1, 31.1]]],
        },
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    return {
        "station": "TC",
        "kind": "community",
        "crs": "auto",
        "file": SimpleUploadedFile("c.geojson", body, "application/geo+json"),
    }


def _incident(world: World, key: str = "a", **fields: Any) -> int:
    """An incident of station TC (in grid A unless said otherwise), made once per key."""
    from datetime import timedelta

    from django.utils import timezone

    from jingwang.incidents.actions import record_incident
    from jingwang.incidents.categories import categories_of

    made = world.__dict__.setdefault("incidents", {})
    if key not in made:
        values: dict[str, Any] = {
            "number": f"J-{key}",
            "received_at": timezone.now() - timedelta(hours=3),
            "source": "call_110",
            "category": categories_of(world.bureau.id).get(code="public_order.noise"),
            "caller_phone": "13912345678",
            "lon": 105.002,
            "lat": 31.005,
        }
        made[key] = prepared(  # the same fields for the same key
            f"incident {key}",
            lambda: record_incident(world.users["officer"], world.station, **(values | fields)),
        )
    return int(made[key].id)


def _dispatched(world: World) -> int:
    """An incident of grid A already dispatched (so its arrival can be recorded)."""
    from datetime import timedelta

    from django.utils import timezone

    return _incident(world, "d", dispatched_at=timezone.now() - timedelta(hours=2))


def _categories(world: World) -> int:
    """The bureau's category list (seeded); the id of one of them."""
    from jingwang.incidents.categories import categories_of

    return int(categories_of(world.bureau.id).get(code="public_order.noise").id)


def _incident_form(world: World) -> dict[str, Any]:
    """The incident form as the page sends it."""
    return {
        "number": "J-NEW",
        "received_at": "2026-01-05T08:00",
        "source": "call_110",
        "category": str(_categories(world)),
        "crs": "wgs84",
        "lon": "105.002",
        "lat": "31.005",
    }


def _incident_file(world: World) -> dict[str, Any]:
    body = "警情编号,接警时间,警情类别\nJ-FILE,2026-01-05 08:00,治安案件\n".encode()
    return {
        "station": "TC",
        "crs": "auto",
        "file": SimpleUploadedFile("110.csv", body, "text/csv"),
    }


def _callback(world: World) -> int:
    """A callback of grid A, due today (made once per test)."""
    from jingwang.incidents.tests.callback_helpers import due_callback

    if not hasattr(world, "callback"):
        world.callback = prepared("callback", lambda: due_callback(world))  # type: ignore[attr-defined]
    return int(world.callback.pk)  # type: ignore[attr-defined]


def _rectification(world: World) -> int:
    """An open rectification of grid A, its findings and actions written (so it can close)."""
    from jingwang.incidents.models import Rectification
    from jingwang.incidents.tests.callback_helpers import open_rectification

    if not hasattr(world, "rectification"):

        def build() -> Rectification:
            made = open_rectification(world)
            Rectification.objects.filter(pk=made.pk).update(findings="查明", actions_taken="整改")
            return made

        world.rectification = prepared("rectification", build)  # type: ignore[attr-defined]
    return int(world.rectification.pk)  # type: ignore[attr-defined]


CALLBACK_ANSWERS = {"speed": "satisfied", "attitude": "basically", "handling": "satisfied"}
# Who works a callback of grid A at TC (the cast's officer and auxiliary cover the sector).
TC_CALLBACKS = {"bureau_admin", "chief", "officer", "auxiliary"}


# Disputes: who reads those of TC (and of XX), who records, who mediates a tier-1 dispute of
# grid A, who triages; the outside member (deputy) reaches only the disputes called to.
DISPUTE_RECORDERS = INCIDENT_READERS | {"mediator"}
DISPUTE_READERS = DISPUTE_RECORDERS | {"deputy"}
TC_MEDIATORS = {"bureau_admin", "chief", "officer", "mediator"}


def _dispute(world: World) -> int:
    """A tier-1 dispute of grid A, registered by the officer (made once per test)."""
    from jingwang.disputes.tests.helpers import make_dispute

    if not hasattr(world, "dispute"):
        world.dispute = prepared("dispute", lambda: make_dispute(world))  # type: ignore[attr-defined]
    return int(world.dispute.pk)  # type: ignore[attr-defined]


def _called(world: World) -> int:
    """A tier-2 dispute of grid B (not the grid worker's) to which the deputy is called."""
    from jingwang.disputes import actions
    from jingwang.disputes.tests.helpers import IN_BLOCK_B, make_dispute, mediation_member

    if not hasattr(world, "called"):

        def build() -> Any:
            dispute = make_dispute(world, people_involved=6, lon=IN_BLOCK_B[0], lat=IN_BLOCK_B[1])
            actions.call_member(world.users["chief"], dispute, mediation_member(world).member)
            dispute.refresh_from_db()
            chief = world.users["chief"]
            actions.choose_track(chief, dispute, version=dispute.version, track="people")
            return dispute

        world.called = prepared("called", build)  # type: ignore[attr-defined]
    return int(world.called.pk)  # type: ignore[attr-defined]


def _an_hour_ago() -> str:
    """A moment as the page's datetime-local field sends it."""
    from datetime import timedelta

    from django.utils import timezone

    return f"{timezone.localtime() - timedelta(hours=1):%Y-%m-%dT%H:%M}"


def _version(world: World, dispute_id: int) -> str:
    from jingwang.disputes.models import Dispute

    return str(Dispute.objects.get(pk=dispute_id).version)


def _on_track(world: World) -> int:
    """The tier-1 dispute of grid A, on the people's mediation track."""
    from jingwang.disputes import actions
    from jingwang.disputes.models import Dispute

    dispute = Dispute.objects.get(pk=_dispute(world))
    if not dispute.track:
        prepared(
            "on track",
            lambda: actions.choose_track(
                world.users["officer"], dispute, version=dispute.version, track="people"
            ),
        )
    return dispute.pk


def _agreed(world: World) -> int:
    """The tier-1 dispute of grid A with an agreeing session and a written agreement: the
    agreement's id."""
    from datetime import timedelta

    from django.utils import timezone

    from jingwang.disputes import actions
    from jingwang.disputes.models import Dispute

    if not hasattr(world, "agreement"):
        dispute = Dispute.objects.get(pk=_on_track(world))

        def build() -> Any:
            officer = world.users["officer"]
            actions.record_session(
                officer,
                dispute,
                version=dispute.version,
                held_at=timezone.now() - timedelta(hours=2),
                result="agreed",
            )
            dispute.refresh_from_db()
            today = timezone.localdate()
            return actions.record_agreement(
                officer,
                dispute,
                version=dispute.version,
                form="written",
                facts="漏水",
                terms="修好水管",
                performance="自行维修",
                perform_by=today + timedelta(days=7),
                signed_on=today,
                signatories=["刘大爷", "楼下住户"],
            )

        world.agreement = prepared("agreement", build)  # type: ignore[attr-defined]
    return int(world.agreement.pk)  # type: ignore[attr-defined]


def _party(world: World) -> int:
    from jingwang.disputes.models import Party

    return int(Party.objects.filter(dispute_id=_dispute(world)).order_by("pk")[0].pk)


def _dispute_category(world: World) -> int:
    from jingwang.core import choicelists
    from jingwang.disputes.models import Category

    choicelists.ensure(Category, world.bureau.id)
    found = choicelists.find(Category, world.bureau.id, "neighbours")
    assert found is not None
    return found.pk


def _dispute_form(world: World) -> dict[str, Any]:
    """The register form as the page sends it: two parties, in grid A."""
    return {
        "category": str(_dispute_category(world)),
        "source": "walk_in",
        "facts": "楼上漏水",
        "departments": "1",
        "coords": "wgs84",
        "lon": "105.002",
        "lat": "31.005",
        "parties-count": "2",
        "parties-0-role": "applicant",
        "parties-0-kind": "person",
        "parties-0-name": "刘大爷",
        "parties-1-role": "respondent",
        "parties-1-kind": "person",
        "parties-1-name": "楼下住户",
    }


def _body(world: World) -> int:
    from jingwang.disputes.actions import ensure_bodies

    return ensure_bodies(world.station)[0].id


def _member(world: World) -> tuple[int, int]:
    """The mediator on TC's tier-1 body (made once per test): (body id, member id)."""
    from jingwang.disputes.actions import add_member, ensure_bodies

    if not hasattr(world, "member"):

        def build() -> Any:
            body = ensure_bodies(world.station)[0]
            return add_member(world.users["chief"], body, world.people["mediator"], role="mediator")

        world.member = prepared("member", build)  # type: ignore[attr-defined]
    return world.member.body_id, world.member.pk  # type: ignore[attr-defined]


def _unit(world: World) -> int:
    """A base unit of TC (the cast's 12 × 6 units, made once per test)."""
    if not hasattr(world, "units"):
        world.units = prepared("units", lambda: make_units(world))  # type: ignore[attr-defined]
        world.community.refresh_from_db()  # make_units reshapes it
    return int(world.units[0].id)  # type: ignore[attr-defined]


def _complexity_records(world: World) -> int:
    """TC's base units and an incident inside unit U0000, so that recomputing moves a score."""
    _unit(world)
    return _incident(world, "in-unit", lon=105.001, lat=31.001)


def _with(url: str, *_made: Any) -> str:
    """``url``, once the rows its write needs are made (before the test's snapshot)."""
    return url


# A bureau's grid division defaults as the settings page sends them.
DIVISION_DEFAULTS = {
    "urban_households_min": "300",
    "urban_households_target": "400",
    "urban_households_max": "500",
    "urban_population_max": "2500",
    "rural_households_min": "200",
    "rural_households_target": "300",
    "rural_households_max": "400",
    "complexity_alpha": "0.5",
    "sector_blocks": "6",
    "district_sectors": "4",
}

PERSON_FORM = {
    "name": "新民警",
    "kind": "officer",
    "badge_number": "",
    "id_number": "",
    "phone": "",
    "is_active": "on",
}

# URL name → what it is and who may use it.
PAGES: dict[str, Route] = {
    "home": Route(lambda w: "/", get=EVERYONE),
    "healthz": Route(lambda w: "/healthz", special="public: answers anyone"),
    "accounts:login": Route(lambda w: "/accounts/login/", special="public"),
    "accounts:logout": Route(lambda w: "/accounts/logout/", special="its own tests"),
    "accounts:language": Route(lambda w: "/accounts/language/", special="its own tests"),
    "accounts:tokens": Route(lambda w: "/accounts/tokens/", get=EVERYONE),
    "accounts:users": Route(lambda w: "/accounts/users/", get={"security_admin"}),
    "accounts:login_code": Route(lambda w: "/accounts/login/code/", special="its own tests"),
    "accounts:login_enrol": Route(lambda w: "/accounts/login/enrol/", special="its own tests"),
    "accounts:me": Route(lambda w: "/accounts/me/", get=EVERYONE),
    "accounts:password": Route(
        lambda w: "/accounts/password/",
        get=EVERYONE,
        write=Write(
            EVERYONE,
            lambda w: {"current": PASSWORD, "new": "Brand-New-2027x", "again": "Brand-New-2027x"},
        ),
    ),
    # Needs a current code from the user's own authenticator: accounts/tests/test_second_factor.
    "accounts:recovery_codes": Route(
        lambda w: "/accounts/me/recovery-codes/", special="its own tests"
    ),
    "accounts:account": Route(
        lambda w: f"/accounts/users/{w.users['officer'].id}/",
        get={"security_admin"},
        write=Write({"security_admin"}, lambda w: {"verb": "disable"}),
    ),
    "accounts:requests": Route(
        lambda w: "/accounts/requests/", get={"security_admin", "bureau_admin"}
    ),
    "accounts:decide_request": Route(
        lambda w: f"/accounts/requests/{_account_request(w)}/",
        write=Write({"bureau_admin"}, lambda w: {"verb": "refuse", "reason": "不需要"}),
    ),
    "audit:list": Route(lambda w: "/audit/", get={"auditor"}),
    "territory:map": Route(
        lambda w: "/territory/?station=TC", get=TC | {"grid_worker", "volunteer"}
    ),
    # The map's shapes and point layers by visible area (territory/maps.py); "incidents" is the
    # incidents' layer: readers of the territory who may also see incidents.
    "territory:map_shapes": Route(
        lambda w: "/territory/map/shapes/?station=TC&level=block",
        get=TC | {"grid_worker", "volunteer"},
    ),
    "territory:map_points": Route(
        lambda w: "/territory/map/points/incidents/?station=TC",
        get={"bureau_admin", "chief", "officer", "auxiliary", "grid_worker"},
    ),
    "territory:grids": Route(lambda w: "/territory/grids/", get=FIELD_ROLES),
    "territory:grid": Route(
        lambda w: f"/territory/grids/{w.block_a.id}/", get=TC | {"grid_worker", "volunteer"}
    ),
    "territory:import": Route(
        lambda w: "/territory/import/?station=TC",
        get=TC_MANAGERS,
        write=Write(TC_MANAGERS, _community_file),
    ),
    "territory:divisions": Route(lambda w: "/territory/divisions/?station=TC", get=TC_MANAGERS),
    # Station-wide rows: the grid worker and the volunteer see the list, empty.
    "territory:units": Route(
        lambda w: "/territory/units/?station=TC", get=TC | {"grid_worker", "volunteer"}
    ),
    "territory:unit": Route(lambda w: f"/territory/units/{_unit(w)}/", get=TC),
    "territory:recompute_complexity": Route(
        lambda w: _with("/territory/divisions/complexity/", _complexity_records(w)),
        write=Write(TC_MANAGERS, lambda w: {"station": "TC"}),
    ),
    "territory:division": Route(lambda w: f"/territory/divisions/{_proposal(w)}/", get=TC_MANAGERS),
    "territory:division_move": Route(
        lambda w: f"/territory/divisions/{_proposal(w)}/move/", write=Write(TC_MANAGERS, _move)
    ),
    "territory:division_apply": Route(
        lambda w: f"/territory/divisions/{_proposal(w)}/apply/",
        write=Write(TC_MANAGERS, lambda w: {"revision": "1"}),
    ),
    "territory:division_discard": Route(
        lambda w: f"/territory/divisions/{_proposal(w)}/discard/",
        write=Write(TC_MANAGERS, lambda w: {"revision": "1"}),
    ),
    "people:list": Route(lambda w: "/people/", get=PEOPLE_ROLES),
    "people:new": Route(
        lambda w: "/people/new/?station=TC",
        get=TC_MANAGERS,
        write=Write(TC_MANAGERS, lambda w: dict(PERSON_FORM)),
    ),
    "people:coverage": Route(lambda w: "/people/coverage/", get=FIELD_ROLES),
    "people:resolve_reassignment": Route(
        lambda w: f"/people/reassignments/{_reassignment(w)}/resolve/",
        write=Write(TC_MANAGERS, lambda w: {"assign": "suggested"}),
    ),
    "people:person": Route(lambda w: f"/people/{_person(w)}/", get=TC),
    "people:edit": Route(
        lambda w: f"/people/{_person(w)}/edit/",
        get=TC_MANAGERS,
        write=Write(
            TC_MANAGERS,
            lambda w: {**PERSON_FORM, "name": "改名", "version": str(w.people["officer"].version)},
        ),
    ),
    "people:unmask": Route(
        lambda w: f"/people/{_person(w)}/unmask/",
        write=Write({"bureau_admin", "chief", "officer"}, audit_action="unmask"),
    ),
    "people:add_assignment": Route(
        lambda w: f"/people/{_person(w)}/assignments/",
        write=Write(
            TC_MANAGERS, lambda w: {"grid": str(w.block_b.id), "role": "community_officer"}
        ),
    ),
    "people:end_assignment": Route(
        lambda w: f"/people/{_person(w)}/assignments/{_assignment(w)}/end/",
        write=Write(TC_MANAGERS),
    ),
    "people:add_post": Route(
        lambda w: f"/people/{_person(w)}/posts/",
        write=Write(
            TC_MANAGERS,
            lambda w: {"community": str(w.community.id), "title": "副书记", "since": "2026-01-05"},
        ),
    ),
    "people:end_post": Route(
        lambda w: f"/people/{_person(w)}/posts/{_post(w)}/end/", write=Write(TC_MANAGERS)
    ),
    # The system admin's: bureaus, stations and each bureau's settings (codes and names only).
    "territory:bureaus": Route(
        lambda w: "/territory/bureaus/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {"code": "MY", "name": "绵阳市公安局"}),
    ),
    "territory:bureau": Route(
        lambda w: f"/territory/bureaus/{w.bureau.id}/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {"name": "三台公安", "version": "1"}),
    ),
    "territory:new_station": Route(
        lambda w: f"/territory/bureaus/{w.bureau.id}/stations/",
        write=Write(SYSTEM, lambda w: {"code": "LX", "name": "芦溪派出所"}),
    ),
    "territory:station_admin": Route(
        lambda w: f"/territory/bureaus/{w.bureau.id}/stations/{w.station.id}/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {"name": "潼川所", "version": "1"}),
    ),
    # Incident figures: whoever sees incidents, over what they see (incidents_visible_to).
    "incidents:figures": Route(
        lambda w: "/incidents/figures/",
        get={"bureau_admin", "chief", "officer", "auxiliary", "grid_worker"} | XX,
    ),
    "incidents:figures_grid": Route(
        lambda w: f"/incidents/figures/grids/{w.block_a.id}/",
        get={"bureau_admin", "chief", "officer", "auxiliary", "grid_worker"},
    ),
    # SMS: the outbox and opt-outs (sms.view), and the two ways in without a login.
    "sms:outbox": Route(lambda w: "/sms/?station=TC", get=TC_MANAGERS),
    "sms:opt_outs": Route(
        lambda w: "/sms/opt-outs/?station=TC",
        get=TC_MANAGERS,
        write=Write(TC_MANAGERS, lambda w: {"phone": "13900001111"}),
    ),
    "sms:message_opt_out": Route(
        lambda w: f"/sms/messages/{_sms_message(w)}/opt-out/", write=Write(TC_MANAGERS)
    ),
    "sms:opt_out_page": Route(
        lambda w: "/sms/u/1-x/", special="public: a signed link; jingwang/sms/tests"
    ),
    "sms:gateway_reports": Route(
        lambda w: "/sms/gateway/reports", special="public: signed posts; jingwang/sms/tests"
    ),
    "sms:gateway_replies": Route(
        lambda w: "/sms/gateway/replies", special="public: signed posts; jingwang/sms/tests"
    ),
    # Recording and working incidents (incidents/views.py): whoever records incidents at TC;
    # an incident in grid A is read by TC's readers and grid A's grid worker.
    "incidents:list": Route(lambda w: "/incidents/", get=INCIDENT_READERS),
    "incidents:new": Route(
        lambda w: f"/incidents/new/?station=TC&c={_categories(w)}",
        get=TC_RECORDERS,
        write=Write(TC_RECORDERS, _incident_form),
    ),
    "incidents:export": Route(
        lambda w: f"/incidents/export/?station=TC&i={_incident(w)}",
        get=TC_RECORDERS | {"grid_worker"},
    ),
    "incidents:import": Route(
        lambda w: f"/incidents/import/?station=TC&c={_categories(w)}",
        get=TC_RECORDERS,
        write=Write(TC_RECORDERS, _incident_file),
    ),
    "incidents:detail": Route(
        lambda w: f"/incidents/{_incident(w)}/", get=TC_RECORDERS | {"grid_worker"}
    ),
    "incidents:edit": Route(
        lambda w: f"/incidents/{_incident(w)}/edit/",
        get=TC_RECORDERS,
        write=Write(TC_RECORDERS, lambda w: {**_incident_form(w), "version": "1"}),
    ),
    "incidents:dispatch": Route(
        lambda w: f"/incidents/{_incident(w)}/dispatch/",
        write=Write(TC_RECORDERS, lambda w: {"version": "1"}),
    ),
    "incidents:arrive": Route(
        lambda w: f"/incidents/{_dispatched(w)}/arrive/",
        write=Write(TC_RECORDERS, lambda w: {"version": "1"}),
    ),
    "incidents:close": Route(
        lambda w: f"/incidents/{_incident(w)}/close/",
        write=Write(TC_RECORDERS, lambda w: {"version": "1", "result": "已处理"}),
    ),
    "incidents:place": Route(
        lambda w: f"/incidents/{_incident(w, 'u', lon=None, lat=None)}/place/",
        # An auxiliary sees the incidents of their grids, and the station's unplaced ones.
        write=Write(TC_RECORDERS, lambda w: {"version": "1", "grid": str(w.block_b.id)}),
    ),
    # The bureau's incident categories: the system admin's.
    "incidents:category_bureaus": Route(lambda w: "/incidents/categories/", get=SYSTEM),
    "incidents:categories": Route(
        lambda w: f"/incidents/categories/{w.bureau.id}/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {"code": "new_kind", "name": "新类别", "parent": ""}),
    ),
    "incidents:category_edit": Route(
        lambda w: f"/incidents/categories/{w.bureau.id}/{_categories(w)}/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {"name": "噪音扰民", "is_active": "on", "version": "1"}),
    ),
    # Callbacks, the SMS survey and rectifications (incidents/views_callbacks.py).
    "incidents:callbacks": Route(
        lambda w: "/incidents/callbacks/", get=TC_CALLBACKS | {"other_officer", "other_chief"}
    ),
    "incidents:callback": Route(
        lambda w: f"/incidents/callbacks/{_callback(w)}/", get=TC_CALLBACKS
    ),
    "incidents:callback_number": Route(
        lambda w: f"/incidents/callbacks/{_callback(w)}/number/",
        write=Write(TC_CALLBACKS, audit_action="unmask"),
    ),
    "incidents:callback_attempt": Route(
        lambda w: f"/incidents/callbacks/{_callback(w)}/attempt/",
        write=Write(TC_CALLBACKS, lambda w: {"outcome": "no_answer", "version": "1"}),
    ),
    "incidents:callback_answer": Route(
        lambda w: f"/incidents/callbacks/{_callback(w)}/answer/",
        write=Write(TC_CALLBACKS, lambda w: {**CALLBACK_ANSWERS, "version": "1"}),
    ),
    "incidents:rectifications": Route(lambda w: "/incidents/rectifications/", get=MANAGERS),
    "incidents:rectification": Route(
        lambda w: f"/incidents/rectifications/{_rectification(w)}/",
        get=TC_MANAGERS,
        write=Write(
            TC_MANAGERS, lambda w: {"findings": "查明了", "actions_taken": "整改了", "version": "1"}
        ),
    ),
    "incidents:rectification_close": Route(
        lambda w: f"/incidents/rectifications/{_rectification(w)}/close/",
        write=Write(TC_MANAGERS, lambda w: {"closing_rating": "satisfied", "version": "1"}),
    ),
    "incidents:station_settings": Route(
        lambda w: "/incidents/station-settings/?station=TC",
        get=TC_MANAGERS,
        write=Write(TC_MANAGERS, lambda w: {"sms_survey": "on", "version": "0"}),
    ),
    "survey": Route(
        lambda w: "/s/x", special="public: the caller's SMS survey; incidents/tests/test_survey"
    ),
    "config:sections": Route(lambda w: "/settings/", get=SYSTEM),
    "config:edit": Route(
        lambda w: f"/settings/{w.bureau.id}/division/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {**DIVISION_DEFAULTS, "sector_blocks": "3", "version": "0"}),
    ),
    # The working-day calendar: a year the package does not know, entered by the system admin.
    "config:calendar": Route(lambda w: "/settings/calendar/", get=SYSTEM),
    "config:calendar_year": Route(
        lambda w: "/settings/calendar/2027/",
        get=SYSTEM,
        write=Write(
            SYSTEM,
            lambda w: {
                "name_1": "国庆节",
                "first_1": "2027-10-01",
                "last_1": "2027-10-07",
                "makeup_1": "2027-09-26 2027-10-09",
                "rows": "10",
                "version": "0",
            },
        ),
    ),
    "config:lists": Route(lambda w: "/settings/lists/", get=SYSTEM),
    "config:list": Route(
        lambda w: f"/settings/lists/dispute_categories/{w.bureau.id}/",
        get=SYSTEM,
        write=Write(SYSTEM, lambda w: {"code": "pets", "name": "宠物纠纷"}),
    ),
    "config:list_entry": Route(
        lambda w: f"/settings/lists/dispute_categories/{w.bureau.id}/{_dispute_category(w)}/",
        write=Write(SYSTEM, lambda w: {"use": "0", "version": "1"}),
    ),
    "people:link_account": Route(
        lambda w: f"/people/{_person(w)}/account/",
        write=Write(
            TC_MANAGERS, lambda w: {"user": "", "version": str(w.people["officer"].version)}
        ),
    ),
    "disputes:list": Route(lambda w: "/disputes/", get=DISPUTE_READERS),
    "disputes:export": Route(lambda w: "/disputes/export.xlsx", get=DISPUTE_READERS),
    "disputes:new": Route(
        lambda w: _with("/disputes/new/", _dispute_category(w)),
        get=DISPUTE_RECORDERS,
        write=Write(DISPUTE_RECORDERS, _dispute_form),
    ),
    "disputes:new_from_incident": Route(
        lambda w: _with(f"/disputes/new/from-incident/{_incident(w)}/", _dispute_category(w)),
        get={"bureau_admin", "chief", "officer", "auxiliary", "grid_worker"},
        write=Write(
            {"bureau_admin", "chief", "officer", "auxiliary", "grid_worker"}, _dispute_form
        ),
    ),
    "disputes:detail": Route(lambda w: f"/disputes/{_dispute(w)}/", get=TC | {"grid_worker"}),
    "disputes:edit": Route(
        lambda w: _with(f"/disputes/{_dispute(w)}/edit/", _dispute_category(w)),
        get=TC | {"grid_worker"},
        write=Write(
            TC | {"grid_worker"},
            lambda w: {
                **_dispute_form(w),
                "facts": "楼上漏水，已两次",
                "version": _version(w, _dispute(w)),
            },
        ),
    ),
    "disputes:override": Route(
        lambda w: f"/disputes/{_dispute(w)}/override/",
        write=Write(
            TC_MEDIATORS,
            lambda w: {"tier": "2", "reason": "双方情绪激动", "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:tier": Route(
        lambda w: f"/disputes/{_dispute(w)}/tier/",
        write=Write(
            TC_MEDIATORS,
            lambda w: {"tier": "3", "reason": "涉及多个部门", "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:call": Route(
        lambda w: _with(f"/disputes/{_dispute(w)}/call/", _member(w)),
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"member": str(_member(w)[1]), "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:lead": Route(
        lambda w: _with(f"/disputes/{_dispute(w)}/lead/", _member(w)),
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"member": str(_member(w)[1]), "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:track": Route(
        lambda w: f"/disputes/{_dispute(w)}/track/",
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"track": "people", "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:extend": Route(
        lambda w: f"/disputes/{_on_track(w)}/extend/",
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"reason": "双方同意延期", "version": _version(w, _on_track(w))},
        ),
    ),
    # The session of the deputy's dispute (tier 2, grid B): the third dimension of scope.
    "disputes:session": Route(
        lambda w: f"/disputes/{_called(w)}/session/",
        write=Write(
            TC_MEDIATORS | {"deputy"},
            lambda w: {
                "held_at": _an_hour_ago(),
                "result": "adjourned",
                "said": "双方陈述",
                "version": _version(w, _called(w)),
            },
        ),
    ),
    "disputes:agreement": Route(
        lambda w: f"/disputes/{_on_track(w)}/agreement/",
        special="needs an agreeing session first: disputes/tests/test_views_steps.py",
    ),
    "disputes:agreement_pdf": Route(
        lambda w: f"/disputes/agreements/{_agreed(w)}/pdf/", get=TC | {"grid_worker"}
    ),
    "disputes:followup": Route(
        lambda w: f"/disputes/agreements/{_agreed(w)}/followup/",
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {
                "visited_at": _an_hour_ago(),
                "method": "visit",
                "result": "performed",
                "version": _version(w, _dispute(w)),
            },
        ),
    ),
    "disputes:refer": Route(
        lambda w: f"/disputes/{_dispute(w)}/refer/",
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"to": "court", "told": "可向法院起诉", "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:withdraw": Route(
        lambda w: f"/disputes/{_dispute(w)}/withdraw/",
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"reason": "双方和解", "version": _version(w, _dispute(w))},
        ),
    ),
    "disputes:party": Route(lambda w: f"/disputes/parties/{_party(w)}/", get=TC | {"grid_worker"}),
    "disputes:repeat": Route(lambda w: "/disputes/repeat/", get=DISPUTE_READERS),
    "disputes:bodies": Route(lambda w: "/disputes/bodies/", get=PEOPLE_ROLES | {"deputy"}),
    "disputes:body": Route(lambda w: f"/disputes/bodies/{_body(w)}/", get=TC | {"grid_worker"}),
    "disputes:body_add": Route(
        lambda w: f"/disputes/bodies/{_body(w)}/add/",
        write=Write(
            TC_MANAGERS, lambda w: {"person": str(w.people["officer"].id), "role": "officer"}
        ),
    ),
    "disputes:member_end": Route(
        lambda w: "/disputes/bodies/{}/members/{}/end/".format(*_member(w)),
        write=Write(TC_MANAGERS),
    ),
    "disputes:figures": Route(lambda w: "/disputes/figures/", get=DISPUTE_READERS),
    "disputes:export_figures": Route(lambda w: "/disputes/figures.xlsx", get=DISPUTE_RECORDERS),
}

# "METHOD /api/v1/path" as the API schema names it → who may use it.
API: dict[str, Route] = {
    "GET /api/v1/territory/stations": Route(
        lambda w: "/api/v1/territory/stations", get=FIELD_ROLES
    ),
    "GET /api/v1/territory/grids": Route(lambda w: "/api/v1/territory/grids", get=FIELD_ROLES),
    "GET /api/v1/territory/grids/{grid_id}": Route(
        lambda w: f"/api/v1/territory/grids/{w.block_a.id}", get=TC | {"grid_worker", "volunteer"}
    ),
    "GET /api/v1/territory/locate": Route(
        lambda w: "/api/v1/territory/locate?lon=105.001&lat=31.005", get=FIELD_ROLES
    ),
    "GET /api/v1/territory/coverage": Route(
        lambda w: "/api/v1/territory/coverage?station=TC", get=TC | {"grid_worker", "volunteer"}
    ),
    "GET /api/v1/people/": Route(lambda w: "/api/v1/people/", get=PEOPLE_ROLES),
    "POST /api/v1/people/": Route(
        lambda w: "/api/v1/people/",
        write=Write(
            TC_MANAGERS, lambda w: {"station": "TC", "name": "新人", "kind": "officer"}, json=True
        ),
    ),
    "GET /api/v1/people/{person_id}": Route(lambda w: f"/api/v1/people/{_person(w)}", get=TC),
    "PATCH /api/v1/people/{person_id}": Route(
        lambda w: f"/api/v1/people/{_person(w)}",
        write=Write(
            TC_MANAGERS,
            lambda w: {"version": w.people["officer"].version, "name": "改名"},
            json=True,
            method="patch",
        ),
    ),
    "POST /api/v1/people/{person_id}/unmask": Route(
        lambda w: f"/api/v1/people/{_person(w)}/unmask",
        write=Write({"bureau_admin", "chief", "officer"}, json=True, audit_action="unmask"),
    ),
    "GET /api/v1/incidents": Route(lambda w: "/api/v1/incidents", get=INCIDENT_READERS),
    "POST /api/v1/incidents": Route(
        lambda w: "/api/v1/incidents",
        write=Write(
            TC_RECORDERS,
            lambda w: {
                "station": "TC",
                "number": "J-API",
                "received_at": "2026-01-05T08:00:00+08:00",
                "category": "public_order.noise",
            },
            json=True,
        ),
    ),
    "GET /api/v1/incidents/{incident_id}": Route(
        lambda w: f"/api/v1/incidents/{_incident(w)}", get=TC_RECORDERS | {"grid_worker"}
    ),
    "PATCH /api/v1/incidents/{incident_id}": Route(
        lambda w: f"/api/v1/incidents/{_incident(w)}",
        write=Write(
            TC_RECORDERS, lambda w: {"version": 1, "summary": "改"}, json=True, method="patch"
        ),
    ),
    "GET /api/v1/disputes": Route(lambda w: "/api/v1/disputes", get=DISPUTE_READERS),
    "POST /api/v1/disputes": Route(
        lambda w: _with("/api/v1/disputes", _dispute_category(w)),
        # At TC: another station's officer or chief may not register there.
        write=Write(
            TC | {"grid_worker"},
            lambda w: {
                "station": "TC",
                "category": "neighbours",
                "facts": "楼上漏水",
                "parties": [
                    {"role": "applicant", "name": "刘大爷"},
                    {"role": "respondent", "name": "楼下住户"},
                ],
            },
            json=True,
        ),
    ),
    "GET /api/v1/disputes/{dispute_id}": Route(
        lambda w: f"/api/v1/disputes/{_dispute(w)}", get=TC | {"grid_worker"}
    ),
    "PATCH /api/v1/disputes/{dispute_id}": Route(
        lambda w: f"/api/v1/disputes/{_dispute(w)}",
        write=Write(
            TC | {"grid_worker"},
            lambda w: {"version": int(_version(w, _dispute(w))), "facts": "楼上漏水，已两次"},
            json=True,
            method="patch",
        ),
    ),
    "POST /api/v1/disputes/{dispute_id}/sessions": Route(
        lambda w: f"/api/v1/disputes/{_called(w)}/sessions",
        write=Write(
            TC_MEDIATORS | {"deputy"},
            lambda w: {
                "version": int(_version(w, _called(w))),
                "held_at": _an_hour_ago(),
                "result": "adjourned",
            },
            json=True,
        ),
    ),
    "POST /api/v1/disputes/{dispute_id}/tier": Route(
        lambda w: f"/api/v1/disputes/{_dispute(w)}/tier",
        write=Write(
            TC_MEDIATORS,
            lambda w: {"version": int(_version(w, _dispute(w))), "tier": 2, "reason": "升级"},
            json=True,
        ),
    ),
    "POST /api/v1/disputes/{dispute_id}/track": Route(
        lambda w: f"/api/v1/disputes/{_dispute(w)}/track",
        write=Write(
            TC_MEDIATORS | {"grid_worker"},
            lambda w: {"version": int(_version(w, _dispute(w))), "track": "people"},
            json=True,
        ),
    ),
}


def _url_names(patterns: list[Any], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            if entry.namespace == "api":
                continue  # the API's operations are classified from its schema below
            names |= _url_names(entry.url_patterns, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(prefix + entry.name)
    return names


def _api_operations() -> set[str]:
    from jingwang.api import api

    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_every_url_and_api_operation_is_classified() -> None:
    names = _url_names(get_resolver().url_patterns)
    assert names - set(PAGES) == set(), "pages without a row in PAGES: classify them"
    assert set(PAGES) - names == set(), "rows in PAGES for pages that no longer exist"
    operations = _api_operations()
    assert operations - set(API) == set(), "API operations without a row in API: classify them"
    assert set(API) - operations == set(), "rows in API for operations that no longer exist"


READS = [
    (name, role)
    for table in (PAGES, API)
    for name, route in table.items()
    if route.get is not None
    for role in sorted(ROLES)
]


@pytest.mark.parametrize("name, role", READS)
def test_reads_are_open_only_to_their_roles(world: World, name: str, role: str) -> None:
    route = PAGES.get(name) or API[name]
    assert route.get is not None
    url = route.url(world)
    response = world.client(role).get(url)
    expected = 200 if role in route.get else 404
    assert response.status_code == expected, f"{role} GET {url}: {response.status_code}"
    if expected == 404:
        assert AuditEvent.objects.filter(
            outcome="denied", actor_id=world.users[role].id
        ).exists(), f"no denied event for {role} GET {url}"


# Tables whose rows change by themselves when someone merely reads (logins, sessions).
VOLATILE = {
    "audit.auditevent",
    "audit.chainhead",
    "sessions.session",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "accounts.idempotentrequest",
}
VOLATILE_FIELDS = {"last_login", "last_used_at"}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that holds case or account data (as the database stores it)."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for label, (sql, params) in _snapshot_queries(connection.vendor).items():
            cursor.execute(sql, params)
            state[label] = [tuple(row) for row in cursor.fetchall()]
    return state


_SNAPSHOT_QUERIES: dict[str, dict[str, tuple[str, tuple[Any, ...]]]] = {}


def _snapshot_queries(vendor: str) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """The query of each table ``snapshot`` reads, compiled once (compiling ~70 queries took
    more time than running them, twice a write test)."""
    if vendor not in _SNAPSHOT_QUERIES:
        queries: dict[str, tuple[str, tuple[Any, ...]]] = {}
        for model in apps.get_models():
            label = model._meta.label_lower
            if label in VOLATILE or model._meta.proxy:
                continue
            fields = [
                f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE_FIELDS
            ]
            rows = model._default_manager.order_by("pk").values_list(*fields)
            sql, params = rows.query.get_compiler(connection.alias).as_sql()
            queries[label] = (sql, tuple(params))
        _SNAPSHOT_QUERIES[vendor] = queries
    return _SNAPSHOT_QUERIES[vendor]


def _send(world: World, role: str, url: str, write: Write) -> Any:
    client = world.client(role)
    data = write.data(world)
    send = getattr(client, write.method)
    if write.json:
        return send(url, data=json.dumps(data), content_type="application/json")
    return send(url, data=data)


WRITES = [
    (name, role)
    for table in (PAGES, API)
    for name, route in table.items()
    if route.write is not None
    for role in sorted(ROLES)
]


@pytest.mark.parametrize("name, role", WRITES)
def test_writes_are_made_only_by_their_roles(world: World, name: str, role: str) -> None:
    route = PAGES.get(name) or API[name]
    write = route.write
    assert write is not None
    url = route.url(world)
    user = world.users[role]
    before = snapshot()
    denied_before = AuditEvent.objects.filter(outcome="denied", actor_id=user.id).count()
    ok_before = AuditEvent.objects.filter(actor_id=user.id, outcome="ok").count()
    audited_before = (
        AuditEvent.objects.filter(action=write.audit_action).count() if write.audit_action else 0
    )
    response = _send(world, role, url, write)
    if role in write.allowed:
        assert response.status_code < 400, f"{role} {url}: {response.status_code}"
        if write.audit_action:
            assert AuditEvent.objects.filter(action=write.audit_action).count() > audited_before
        else:
            assert snapshot() != before, f"{role} {url}: allowed, but nothing changed"
        # and every write is an audit event of its author
        audited = AuditEvent.objects.filter(actor_id=user.id, outcome="ok").count()
        assert audited > ok_before, f"{role} {url}: written without an audit event"
        return
    assert response.status_code == 404, f"{role} {url}: {response.status_code}"
    assert snapshot() == before, f"{role} {url}: refused, but something changed"
    denied = AuditEvent.objects.filter(outcome="denied", actor_id=user.id).count()
    assert denied > denied_before, f"{role} {url}: refused without a denied audit event"
    if write.audit_action:
        assert AuditEvent.objects.filter(action=write.audit_action).count() == audited_before


# Rows that belong to station TC, and to grid A (block B1, the grid worker's) or not.
def _rows(world: World) -> dict[str, str]:
    return {
        "grid_b": f"/territory/grids/{world.block_b.id}/",
        "sector": f"/territory/grids/{world.sector.id}/",
        "other_station_grid": f"/territory/grids/{world.other_block.id}/",
        "api_grid_b": f"/api/v1/territory/grids/{world.block_b.id}",
        "api_other_grid": f"/api/v1/territory/grids/{world.other_block.id}",
        "grid_worker_person": f"/people/{world.people['grid_worker'].id}/",
        "other_station_person": f"/people/{world.people['other_officer'].id}/",
        "missing_grid": "/territory/grids/999999/",
        "missing_person": "/people/999999/",
        "other_station_map": "/territory/?station=XX",
        "other_station_map_shapes": "/territory/map/shapes/?station=XX",
        "other_station_map_points": "/territory/map/points/incidents/?station=XX",
        "other_station_outbox": "/sms/?station=XX",
    }


ROW_ACCESS = {
    "grid_b": TC,
    "sector": TC,
    "other_station_grid": XX,
    "api_grid_b": TC,
    "api_other_grid": XX,
    # A grid worker sees the people working in their own grids.
    "grid_worker_person": TC | {"grid_worker"},
    "other_station_person": XX,
    "missing_grid": set(),
    "missing_person": set(),
    "other_station_map": XX,
    "other_station_map_shapes": XX,
    "other_station_map_points": XX,
    "other_station_outbox": {"bureau_admin", "other_chief"},
}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("row", sorted(ROW_ACCESS))
def test_rows_are_visible_only_within_scope(world: World, role: str, row: str) -> None:
    response = world.client(role).get(_rows(world)[row])
    expected = 200 if role in ROW_ACCESS[row] else 404
    assert response.status_code == expected, f"{role} {row}: {response.status_code}"


def test_grid_worker_lists_only_their_grids(world: World) -> None:
    response = world.client("grid_worker").get("/api/v1/territory/grids")
    codes = {grid["code"] for grid in response.json()}
    assert codes == {"TC-D1-S1-B1", "TC-D1-S1-B1-C1", "TC-D1-S1-B1-C2"}


@pytest.mark.parametrize("role", ["other_officer", "other_chief"])
def test_another_station_sees_nothing_of_tc(world: World, role: str) -> None:
    client = world.client(role)
    grids = client.get("/api/v1/territory/grids").json()
    assert {grid["code"][:2] for grid in grids} == {"XX"}
    assert client.get("/api/v1/territory/grids?station=TC").status_code == 404
    assert client.get("/territory/?station=TC").status_code == 404
    people = client.get("/api/v1/people/").json()
    assert [person["name"] for person in people] == ["外所民警"]
    located = client.get("/api/v1/territory/locate?lon=105.001&lat=31.005").json()
    assert located["found"] is False


def test_anonymous_is_sent_to_login_and_api_answers_401(client: Any, world: World) -> None:
    response = client.get("/territory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    api = client.get("/api/v1/territory/grids")
    assert api.status_code == 401
    assert api.json()["errors"][0]["message"]


def test_api_documentation_needs_a_login_or_a_token(client: Any, world: World) -> None:
    for url in ("/api/v1/docs", "/api/v1/openapi.json"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert world.client("auditor").get(url).status_code == 200
