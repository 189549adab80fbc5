"""Reads of disputes and their mediation, within the user's scope.

Scope has three dimensions here: station roles see their station's disputes, grid workers
those of their grids (and the ones they registered that are not placed yet), and anyone called
to a dispute as an active member of a mediation body sees it, whatever their station (an
outside member of a tier-2 or tier-3 body sees only these). The doors (``access_*``) answer the
same 404, with a ``denied`` audit event, for a row that is missing and one that is not yours;
a write asks for its permission too (record, mediate, triage or manage).

Repeat complaints are one story: a person is matched across disputes (their ``Party`` rows)
and incidents (the caller) by the keyed hash of their ID number or phone number; the hashes
are keyed per kind of value, so a party's ``phone_hash`` equals the ``caller_phone_hash`` of an
incident from the same number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from jingwang.accounts import scope
from jingwang.accounts.roles import GRID_ROLES, Perm, has_perm
from jingwang.disputes.models import Agreement, Body, Call, Category, Dispute, Member, Party

# Overdue disputes shown on the chief's home panel.
PANEL_ROWS = 10


def disputes_visible_to(user: Any) -> QuerySet[Dispute]:
    """Station roles see their station's disputes; grid workers those of their grids (and the
    ones they registered, wherever they were placed); anyone called to a dispute as a member of a
    mediation body sees it (the third dimension: outside members see only these)."""
    called = Call.objects.filter(
        member__person__user_id=getattr(user, "pk", None) or 0, member__is_active=True
    ).values("dispute_id")
    also = Q(pk__in=called)
    if getattr(user, "role", None) in GRID_ROLES:
        also |= Q(registered_by_id=user.pk, station_id__in=scope.station_ids(user))
    return scope.visible(
        user, Dispute.objects.all(), perm=Perm.DISPUTES_VIEW, grid="grid_id", also=also
    )


def parties_visible_to(user: Any) -> QuerySet[Party]:
    return Party.objects.filter(dispute__in=disputes_visible_to(user))


def access_dispute(
    user: Any, dispute_id: Any, *, write: bool = False, perm: str = Perm.DISPUTES_RECORD
) -> Dispute:
    """One dispute the user may see (and, with ``write``, change with ``perm``: record,
    mediate or triage), or a ``denied`` event and a 404."""
    return scope.access(
        user,
        disputes_visible_to(user).select_related(
            "station", "category", "grid", "lead__person", "incident", "registered_by"
        ),
        dispute_id,
        write=write,
        write_perm=perm,
    )


def access_party(user: Any, party_id: Any) -> Party:
    """One party of a dispute the user may see (their timeline's page), or the 404 door."""
    return scope.access(
        user, parties_visible_to(user).select_related("dispute", "dispute__station"), party_id
    )


def agreements_visible_to(user: Any) -> QuerySet[Agreement]:
    return Agreement.objects.filter(dispute__in=disputes_visible_to(user))


def access_agreement(user: Any, agreement_id: Any, *, write: bool = False) -> Agreement:
    """One agreement of a dispute the user may see (write: follow-ups, disputes.mediate)."""
    return scope.access(
        user,
        agreements_visible_to(user).select_related("dispute", "dispute__station"),
        agreement_id,
        write=write,
        write_perm=Perm.DISPUTES_MEDIATE,
    )


# ---------------------------------------------------------------------------------------------
# The bodies and their rosters


def bodies_visible_to(user: Any) -> QuerySet[Body]:
    """The bodies of the user's stations (a grid worker sees their station's rosters) and the
    bodies an outside member sits on."""
    sits_on = Member.objects.filter(
        person__user_id=getattr(user, "pk", None) or 0, is_active=True
    ).values("body_id")
    return scope.visible(
        user,
        Body.objects.all(),
        perm=Perm.DISPUTES_VIEW,
        grid=lambda grids: Q(),
        also=Q(pk__in=sits_on),
    )


def access_body(user: Any, body_id: Any, *, write: bool = False) -> Body:
    """One body (write: its roster, disputes.manage), or the 404 door."""
    return scope.access(
        user,
        bodies_visible_to(user).select_related("station"),
        body_id,
        write=write,
        write_perm=Perm.DISPUTES_MANAGE,
    )


def access_member(user: Any, member_id: Any, *, write: bool = False) -> Member:
    """One roster entry of a body the user may see (write: disputes.manage), or the 404 door."""
    return scope.access(
        user,
        Member.objects.filter(body__in=bodies_visible_to(user)).select_related("body", "person"),
        member_id,
        write=write,
        write_perm=Perm.DISPUTES_MANAGE,
    )


def members_offered(dispute: Dispute) -> QuerySet[Member]:
    """The active members of the station's body of the dispute's tier, in the roles that tier
    offers."""
    return (
        Member.objects.filter(
            body__station_id=dispute.station_id,
            body__tier=dispute.tier,
            is_active=True,
            role__in=Member.TIER_ROLES[dispute.tier],
        )
        .select_related("person", "body")
        .order_by("role", "person__name", "id")
    )


def station_members(dispute: Dispute) -> QuerySet[Member]:
    """The active members of every body of the dispute's station (a session's participants)."""
    return (
        Member.objects.filter(body__station_id=dispute.station_id, is_active=True)
        .select_related("person", "body")
        .order_by("body__tier", "role", "person__name", "id")
    )


# The kinds of people each tier's roster takes (Person.Kind; roles are Member.TIER_ROLES).
ROSTER_KINDS = {
    1: ("mediator", "grid_worker", "officer", "auxiliary"),
    2: (
        "mediator",
        "officer",
        "auxiliary",
        "grid_worker",
        "deputy",
        "cppcc_member",
        "conduct_supervisor",
        "volunteer",
    ),
    3: ("mediator", "officer", "judicial_office", "law_enforcement"),
}


def people_for_roster(user: Any, body: Body) -> QuerySet[Any]:
    """The active people of the body's station, of the kinds its tier takes, not yet on it."""
    from jingwang.people.queries import people_visible_to

    on = Member.objects.filter(body=body, is_active=True).values("person_id")
    return (
        people_visible_to(user)
        .filter(station_id=body.station_id, is_active=True, kind__in=ROSTER_KINDS[body.tier])
        .exclude(pk__in=on)
        .order_by("kind", "name", "id")
    )


def categories_for(station: Any) -> QuerySet[Category]:
    """The active dispute categories of the station's bureau (the defaults seeded on first
    use, through the choice list)."""
    from jingwang.core import choicelists

    return choicelists.active(Category, station.bureau_id)


# ---------------------------------------------------------------------------------------------
# Repeat complaints and one person's timeline


def complaints_by(
    station: Any,
    *,
    id_hashes: Any,
    phone_hashes: Any,
    since: date | datetime,
    exclude_dispute: int | None = None,
    exclude_incident: int | None = None,
) -> int:
    """The complaints since ``since`` in the station of ONE person known by any of these
    hashes: the disputes where a party has one of the ID or phone hashes (by ``registered_at``)
    and the incidents whose caller's phone has one of the phone hashes (by ``received_at``).
    For several parties, call it once per party and take the most (``actions`` does)."""
    from jingwang.incidents.models import Incident

    ids = [h for h in id_hashes if h]
    phones = [h for h in phone_hashes if h]
    if not ids and not phones:
        return 0
    start = _start(since)
    station_id = getattr(station, "pk", station)
    match = Q(pk__in=[])
    if ids:
        match |= Q(id_number_hash__in=ids)
    if phones:
        match |= Q(phone_hash__in=phones)
    disputes = Dispute.objects.filter(
        station_id=station_id,
        registered_at__gte=start,
        pk__in=Party.objects.filter(match).values("dispute_id"),
    )
    if exclude_dispute is not None:
        disputes = disputes.exclude(pk=exclude_dispute)
    count = disputes.count()
    if phones:
        incidents = Incident.objects.filter(
            station_id=station_id, received_at__gte=start, caller_phone_hash__in=phones
        )
        if exclude_incident is not None:
            incidents = incidents.exclude(pk=exclude_incident)
        count += incidents.count()
    return count


def _start(since: date | datetime) -> datetime:
    if isinstance(since, datetime):
        return since
    return timezone.make_aware(datetime(since.year, since.month, since.day))


@dataclass
class Entry:
    """One complaint on a person's timeline: a dispute or an incident."""

    kind: str  # "dispute" or "incident"
    when: datetime
    object: Any
    label: str  # the number
    category: str
    status: str

    @property
    def number(self) -> str:
        return self.label

    @property
    def day(self) -> date:
        return timezone.localtime(self.when).date()


def _dispute_entry(dispute: Dispute) -> Entry:
    return Entry(
        "dispute",
        dispute.registered_at,
        dispute,
        dispute.number,
        dispute.category.label,
        str(dispute.get_status_display()),
    )


def _incident_entry(incident: Any) -> Entry:
    return Entry(
        "incident",
        incident.received_at,
        incident,
        incident.number,
        str(incident.category),
        str(incident.get_status_display()),
    )


def _timeline(
    user: Any, id_hashes: set[str], phone_hashes: set[str], since: datetime | None = None
) -> list[Entry]:
    from jingwang.incidents.queries import incidents_visible_to

    entries: list[Entry] = []
    match = Q(pk__in=[])
    if id_hashes:
        match |= Q(id_number_hash__in=id_hashes)
    if phone_hashes:
        match |= Q(phone_hash__in=phone_hashes)
    disputes = disputes_visible_to(user).filter(
        pk__in=Party.objects.filter(match).values("dispute_id")
    )
    if since is not None:
        disputes = disputes.filter(registered_at__gte=since)
    entries += [_dispute_entry(d) for d in disputes.select_related("category")]
    if phone_hashes:
        incidents = incidents_visible_to(user).filter(caller_phone_hash__in=phone_hashes)
        if since is not None:
            incidents = incidents.filter(received_at__gte=since)
        entries += [_incident_entry(i) for i in incidents.select_related("category")]
    entries.sort(key=lambda e: (e.when, e.kind, e.object.pk), reverse=True)
    return entries


def party_timeline(user: Any, party: Party) -> list[Entry]:
    """Every dispute (through its parties) and incident (the caller's phone) of the same person
    as ``party`` that the user may see, newest first."""
    ids = {party.id_number_hash} - {""}
    phones = {party.phone_hash} - {""}
    if not ids and not phones:
        dispute = disputes_visible_to(user).filter(pk=party.dispute_id).first()
        return [_dispute_entry(dispute)] if dispute is not None else []
    return _timeline(user, ids, phones)


@dataclass
class Complainant:
    """A person with several complaints in the window, and the list of them."""

    name: str
    party: Party  # the newest party row of theirs (their timeline's page)
    entries: list[Entry] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def disputes(self) -> list[Any]:
        return [e.object for e in self.entries if e.kind == "dispute"]

    @property
    def incidents(self) -> list[Any]:
        return [e.object for e in self.entries if e.kind == "incident"]

    @property
    def last(self) -> datetime:
        return self.entries[0].when


class _Groups:
    """People joined by any hash they share (a party with an ID and a phone joins both)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def repeat_complainants(user: Any, *, months: int, threshold: int) -> list[Complainant]:
    """The parties of disputes the user may see who made ``threshold`` or more complaints
    (disputes and incidents the user may see) in the last ``months`` months, most first;
    a person is one group of ID and phone hashes."""
    from jingwang.disputes.rules import months_before
    from jingwang.incidents.queries import incidents_visible_to

    if threshold <= 0:
        return []
    since = _start(months_before(timezone.localdate(), months))
    disputes = disputes_visible_to(user).filter(registered_at__gte=since)
    parties = list(
        Party.objects.filter(dispute__in=disputes)
        .exclude(id_number_hash="", phone_hash="")
        .select_related("dispute", "dispute__category")
        .order_by("-dispute__registered_at", "-id")
    )
    groups = _Groups()
    for party in parties:
        keys = [f"i:{party.id_number_hash}"] if party.id_number_hash else []
        keys += [f"p:{party.phone_hash}"] if party.phone_hash else []
        for key in keys[1:]:
            groups.join(keys[0], key)
        groups.find(keys[0])
    found: dict[str, Complainant] = {}
    seen: dict[str, set[tuple[str, int]]] = {}
    for party in parties:
        key = groups.find(
            f"i:{party.id_number_hash}" if party.id_number_hash else f"p:{party.phone_hash}"
        )
        person = found.setdefault(key, Complainant(party.name, party))
        marks = seen.setdefault(key, set())
        if ("dispute", party.dispute_id) not in marks:
            marks.add(("dispute", party.dispute_id))
            person.entries.append(_dispute_entry(party.dispute))
    phones = {p.phone_hash for p in parties if p.phone_hash}
    if phones:
        incidents = (
            incidents_visible_to(user)
            .filter(received_at__gte=since, caller_phone_hash__in=phones)
            .select_related("category")
        )
        for incident in incidents:
            key = groups.find(f"p:{incident.caller_phone_hash}")
            marks = seen.setdefault(key, set())
            if key in found and ("incident", incident.pk) not in marks:
                marks.add(("incident", incident.pk))
                found[key].entries.append(_incident_entry(incident))
    flagged = [person for person in found.values() if person.count >= threshold]
    for person in flagged:
        person.entries.sort(key=lambda e: (e.when, e.kind, e.object.pk), reverse=True)
    flagged.sort(key=lambda p: (-p.count, -p.last.timestamp(), p.party.pk))
    return flagged


def repeat_flags(dispute: Dispute) -> dict[int, int]:
    """The dispute's parties who are repeat complainants under the bureau's settings, with
    their complaints in the window in the dispute's station (the flag on the dispute page)."""
    from jingwang.core.config import settings_for
    from jingwang.disputes.models import DisputeSettings
    from jingwang.disputes.rules import months_before

    s = settings_for(dispute.station.bureau_id, DisputeSettings)
    if s.repeat_complaints <= 0:
        return {}
    since = months_before(timezone.localdate(), s.repeat_months)
    flags: dict[int, int] = {}
    for party in dispute.parties.all():
        if not party.id_number_hash and not party.phone_hash:
            continue
        count = complaints_by(
            dispute.station,
            id_hashes=[party.id_number_hash],
            phone_hashes=[party.phone_hash],
            since=since,
        )
        if count >= s.repeat_complaints:
            flags[party.pk] = count
    return flags


# ---------------------------------------------------------------------------------------------
# Overdue disputes and the home panel


def overdue(user: Any) -> QuerySet[Dispute]:
    """Disputes being mediated whose deadline has passed, oldest deadline first."""
    return (
        disputes_visible_to(user)
        .filter(status=Dispute.Status.OPEN, deadline__lt=timezone.localdate())
        .select_related("category", "grid", "station")
        .order_by("deadline", "id")
    )


def disputes_panel(request: Any) -> dict[str, Any] | None:
    """The home panel of those who triage (the chief): the overdue disputes of their scope,
    their count and the first ten. Takes the request or the user (``core.home`` passes the
    user); None (no panel) without disputes.triage or with nothing overdue."""
    user = getattr(request, "user", request)
    if not has_perm(user, Perm.DISPUTES_TRIAGE):
        return None
    rows = overdue(user)
    count = rows.count()
    if not count:
        return None
    return {"count": count, "disputes": list(rows[:PANEL_ROWS]), "more": count > PANEL_ROWS}
