"""Write the generated demo to the database, once.

``load()`` does nothing when the demo bureau (code ``ST``) is already there: running ``demo``
again keeps whatever the previous run, and anyone since, put in. Everything else is one
transaction: a failed load leaves nothing behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction

from jingwang.accounts.models import User
from jingwang.audit.actions import record
from jingwang.demo.generate import ACCOUNTS, BUREAU_CODE, DEFAULT_SEED, Demo, generate
from jingwang.people.models import CommitteePost, GridAssignment, Person
from jingwang.territory.models import (
    BaseUnit,
    Bureau,
    Community,
    Grid,
    GridVersion,
    Shaped,
    Station,
)

_S = TypeVar("_S", bound=Shaped)


class DemoConflict(Exception):
    """The database holds stations or accounts the demo would collide with (not the demo)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass
class Loaded:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def is_loaded() -> bool:
    return Bureau.objects.filter(code=BUREAU_CODE).exists()


def load(
    demo: Demo | None = None, *, seed: int = DEFAULT_SEED, stations: list[str] | None = None
) -> Loaded:
    """Load the demo unless its bureau exists. Returns what was created and how long it took."""
    started = time.perf_counter()
    if is_loaded():
        return Loaded(created=False)
    if demo is None:
        demo = generate(seed, stations)
    _check_conflicts(demo)
    with transaction.atomic():
        _write(demo)
        counts = demo.counts()
        record(None, "load_demo", detail={"seed": demo.seed, **counts})
    return Loaded(created=True, counts=counts, seconds=time.perf_counter() - started)


def demo_accounts() -> list[dict[str, Any]]:
    """The demo accounts as they are in the database, in the order of ``ACCOUNTS``."""
    users = {
        user.username: user
        for user in User.objects.filter(username__in=[a.username for a in ACCOUNTS]).select_related(
            "station", "bureau"
        )
    }
    rows = []
    for spec in ACCOUNTS:
        user = users.get(spec.username)
        if user is not None:
            rows.append(
                {
                    "username": user.username,
                    "role": user.role,
                    "bureau": str(user.bureau or ""),
                    "station": str(user.station or ""),
                    "name": user.display_name,
                }
            )
    return rows


def _check_conflicts(demo: Demo) -> None:
    codes = [station.code for station in demo.stations]
    usernames = [account.username for account in demo.accounts]
    taken = sorted(Station.objects.filter(code__in=codes).values_list("code", flat=True))
    taken += sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DemoConflict(taken)


def _shaped(row: _S, data: Any) -> _S:
    row.set_geometry(data.geometry)
    row.households = data.households
    row.population = data.population
    row.complexity = data.complexity
    return row


def _write(demo: Demo) -> None:
    bureau = Bureau.objects.create(code=demo.bureau_code, name=demo.bureau_name)
    stations = {
        data.code: Station.objects.create(bureau=bureau, code=data.code, name=data.name)
        for data in demo.stations
    }

    # Accounts first: people point at them.
    people_of = {a.person: a for a in demo.accounts if a.person}
    users: dict[str, User] = {}
    for account in demo.accounts:
        user = User(
            username=account.username,
            role=account.role,
            first_name=account.name,
            bureau=bureau if account.bureau else None,
            station=stations[account.station] if account.station else None,
        )
        user.set_password(demo.password)
        user.save()
        users[account.username] = user

    for data in demo.stations:
        station = stations[data.code]
        communities = Community.objects.bulk_create(
            _shaped(
                Community(
                    station=station,
                    code=c.code,
                    name=c.name,
                    kind=c.kind,
                    community_type=c.community_type,
                ),
                c,
            )
            for c in data.communities
        )
        community_ids = {c.code: c.pk for c in communities}
        BaseUnit.objects.bulk_create(
            (
                _shaped(
                    BaseUnit(
                        station=station,
                        community_id=community_ids[u.community],
                        code=u.code,
                        name=u.name,
                        kind=u.kind,
                    ),
                    u,
                )
                for u in data.units
            ),
            batch_size=500,
        )
        version = GridVersion.objects.create(
            station=station, number=1, is_current=True, note="演示数据 (demo)"
        )
        grid_ids: dict[str, int] = {}
        for level in Grid.LEVEL_ORDER:
            rows = Grid.objects.bulk_create(
                (
                    _shaped(
                        Grid(
                            station=station,
                            version=version,
                            parent_id=grid_ids[g.parent] if g.parent else None,
                            community_id=community_ids[g.community] if g.community else None,
                            level=g.level,
                            code=g.code,
                            name=g.name,
                        ),
                        g,
                    )
                    for g in data.grids
                    if g.level == level
                ),
                batch_size=500,
            )
            grid_ids.update((row.code, row.pk) for row in rows)

        people = []
        for p in data.people:
            person_account = people_of.get(p.key)
            person = Person(
                station=station,
                kind=p.kind,
                name=p.name,
                badge_number=p.badge_number,
                user=users[person_account.username] if person_account else None,
            )
            person.set_id_number(p.id_number)
            person.set_phone(p.phone)
            people.append(person)
        people = Person.objects.bulk_create(people)
        person_ids = {p.key: row.pk for p, row in zip(data.people, people, strict=True)}
        GridAssignment.objects.bulk_create(
            GridAssignment(
                person_id=person_ids[a.person], grid_id=grid_ids[a.grid], role=a.role, since=a.since
            )
            for a in data.assignments
        )
        CommitteePost.objects.bulk_create(
            CommitteePost(
                person_id=person_ids[post.person],
                community_id=community_ids[post.community],
                title=post.title,
                since=post.since,
            )
            for post in data.posts
        )
