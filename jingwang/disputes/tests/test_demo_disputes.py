"""The demo's year of disputes for Tongchuan: the article's figures come out of real records
(issue 8, "What must hold"), the leaking pipe is one story, and the demo stays deterministic.

The figures are counted here with plain queries over the records (the definitions of the
contract), not with the figures module, so the two check each other."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import pytest
import shapely
from django.db.models import Count, Q
from django.utils import timezone

from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent
from jingwang.core import workdays
from jingwang.demo import registry
from jingwang.demo.generate import Demo, generate
from jingwang.demo.load import load
from jingwang.disputes import demo as disputes_demo
from jingwang.disputes import rules
from jingwang.disputes.apps import ACTIONS
from jingwang.disputes.categories import DEFAULTS
from jingwang.disputes.demo import DisputesDemo, StationDisputes
from jingwang.disputes.models import (
    Agreement,
    Body,
    Call,
    Dispute,
    FollowUp,
    Member,
    Party,
    Referral,
    Session,
    TierChange,
)
from jingwang.disputes.queries import disputes_visible_to
from jingwang.incidents.models import Incident
from jingwang.people.models import Person
from jingwang.territory.demo import TerritoryDemo

# The same registration as the app's (registering it again with the same functions changes
# nothing), so this module also runs before the app registers it.
registry.register(
    "disputes",
    disputes_demo.generate,
    disputes_demo.load,
    after=("people", "accounts", "incidents"),
)


@cache
def tc_demo() -> Demo:
    return generate(stations=["TC"])


def tc() -> StationDisputes:
    return tc_demo().part("disputes", DisputesDemo).station("TC")


# ── the generated year (no database) ────────────────────────────────────────────────────────


def test_the_articles_scale_over_ten_categories_neighbours_and_family_most() -> None:
    disputes = tc().disputes
    mediated = [d for d in disputes if d.sessions]
    assert len(mediated) == 751
    succeeded = [d for d in mediated if d.agreements]
    failed = [d for d in mediated if not d.agreements and d.status == "referred"]
    assert len(succeeded) / (len(succeeded) + len(failed)) == pytest.approx(0.996, abs=0.002)
    shares = Counter(d.category for d in disputes)
    assert set(shares) == {code for code, _zh, _en in DEFAULTS}
    assert [code for code, _n in shares.most_common(2)] == ["neighbours", "family"]


def test_tiers_come_from_the_triage_rules_mostly_tier_1() -> None:
    tiers = Counter(d.steps[0].to_tier for d in tc().disputes)
    total = sum(tiers.values())
    assert tiers[1] / total > 0.65 and tiers[2] > tiers[3] >= 10
    for d in tc().disputes:
        if d.pipe:
            continue
        facts = rules.Facts(
            d.people_involved,
            None if d.amount is None else Decimal(d.amount),
            frozenset(d.risks),
            1,
            d.departments,
        )
        found = rules.triage(facts, rules.Thresholds())
        assert d.steps[0].to_tier == found.tier
        assert d.steps[0].reasons == [r.as_dict() for r in found.reasons]
    escalated = [d for d in tc().disputes if len(d.steps) > 1]
    assert escalated and all(
        s.kind == "escalate" and s.reason for d in escalated for s in d.steps[1:]
    )


def test_every_point_lies_in_its_grid() -> None:
    grids = {
        g.code: g.geometry for g in tc_demo().part("territory", TerritoryDemo).station("TC").grids
    }
    for d in tc().disputes:
        assert shapely.contains_xy(grids[d.grid], d.lon, d.lat), d.grid


def test_same_seed_same_disputes_and_only_tongchuan_has_them() -> None:
    again = generate(stations=["TC"]).part("disputes", DisputesDemo)
    assert list(again.fingerprint()) == list(tc_demo().part("disputes", DisputesDemo).fingerprint())
    assert generate(stations=["LX"]).part("disputes", DisputesDemo).stations == []


# ── the loaded year ─────────────────────────────────────────────────────────────────────────


@pytest.mark.django_db
def test_loaded_year_shows_the_articles_figures_and_the_pipe_leak() -> None:
    loaded = load(tc_demo())
    assert loaded.created
    now = timezone.now()
    today = timezone.localdate(now)
    year = Dispute.objects.filter(station__code="TC", registered_at__gte=now - timedelta(days=366))
    assert year.count() == Dispute.objects.count() == loaded.counts["disputes"]
    assert not year.filter(registered_at__gt=now).exists()
    # All of it within this month and the eleven before (the figures page's default period).
    first_day = rules.months_before(today.replace(day=1), 11)
    earliest = timezone.localtime(year.earliest("registered_at").registered_at).date()
    assert first_day <= earliest <= first_day + timedelta(days=40)

    # The figures, by the contract's definitions, counted from the records.
    mediated = year.annotate(n=Count("sessions")).filter(n__gt=0)
    assert abs(mediated.count() - 751) <= 5
    succeeded = mediated.filter(
        Q(status__in=["agreed", "performed"]) | Q(agreements__isnull=False)
    ).distinct()
    failed = (
        mediated.filter(sessions__result="failed", agreements__isnull=True)
        .filter(status__in=["referred", "withdrawn"])
        .distinct()
    )
    rate = succeeded.count() / (succeeded.count() + failed.count())
    assert rate == pytest.approx(0.996, abs=0.002)
    assert year.filter(status="referred").count() == failed.count() == 3
    assert Referral.objects.count() == 3
    open_ = year.filter(status="open")
    assert open_.exists() and open_.filter(deadline__lt=today).exists()  # a few overdue
    assert 1 <= open_.filter(deadline__lt=today).count() <= 6
    withdrawn = year.filter(status="withdrawn")
    assert withdrawn.exists() and not withdrawn.filter(sessions__isnull=False).exists()
    assert not withdrawn.filter(closed_at__isnull=True).exists()
    # Carried out: most agreements; a handful not carried out, each reopened and settled again.
    agreements = Counter(Agreement.objects.values_list("status", flat=True))
    assert agreements["performed"] > 0.9 * sum(agreements.values())
    forms = Counter(Agreement.objects.values_list("form", flat=True))
    assert forms["written"] > forms["oral"] > 0
    reopened = year.filter(reopened__gt=0)
    assert reopened.count() >= 5
    for d in reopened:
        kinds = list(d.agreements.order_by("signed_on", "id").values_list("status", flat=True))
        assert kinds[0] == "unperformed" and len(kinds) >= 2, d.number
        assert d.agreements.first() is not None
        assert FollowUp.objects.filter(agreement__dispute=d, result="not_performed").exists()

    # Every row keeps the actions' invariants.
    numbers = list(Dispute.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"TC-20\d\d-\d{4}", n) for n in numbers)
    assert set(Dispute.objects.values_list("version", flat=True)) == {1}
    for d in Dispute.objects.prefetch_related("agreements", "sessions", "referrals"):
        results = [s.result for s in d.sessions.all()]
        states = [a.status for a in d.agreements.all()]
        if d.status == "performed":
            assert states[-1] == "performed" and d.closed_at is not None, d.number
        elif d.status == "agreed":
            assert states[-1] == "pending" and d.closed_at is None, d.number
        elif d.status == "referred":
            assert results[-1] == "failed" and d.referrals.exists(), d.number
        elif d.status == "open":
            assert "pending" not in states and d.closed_at is None, d.number
        if states:
            assert "agreed" in results, d.number
        if results:
            assert d.track, d.number
        if d.track == "police":
            assert len(results) <= rules.MAX_POLICE_SESSIONS, d.number
        assert d.tier_changes.first().kind == "triage"  # type: ignore[union-attr]

    # Deadlines from the track rules (working days of the calendar).
    def add(day: date, n: int) -> date:
        return workdays.add_working_days(day, n).on

    def next_day(day: date) -> date:
        return workdays.next_working_day(day).on

    people_track = year.filter(track="people", reopened=0, extended=False)
    for d in people_track[:50]:
        assert d.track_started is not None
        assert d.deadline == rules.people_deadline(d.track_started, 1, next_day), d.number
    police = year.filter(track="police")
    assert police.count() >= 20
    for d in police.annotate(n=Count("sessions")).filter(n=1)[:20]:
        assert d.track_started is not None
        assert d.deadline == rules.police_deadline(d.track_started, 3, add), d.number
    # Police mediation of minor public-order cases, most linked to the day's incident.
    linked = police.exclude(incident=None).select_related("incident__category")
    assert linked.count() >= police.count() * 0.8
    for d in linked:
        assert d.incident is not None
        assert d.incident.category.code in {
            "public_order.fight",
            "disputes.neighbour",
            "disputes.family",
            "disputes.consumer",
            "disputes.other",
            "disputes.economic",
        }
        assert d.incident.received_at <= d.registered_at
        applicant = d.parties.get(order=0)
        if d.incident.caller_phone_hash:
            assert applicant.phone_hash == d.incident.caller_phone_hash

    # Placed: every dispute in a current grid of Tongchuan that holds its point.
    assert not Dispute.objects.filter(grid=None).exists()
    for d in Dispute.objects.select_related("grid")[:100]:
        assert d.grid is not None and d.grid.station.code == "TC"
        assert d.grid.geometry.contains(shapely.Point(d.lon, d.lat)), d.number

    # The three bodies and their rosters; sessions' members are called.
    bodies = {b.tier: b for b in Body.objects.filter(station__code="TC")}
    assert set(bodies) == {1, 2, 3}
    for tier, body in bodies.items():
        roles = set(body.members.values_list("role", flat=True))
        assert roles <= set(Member.TIER_ROLES[tier]) and "mediator" in roles
    assert {"deputy", "cppcc_member", "conduct_supervisor"} <= set(
        bodies[2].members.values_list("role", flat=True)
    )
    assert {"judicial_office", "law_enforcement"} <= set(
        bodies[3].members.values_list("role", flat=True)
    )
    through = Session.participants.through
    pairs = set(through.objects.values_list("session__dispute_id", "member_id"))
    assert pairs == set(Call.objects.values_list("dispute_id", "member_id"))
    for session in Session.objects.filter(tier=3).prefetch_related("participants__body")[:30]:
        assert {m.body.tier for m in session.participants.all()} == {3}

    # Personal data is stored encrypted and opens to what was generated.
    generated = {p.phone for d in tc().disputes for p in d.parties if p.phone}
    party = Party.objects.exclude(phone_encrypted="").filter(dispute__track="people").first()
    assert party is not None and party.phone.plaintext in generated
    assert party.phone_encrypted and party.phone.plaintext not in party.phone_encrypted

    # The leaking pipe: one old man, complaints again and again over three months (disputes
    # and 110 calls sharing his number), tiers 1 → 2 → 3, settled by an agreement carried out.
    story = [
        d
        for d in Dispute.objects.filter(tier=3, status="performed", facts__contains="老人")
        if list(d.tier_changes.values_list("to_tier", flat=True)) == [1, 2, 3]
    ]
    assert len(story) == 1
    pipe = story[0]
    assert "漏水" in pipe.facts and pipe.reopened == 1 and pipe.sessions.count() >= 4
    old_man = pipe.parties.get(role="applicant")
    assert old_man.phone_hash and old_man.id_number_hash
    disputes_of_his = Dispute.objects.filter(parties__phone_hash=old_man.phone_hash).distinct()
    calls_of_his = Incident.objects.filter(caller_phone_hash=old_man.phone_hash)
    assert disputes_of_his.count() >= 2 and calls_of_his.count() >= 2
    days = sorted(
        [timezone.localtime(d.registered_at).date() for d in disputes_of_his]
        + [timezone.localtime(i.received_at).date() for i in calls_of_his]
    )
    assert len(days) >= 3 and days[-1] - days[0] >= timedelta(days=55)
    assert pipe.closed_at is not None
    story_days = timezone.localtime(pipe.closed_at).date() - days[0]
    assert timedelta(days=70) <= story_days <= timedelta(days=100)  # three months of work
    assert rules.is_repeat(days, today, 3, 3)  # the repeat-complainant flag
    assert pipe.incident is not None and pipe.incident.caller_phone_hash == old_man.phone_hash
    final = pipe.agreements.order_by("-signed_on").first()
    assert final is not None and final.form == "written" and final.status == "performed"
    assert pipe.agreements.filter(status="unperformed", form="oral").exists()
    escalations = pipe.tier_changes.filter(kind="escalate")
    assert escalations.count() == 2 and all(c.reason for c in escalations)

    # The outside member's account: the deputy, called to some tier-2 disputes, sees only them.
    member = User.objects.get(username="daibiao")
    assert member.role == "mediation_member"
    person = Person.objects.get(user=member)
    assert person.kind == "deputy"
    called = set(Call.objects.filter(member__person=person).values_list("dispute_id", flat=True))
    assert len(called) >= 10
    assert set(disputes_visible_to(member).values_list("pk", flat=True)) == called
    assert TierChange.objects.filter(dispute_id__in=called, to_tier=2).exists()

    # Audit: one load_demo event for the whole demo (with the counts), no event per row.
    event = AuditEvent.objects.get(action="load_demo")
    assert f'"disputes": {loaded.counts["disputes"]}' in event.detail
    assert (
        not AuditEvent.objects.filter(action__in=list(ACTIONS))
        .exclude(action="seed_mediation_bodies")
        .exists()
    )
