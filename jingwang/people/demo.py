"""People's demo data: officers, auxiliaries, grid workers, mediators, the harmony team and
volunteers of every station, their grid assignments and committee posts.

Django-free, like every demo generator (``jingwang.demo.registry``); ``load`` writes it. Each
station's people come from its own stream (``"{seed}:{station}:people"``) over the grids that
territory generated. Names, ID and phone numbers are synthetic (``jingwang.demo.synthetic``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from jingwang.demo import synthetic
from jingwang.territory.demo import GridData, StationTerritory, TerritoryDemo, TerritoryRows

if TYPE_CHECKING:
    from jingwang.accounts.models import User
    from jingwang.demo.generate import Context
    from jingwang.demo.load import Loading


@dataclass(frozen=True)
class PeopleSpec:
    volunteers_per_district: int = 2
    mediators: int = 2
    harmony_team: dict[str, int] = field(  # person kind → how many
        default_factory=lambda: {"deputy": 1, "cppcc_member": 1, "conduct_supervisor": 1}
    )
    gaps: bool = False  # leave a few blocks uncovered on purpose, for the coverage page


# Per station code; a station not named here gets the defaults.
STATIONS: dict[str, PeopleSpec] = {
    "TC": PeopleSpec(
        volunteers_per_district=3,
        mediators=3,
        harmony_team={
            "deputy": 2,
            "cppcc_member": 2,
            "conduct_supervisor": 2,
            "judicial_office": 1,
            "law_enforcement": 1,
        },
        gaps=True,
    ),
    "LX": PeopleSpec(),
    "XD": PeopleSpec(),
}


@dataclass
class PersonData:
    key: str  # unique in the demo, e.g. "TC/officer/3"
    kind: str
    name: str
    badge_number: str
    id_number: str
    phone: str


@dataclass
class AssignmentData:
    person: str  # person key
    grid: str  # grid code
    role: str
    since: date


@dataclass
class PostData:
    person: str
    community: str
    title: str
    since: date


COMMITTEE_TITLES = {
    "urban": ("社区党委副书记", "综治委员", "居委会副主任", "治保会主任"),
    "village": ("村党支部副书记", "综治委员", "村委会副主任", "治保会主任"),
}


@dataclass
class PeopleStation:
    code: str
    people: list[PersonData]
    assignments: list[AssignmentData]
    posts: list[PostData]
    # Blocks left uncovered on purpose (grid code → missing roles), shown by the coverage page.
    gaps: dict[str, list[str]]
    # Who plays each role the demo accounts log in as (role → person key): the station chief,
    # and the officer, auxiliary, grid worker and volunteer of the accounts' corner of the map
    # (the first sector of the first district, its first block), and the first mediator.
    role_people: dict[str, str]


@dataclass
class PeopleDemo:
    stations: list[PeopleStation]

    def station(self, code: str) -> PeopleStation:
        return next(station for station in self.stations if station.code == code)

    def person(self, key: str) -> PersonData:
        return next(p for station in self.stations for p in station.people if p.key == key)

    def counts(self) -> dict[str, int]:
        return {
            "people": sum(len(s.people) for s in self.stations),
            "assignments": sum(len(s.assignments) for s in self.stations),
            "committee_posts": sum(len(s.posts) for s in self.stations),
        }

    def fingerprint(self) -> Iterator[Sequence[object]]:
        for s in self.stations:
            yield "station", s.code, sorted(s.gaps.items()), sorted(s.role_people.items())
            for p in s.people:
                yield p.key, p.kind, p.name, p.badge_number, p.id_number, p.phone
            for a in s.assignments:
                yield a.person, a.grid, a.role, a.since
            for post in s.posts:
                yield post.person, post.community, post.title, post.since


# ── the generator and the loader (jingwang.demo.registry) ───────────────────────────────────


def generate(ctx: Context) -> PeopleDemo:
    territory = ctx.part("territory", TerritoryDemo)
    return PeopleDemo(
        [
            _build_people(
                station,
                STATIONS.get(station.code, PeopleSpec()),
                territory.area_code,
                ctx.random(station.code, "people"),
            )
            for station in territory.stations
        ]
    )


@dataclass
class PeopleRows:
    """What the people loader wrote: person ids by key, for the parts loaded after it."""

    person_ids: dict[str, int]

    def link_user(self, person_key: str, user: User) -> None:
        """Make ``user`` the login of the demo person ``person_key``."""
        from jingwang.people.models import Person

        Person.objects.filter(pk=self.person_ids[person_key]).update(user=user)


def load(part: PeopleDemo, loading: Loading) -> PeopleRows:
    from jingwang.people.models import CommitteePost, GridAssignment, Person

    territory = loading.get("territory", TerritoryRows)
    person_ids: dict[str, int] = {}
    for data in part.stations:
        station = territory.stations[data.code]
        people = []
        for p in data.people:
            person = Person(station=station, kind=p.kind, name=p.name, badge_number=p.badge_number)
            person.id_number = p.id_number
            person.phone = p.phone
            people.append(person)
        rows = Person.objects.bulk_create(people)
        person_ids.update((p.key, row.pk) for p, row in zip(data.people, rows, strict=True))
        GridAssignment.objects.bulk_create(
            GridAssignment(
                person_id=person_ids[a.person],
                grid_id=territory.grid_ids[a.grid],
                role=a.role,
                since=a.since,
            )
            for a in data.assignments
        )
        CommitteePost.objects.bulk_create(
            CommitteePost(
                person_id=person_ids[post.person],
                community_id=territory.community_ids[post.community],
                title=post.title,
                since=post.since,
            )
            for post in data.posts
        )
    return PeopleRows(person_ids)


# ── one station ─────────────────────────────────────────────────────────────────────────────


def _build_people(
    station: StationTerritory, spec: PeopleSpec, area: str, rng: random.Random
) -> PeopleStation:
    """Officers, auxiliaries, grid workers and the rest, assigned so that every block is covered
    except the deliberate gaps (``spec.gaps``: Tongchuan only)."""
    code, communities, grids = station.code, station.communities, station.grids
    people: list[PersonData] = []
    assignments: list[AssignmentData] = []
    posts: list[PostData] = []
    names: set[str] = set()
    ids: set[str] = set()
    phones: set[str] = set()
    badges: set[str] = set()
    counter: dict[str, int] = defaultdict(int)

    def person(kind: str, years: tuple[int, int], male_share: float) -> PersonData:
        male = rng.random() < male_share
        counter[kind] += 1
        badge = ""
        if kind in ("officer", "auxiliary"):
            while not badge or badge in badges:
                badge = (
                    f"{rng.randint(100000, 999999)}"
                    if kind == "officer"
                    else f"F{rng.randint(0, 99999):05d}"
                )
            badges.add(badge)
        p = PersonData(
            key=f"{code}/{kind}/{counter[kind]}",
            kind=kind,
            name=synthetic.person_name(rng, names, male=male),
            badge_number=badge,
            id_number=synthetic.id_number(rng, ids, area, years, male=male),
            phone=synthetic.phone(rng, phones),
        )
        people.append(p)
        return p

    def since() -> date:
        return date(2023, 3, 1) + timedelta(days=rng.randint(0, 640))

    def assign(p: PersonData, grid: GridData, role: str) -> None:
        assignments.append(AssignmentData(p.key, grid.code, role, since()))

    districts = [g for g in grids if g.level == "district"]
    sectors = [g for g in grids if g.level == "sector"]
    blocks = [g for g in grids if g.level == "block"]
    kind_of = {c.code: c.kind for c in communities}
    blocks_of: dict[str, list[GridData]] = defaultdict(list)
    for block in blocks:
        assert block.parent is not None
        blocks_of[block.parent].append(block)
    district_of = {s.code: s.parent for s in sectors}

    # The accounts' corner of the map: the first sector of the first district, its first block.
    home_sector = sectors[0]
    home_block = blocks_of[home_sector.code][0]

    # Deliberate gaps (Tongchuan only): one village sector without its auxiliary (two blocks),
    # and two more blocks, one in town and one in a village, without a grid worker.
    no_auxiliary: set[str] = set()
    no_grid_worker: set[str] = set()
    if spec.gaps:
        villages = [s for s in sectors if kind_of[s.community or ""] == "village"]
        pairs = [s for s in villages if len(blocks_of[s.code]) == 2] or villages
        gap_sector = rng.choice(pairs)
        no_auxiliary.add(gap_sector.code)
        town_blocks = [
            b
            for b in blocks
            if kind_of[b.community or ""] == "urban"
            and district_of[b.parent or ""] != home_sector.parent
        ]
        village_blocks = [
            b
            for b in blocks
            if kind_of[b.community or ""] == "village"
            and district_of[b.parent or ""] != district_of[gap_sector.code]
        ]
        no_grid_worker.add(rng.choice(town_blocks).code)
        no_grid_worker.add(rng.choice(village_blocks).code)

    role_people: dict[str, str] = {}
    chief = person("officer", (1972, 1984), 0.9)
    role_people["station_chief"] = chief.key
    officers = {}
    for sector in sectors:
        officers[sector.code] = officer = person("officer", (1970, 1998), 0.85)
        assign(officer, sector, "community_officer")
    for sector in sectors:
        if sector.code in no_auxiliary:
            continue
        auxiliary = person("auxiliary", (1985, 2003), 0.75)
        assign(auxiliary, sector, "auxiliary")
        if sector is home_sector:
            role_people["auxiliary"] = auxiliary.key
    role_people["officer"] = officers[home_sector.code].key
    for block in blocks:
        if block.code in no_grid_worker:
            continue
        worker = person("grid_worker", (1970, 2000), 0.4)
        assign(worker, block, "grid_worker")
        if block is home_block:
            role_people["grid_worker"] = worker.key
    for m in range(spec.mediators):
        mediator = person("mediator", (1958, 1972), 0.6)
        for d, district in enumerate(districts):
            if d % spec.mediators == m:
                assign(mediator, district, "mediator")
        if m == 0:
            role_people["mediator"] = mediator.key
    for kind, n in spec.harmony_team.items():
        for _ in range(n):
            person(kind, (1960, 1985), 0.65)
    for district in districts:
        pool = [b for s in sectors if s.parent == district.code for b in blocks_of[s.code]]
        chosen = rng.sample(pool, min(spec.volunteers_per_district, len(pool)))
        if district.code == home_sector.parent and home_block not in chosen:
            chosen[0] = home_block
        for block in chosen:
            volunteer = person("volunteer", (1958, 2005), 0.65)
            assign(volunteer, block, "volunteer")
            if block is home_block and "volunteer" not in role_people:
                role_people["volunteer"] = volunteer.key

    # Committee posts (村社班子任职): the home officer and every third community's officer.
    seen: set[str] = set()
    for n, sector in enumerate(sectors):
        community = sector.community or ""
        if community in seen or not (sector is home_sector or n % 3 == 2):
            continue
        seen.add(community)
        title = rng.choice(COMMITTEE_TITLES[kind_of[community]])
        posts.append(PostData(officers[sector.code].key, community, title, since()))

    gaps: dict[str, list[str]] = defaultdict(list)
    for block in blocks:
        if block.parent in no_auxiliary:
            gaps[block.code].append("auxiliary")
        if block.code in no_grid_worker:
            gaps[block.code].append("grid_worker")
    return PeopleStation(code, people, assignments, posts, dict(gaps), role_people)
