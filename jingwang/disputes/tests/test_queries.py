"""Reads of the dispute loop: repeat complaints across disputes and incidents, one person's
timeline, the flagged list, overdue disputes and the chief's home panel, the rosters, and
numbers given to two registrations at the same moment."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.translation import override

from jingwang.disputes import actions, queries
from jingwang.disputes.actions import PartyInput
from jingwang.disputes.models import Dispute, Party
from jingwang.disputes.tests.helpers import (
    ID_ADULT,
    IN_BLOCK_B,
    PHONE_A,
    PHONE_B,
    bodies,
    category,
    events,
    incident,
    make_dispute,
    member_of,
)
from jingwang.people.models import Person
from tests.cast import World

PHONE_C = "13655556666"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with override("en"):
        yield


def him(phone: str = PHONE_A, id_number: str = "") -> list[PartyInput]:
    return [
        PartyInput(role="applicant", name="刘大爷", phone=phone, id_number=id_number),
        PartyInput(role="respondent", name="邻居", phone=PHONE_C),
    ]


def hashes(phone: str = "", id_number: str = "") -> dict[str, Any]:
    party = Party()
    party.phone, party.id_number = phone, id_number
    return {"id_hashes": [party.id_number_hash], "phone_hashes": [party.phone_hash]}


# -- repeat complaints -----------------------------------------------------------------------------


def test_complaints_count_disputes_and_incidents_of_one_person_in_the_window(
    world: World,
) -> None:
    since = timezone.localdate() - timedelta(days=90)
    # given two disputes and two 110 calls of his phone, in the window
    make_dispute(world, parties=him())
    make_dispute(world, parties=him(), people_involved=3)
    incident(world, "J1", PHONE_A)
    incident(world, "J2", PHONE_A)
    # and what does not count: before the window, another station, another person
    make_dispute(world, parties=him(), registered_at=timezone.now() - timedelta(days=120))
    incident(world, "J3", PHONE_A, received_at=timezone.now() - timedelta(days=120))
    incident(world, "J4", PHONE_A, station=world.other_station, lon=None, lat=None)
    incident(world, "J5", PHONE_B)
    assert queries.complaints_by(world.station, since=since, **hashes(PHONE_A)) == 4
    assert queries.complaints_by(world.other_station, since=since, **hashes(PHONE_A)) == 1
    assert queries.complaints_by(world.station, since=since, **hashes(PHONE_B)) == 1
    assert queries.complaints_by(world.station, since=since, id_hashes=[], phone_hashes=[]) == 0


def test_a_person_is_matched_by_id_number_or_phone_without_counting_twice(world: World) -> None:
    since = timezone.localdate() - timedelta(days=90)
    # one dispute with ID and phone, one with the ID only, one with the phone only
    make_dispute(world, parties=him(PHONE_A, ID_ADULT))
    make_dispute(world, parties=him("", ID_ADULT))
    make_dispute(world, parties=him(PHONE_A))
    assert queries.complaints_by(world.station, since=since, **hashes(PHONE_A, ID_ADULT)) == 3
    assert queries.complaints_by(world.station, since=since, **hashes("", ID_ADULT)) == 2


def test_the_third_complaint_in_the_window_is_flagged_on_the_dispute(world: World) -> None:
    make_dispute(world, parties=him())
    incident(world, "J1", PHONE_A)
    third = make_dispute(world, parties=him())
    flags = queries.repeat_flags(third)
    applicant = third.parties.get(role="applicant")
    assert flags == {applicant.pk: 3}


def test_party_timeline_shows_every_complaint_of_the_person_newest_first(world: World) -> None:
    first = make_dispute(world, parties=him(), registered_at=timezone.now() - timedelta(days=20))
    call = incident(world, "J1", PHONE_A, received_at=timezone.now() - timedelta(days=10))
    last = make_dispute(world, parties=him(), registered_at=timezone.now() - timedelta(days=2))
    other = make_dispute(world, parties=him(PHONE_B))
    party = last.parties.get(role="applicant")
    timeline = queries.party_timeline(world.users["officer"], party)
    assert [(e.kind, e.object) for e in timeline] == [
        ("dispute", last),
        ("incident", call),
        ("dispute", first),
    ]
    assert other not in [e.object for e in timeline]
    entry = timeline[0]
    assert (entry.number, entry.status, entry.category) == (
        last.number,
        "Being mediated",
        "neighbours",
    )
    assert entry.day == timezone.localtime(last.registered_at).date()
    assert timeline[1].label == "J1"


def test_party_timeline_shows_only_what_the_reader_may_see(world: World) -> None:
    mine = make_dispute(world, parties=him())
    theirs = make_dispute(world, parties=him(), lon=IN_BLOCK_B[0], lat=IN_BLOCK_B[1])
    party = mine.parties.get(role="applicant")
    worker = world.users["grid_worker"]
    seen = [e.object for e in queries.party_timeline(worker, party)]
    assert mine in seen and theirs not in seen
    assert queries.party_timeline(world.users["other_chief"], party) == []


def test_a_party_without_numbers_has_a_timeline_of_its_own_dispute(world: World) -> None:
    dispute = make_dispute(world, parties=[PartyInput(role="applicant", name="无名")])
    party = dispute.parties.get()
    assert [e.object for e in queries.party_timeline(world.users["officer"], party)] == [dispute]


def test_repeat_complainants_lists_people_over_the_threshold_with_their_complaints(
    world: World,
) -> None:
    # he: a dispute by ID and phone, a dispute by ID only, a 110 call by phone → one person, 3
    a = make_dispute(world, parties=him(PHONE_A, ID_ADULT))
    b = make_dispute(world, parties=him("", ID_ADULT))
    call = incident(world, "J1", PHONE_A)
    # the neighbour (PHONE_C) is a party of both disputes: 2
    flagged = queries.repeat_complainants(world.users["officer"], months=3, threshold=3)
    assert len(flagged) == 1
    (person,) = flagged
    assert person.name == "刘大爷" and person.count == 3
    assert set(person.disputes) == {a, b} and person.incidents == [call]
    assert person.party.dispute == b  # the newest party row: the link to the timeline
    two = queries.repeat_complainants(world.users["officer"], months=3, threshold=2)
    assert [p.count for p in two] == [3, 2]
    assert queries.repeat_complainants(world.users["officer"], months=3, threshold=0) == []
    assert queries.repeat_complainants(world.users["other_chief"], months=3, threshold=2) == []


# -- overdue and the home panel -------------------------------------------------------------------


def overdue_dispute(world: World, days_ago: int, **kw: Any) -> Dispute:
    dispute = make_dispute(world, registered_at=timezone.now() - timedelta(days=days_ago), **kw)
    start = timezone.localdate() - timedelta(days=days_ago)
    return actions.choose_track(
        world.users["officer"], dispute, version=1, track="police", accepted_on=start
    )


def test_the_chiefs_panel_shows_overdue_disputes_oldest_deadline_first(world: World) -> None:
    late = [overdue_dispute(world, days) for days in (20, 40, 30)]
    make_dispute(world)  # no deadline yet
    on_time = actions.choose_track(
        world.users["officer"], make_dispute(world), version=1, track="people"
    )
    assert on_time.deadline is not None and on_time.deadline >= timezone.localdate()
    closed = overdue_dispute(world, 50)
    actions.withdraw_dispute(world.users["officer"], closed, version=2, reason="撤回")

    class Request:
        user = world.users["chief"]

    panel = queries.disputes_panel(Request())
    assert panel is not None
    assert panel["count"] == 3 and not panel["more"]
    assert panel["disputes"] == [late[1], late[2], late[0]]
    assert queries.disputes_panel(world.users["chief"]) == panel  # the user works as well
    # no triage permission, or nothing overdue in scope: no panel
    assert queries.disputes_panel(world.users["auxiliary"]) is None
    assert queries.disputes_panel(world.users["other_chief"]) is None


def test_the_panel_shows_ten_and_says_there_are_more(world: World) -> None:
    for days in range(20, 31):
        overdue_dispute(world, days)
    panel = queries.disputes_panel(world.users["chief"])
    assert panel is not None
    assert panel["count"] == 11 and len(panel["disputes"]) == 10 and panel["more"]


# -- rosters and categories -----------------------------------------------------------------------


def test_members_offered_are_the_active_members_of_the_tiers_body(world: World) -> None:
    mediator = member_of(world, 1, world.people["mediator"], "mediator")
    worker = member_of(world, 1, world.people["grid_worker"], "grid_worker")
    officer2 = member_of(world, 2, world.people["officer"], "officer")
    actions.end_membership(world.users["chief"], worker)
    dispute = make_dispute(world)
    assert list(queries.members_offered(dispute)) == [mediator]
    assert officer2 in queries.station_members(dispute)
    assert mediator in queries.station_members(dispute)


def test_people_for_a_roster_are_of_the_station_and_the_tiers_kinds(world: World) -> None:
    tier = bodies(world)
    deputy = Person.objects.create(station=world.station, name="孙代表", kind="deputy")
    Person.objects.create(station=world.other_station, name="外所代表", kind="deputy")
    chief = world.users["chief"]
    harmony = set(queries.people_for_roster(chief, tier[2]))
    assert deputy in harmony and world.people["other_officer"] not in harmony
    assert deputy not in set(queries.people_for_roster(chief, tier[3]))
    member_of(world, 2, deputy, "deputy")
    assert deputy not in set(queries.people_for_roster(chief, tier[2]))


def test_categories_are_the_bureaus_in_use(world: World) -> None:
    used = category(world, "neighbours")
    retired = category(world, "old", "旧")
    retired.is_active = False
    retired.save()
    assert list(queries.categories_for(world.station)) == [used]


# -- numbers given at the same moment --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_registrations_at_the_same_moment_get_two_numbers(world: World) -> None:
    in_memory = getattr(connection, "is_in_memory_db", lambda: False)
    if connection.vendor == "sqlite" and in_memory():
        # An in-memory SQLite test database is shared between threads with table locks that do
        # not wait; the retry itself is tested on every database in test_actions.
        pytest.skip("needs a database that several connections share")
    category(world)

    def register(n: int) -> str:
        try:
            return make_dispute(world, facts=f"第{n}起").number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(register, range(8)))

    year = timezone.localdate().year
    assert sorted(numbers) == [f"TC-{year}-{n:04d}" for n in range(1, 9)]
    assert Dispute.objects.count() == 8 and len(events("register_dispute")) == 8


def test_the_year_of_a_number_is_the_registration_years(world: World) -> None:
    old = make_dispute(
        world,
        registered_at=timezone.make_aware(datetime(2025, 12, 31, 23, 30)),
    )
    assert old.number == "TC-2025-0001"
    assert date(2025, 12, 31) == timezone.localtime(old.registered_at).date()
