"""Who may see and change a dispute: the doors of ``disputes.queries``.

The deny side of every write: another station's chief, a grid worker of another grid, a 三员
role (the system admin) and an outside member not called to the dispute each get the 404 of
the door, a ``denied`` event is written, and nothing changes. The allow side: the same door
opens to those whose scope and permission it is."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from jingwang.accounts.roles import Perm
from jingwang.audit.models import AuditEvent
from jingwang.disputes import actions, queries
from jingwang.disputes.models import Agreement, Dispute
from jingwang.disputes.tests.helpers import (
    IN_BLOCK_B,
    bodies,
    make_dispute,
    mediation_member,
    member_of,
)
from tests.cast import World

WRITES = [Perm.DISPUTES_RECORD, Perm.DISPUTES_MEDIATE, Perm.DISPUTES_TRIAGE]
OUTSIDERS = ["other_chief", "grid_worker", "system_admin", "outside"]


def in_block_b(world: World) -> Dispute:
    """A tier-2 dispute in block B: not the grid worker's (block A)."""
    return make_dispute(world, lon=IN_BLOCK_B[0], lat=IN_BLOCK_B[1], people_involved=6)


def user_of(world: World, name: str) -> Any:
    if name == "outside":
        # a deputy of TC's harmony team, on the roster but not called to this dispute
        return mediation_member(world).user
    return world.users[name]


def state(dispute: Dispute) -> tuple[Any, ...]:
    fresh = Dispute.objects.get(pk=dispute.pk)
    return (fresh.version, fresh.status, fresh.tier, fresh.track, fresh.facts)


def denied(user: Any) -> int:
    return AuditEvent.objects.filter(outcome="denied", actor_id=user.pk).count()


@pytest.mark.parametrize("name", OUTSIDERS)
@pytest.mark.parametrize("perm", WRITES)
def test_the_write_door_is_a_404_with_a_denied_event_for_outsiders(
    world: World, name: str, perm: str
) -> None:
    dispute = in_block_b(world)
    user = user_of(world, name)
    before, refusals = state(dispute), denied(user)
    with pytest.raises(Http404):
        queries.access_dispute(user, dispute.pk, write=True, perm=perm)
    assert state(dispute) == before
    assert denied(user) == refusals + 1
    event = AuditEvent.objects.filter(outcome="denied", actor_id=user.pk).last()
    assert event is not None
    assert (event.object_type, event.object_id) == ("disputes.dispute", str(dispute.pk))
    assert event.detail_data["mode"] == "write"


@pytest.mark.parametrize("name", OUTSIDERS)
def test_the_read_door_is_a_404_for_outsiders_as_for_a_missing_dispute(
    world: World, name: str
) -> None:
    dispute = in_block_b(world)
    user = user_of(world, name)
    with pytest.raises(Http404):
        queries.access_dispute(user, dispute.pk)
    with pytest.raises(Http404):
        queries.access_dispute(user, 999999)
    assert denied(user) == 2
    assert not queries.disputes_visible_to(user).exists()
    assert not queries.parties_visible_to(user).exists()


@pytest.mark.parametrize("name", OUTSIDERS)
def test_outsiders_reach_no_agreement_and_record_no_follow_up(world: World, name: str) -> None:
    dispute = in_block_b(world)
    chief = world.users["chief"]
    dispute = actions.choose_track(chief, dispute, version=1, track="people")
    from django.utils import timezone

    actions.record_session(chief, dispute, version=2, held_at=timezone.now(), result="agreed")
    deal = actions.record_agreement(
        chief,
        Dispute.objects.get(pk=dispute.pk),
        version=3,
        form="oral",
        facts="漏水",
        terms="修好",
        performance="当面",
        perform_by=timezone.localdate(),
        signed_on=timezone.localdate(),
        signatories=["甲", "乙"],
        copies=0,
    )
    user = user_of(world, name)
    with pytest.raises(Http404):
        queries.access_agreement(user, deal.pk, write=True)
    assert Agreement.objects.get(pk=deal.pk).status == "pending"
    assert denied(user) == 1


