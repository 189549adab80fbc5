"""Builders for dispute tests (pages, API, scope, demo): a category, a dispute, the bodies and
an outside member of the harmony team (``mediation_member``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from jingwang.accounts.models import User
from jingwang.disputes import actions
from jingwang.disputes.actions import PartyInput
from jingwang.disputes.models import Body, Category, Dispute, Member
from jingwang.people.models import Person
from tests.cast import PASSWORD, World

# Valid GB 11643 numbers and mobile numbers for parties.
ID_ADULT = "510722199001011236"
PHONE_A = "13912345678"
PHONE_B = "13787654321"
# A point in cluster TC-D1-S1-B1-C1 (the grid worker's block A).
IN_BLOCK_A = (105.002, 31.005)
IN_BLOCK_B = (105.012, 31.005)


def category(world: World, code: str = "neighbours", name: str = "邻里纠纷") -> Category:
    """A category of the world's bureau (made directly: tests do not need the choice list)."""
    found, _ = Category.objects.get_or_create(
        bureau=world.bureau, code=code, defaults={"name": name, "name_en": code}
    )
    return found


def parties(*, phone: str = PHONE_A, id_number: str = "") -> list[PartyInput]:
    return [
        PartyInput(role="applicant", name="刘大爷", phone=phone, id_number=id_number),
        PartyInput(role="respondent", name="楼下住户", phone=PHONE_B),
    ]


def make_dispute(world: World, actor: Any = None, **kw: Any) -> Dispute:
    """A dispute of station TC in block A registered by the officer (tier 1 unless the
    values say otherwise); any argument of ``register_dispute`` may be given."""
    values: dict[str, Any] = {
        "station": world.station,
        "category": category(world),
        "source": "walk_in",
        "facts": "楼上水管漏水渗到楼下，双方争吵",
        "parties": parties(),
        "lon": IN_BLOCK_A[0],
        "lat": IN_BLOCK_A[1],
        "address": "东街12号3单元",
        "registered_at": timezone.now() - timedelta(days=1),
    }
    values.update(kw)
    return actions.register_dispute(actor or world.users["officer"], **values)


def bodies(world: World, station: Any = None) -> dict[int, Body]:
    return {b.tier: b for b in actions.ensure_bodies(station or world.station)}


def member_of(world: World, tier: int, person: Person, role: str, actor: Any = None) -> Member:
    """``person`` on the roster of TC's body of ``tier`` in ``role`` (made once)."""
    body = bodies(world)[tier]
    found = Member.objects.filter(body=body, person=person, is_active=True).first()
    if found is not None:
        return found
    return actions.add_member(actor or world.users["chief"], body, person, role=role)


@dataclass
class Outside:
    """An outside member of TC's harmony team: their account, person and roster entry."""

    user: User
    person: Person
    member: Member


def mediation_member(world: World, username: str = "deputy") -> Outside:
    """A People's Congress deputy on TC's tier-2 body with an account of role
    ``mediation_member`` (sees only the disputes they are called to): the cast's own deputy,
    or a new one of another name."""
    if username in world.users:
        user = world.users[username]
        person = Person.objects.get(user=user)
    else:
        user = User(username=username, role="mediation_member", first_name=username)
        user.station = world.station
        user.set_password(PASSWORD)
        user.save()
        person = Person.objects.create(
            station=world.station, name="孙代表", kind="deputy", user=user
        )
    member = member_of(world, 2, person, "deputy")
    return Outside(user, person, member)


def events(action: str, **filters: Any) -> list[Any]:
    """The audit events of an action, oldest first."""
    from jingwang.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action, **filters).order_by("seq"))


def about(dispute: Dispute) -> list[str]:
    """The actions of the events whose subject is the dispute, oldest first (its timeline)."""
    from jingwang.audit.models import AuditEvent

    rows = AuditEvent.objects.filter(subject_type="disputes.dispute", subject_id=str(dispute.pk))
    return list(rows.order_by("seq").values_list("action", flat=True))


def incident(world: World, number: str, phone: str, **kw: Any) -> Any:
    """An incident of station TC from a caller's phone (three days ago, in block A)."""
    from jingwang.incidents.actions import record_incident
    from jingwang.incidents.categories import categories_of

    values: dict[str, Any] = {
        "number": number,
        "received_at": timezone.now() - timedelta(days=3),
        "source": "call_110",
        "category": categories_of(world.bureau.pk, active=None).get(code="public_order.noise"),
        "summary": "楼上漏水",
        "caller_name": "刘大爷",
        "caller_phone": phone,
        "address": "东街12号",
        "lon": IN_BLOCK_A[0],
        "lat": IN_BLOCK_A[1],
    }
    values.update(kw)
    station = values.pop("station", world.station)
    return record_incident(world.users["officer"], station, **values)