@pytest.mark.parametrize("name", ["other_chief", "system_admin", "outside", "officer"])
def test_only_a_manager_of_the_station_changes_a_roster(world: World, name: str) -> None:
    body = bodies(world)[1]
    user = user_of(world, name)
    with pytest.raises(Http404):
        queries.access_body(user, body.pk, write=True)
    assert denied(user) == 1
    assert queries.access_body(world.users["chief"], body.pk, write=True) == body
    assert queries.access_body(world.users["bureau_admin"], body.pk, write=True) == body


@pytest.mark.parametrize(
    ("name", "perm"),
    [
        ("chief", Perm.DISPUTES_TRIAGE),
        ("officer", Perm.DISPUTES_TRIAGE),
        ("mediator", Perm.DISPUTES_MEDIATE),
        ("auxiliary", Perm.DISPUTES_RECORD),
        ("bureau_admin", Perm.DISPUTES_TRIAGE),
    ],
)
def test_station_roles_open_the_door_with_their_permission(
    world: World, name: str, perm: str
) -> None:
    dispute = in_block_b(world)
    assert queries.access_dispute(world.users[name], dispute.pk, write=True, perm=perm) == dispute


def test_an_auxiliary_records_but_does_not_mediate(world: World) -> None:
    dispute = in_block_b(world)
    aux = world.users["auxiliary"]
    with pytest.raises(Http404):
        queries.access_dispute(aux, dispute.pk, write=True, perm=Perm.DISPUTES_MEDIATE)
    assert denied(aux) == 1


def test_a_grid_worker_sees_the_disputes_of_their_grids_and_those_they_registered(
    world: World,
) -> None:
    worker = world.users["grid_worker"]
    mine = make_dispute(world)  # block A
    theirs = in_block_b(world)
    registered = make_dispute(
        world, actor=worker, lon=IN_BLOCK_B[0], lat=IN_BLOCK_B[1], source="grid_worker"
    )
    assert set(queries.disputes_visible_to(worker)) == {mine, registered}
    assert queries.access_dispute(worker, mine.pk, write=True, perm=Perm.DISPUTES_MEDIATE)
    with pytest.raises(Http404):
        queries.access_dispute(worker, theirs.pk)
    # grid workers never triage
    with pytest.raises(Http404):
        queries.access_dispute(worker, mine.pk, write=True, perm=Perm.DISPUTES_TRIAGE)


def test_an_outside_member_sees_only_the_disputes_they_are_called_to(world: World) -> None:
    outside = mediation_member(world)
    called = in_block_b(world)
    other = in_block_b(world)
    actions.call_member(world.users["chief"], called, outside.member)
    assert list(queries.disputes_visible_to(outside.user)) == [called]
    assert (
        queries.access_dispute(outside.user, called.pk, write=True, perm=Perm.DISPUTES_MEDIATE)
        == called
    )
    # they mediate, but do not edit the facts nor triage
    for perm in (Perm.DISPUTES_RECORD, Perm.DISPUTES_TRIAGE):
        with pytest.raises(Http404):
            queries.access_dispute(outside.user, called.pk, write=True, perm=perm)
    with pytest.raises(Http404):
        queries.access_dispute(outside.user, other.pk)
    # their bodies only: the roster they sit on
    assert list(queries.bodies_visible_to(outside.user)) == [outside.member.body]
    # once off the roster, the call no longer opens the dispute
    actions.end_membership(world.users["chief"], outside.member)
    assert not queries.disputes_visible_to(outside.user).exists()


def test_another_stations_chief_sees_none_of_tcs_disputes_or_bodies(world: World) -> None:
    make_dispute(world)
    bodies(world)
    other = world.users["other_chief"]
    assert not queries.disputes_visible_to(other).exists()
    assert not queries.bodies_visible_to(other).exists()
    assert not queries.overdue(other).exists()


def test_a_party_of_a_dispute_out_of_scope_is_a_404(world: World) -> None:
    dispute = in_block_b(world)
    party = dispute.parties.first()
    assert party is not None
    assert queries.access_party(world.users["officer"], party.pk) == party
    with pytest.raises(Http404):
        queries.access_party(world.users["grid_worker"], party.pk)


def test_a_member_door_for_rosters(world: World) -> None:
    member = member_of(world, 1, world.people["mediator"], "mediator")
    assert queries.access_member(world.users["chief"], member.pk, write=True) == member
    with pytest.raises(Http404):
        queries.access_member(world.users["other_chief"], member.pk, write=True)
