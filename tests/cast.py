"""A fixed cast of users and a small jurisdiction, defined once (Healthchecks' alice/bob/charlie).

Station TC (two blocks in one sector of one district, each block split into two clusters) and
station XX of the same bureau, whose officer and chief must see nothing of TC.

    TC-D1 ─ TC-D1-S1 ─┬─ TC-D1-S1-B1 ─ C1, C2     (grid A: the grid worker's)
                      └─ TC-D1-S1-B2 ─ C1, C2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import shapely
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from jingwang.accounts.models import User
from jingwang.accounts.roles import needs_second_factor
from jingwang.people.models import GridAssignment, Person
from jingwang.territory.models import BaseUnit, Bureau, Community, Grid, GridVersion, Station

PASSWORD = "Grid-Test-2026"


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return shapely.box(x0, y0, x1, y1)


def make_grid(
    version: GridVersion,
    code: str,
    level: str,
    geometry: Any,
    parent: Grid | None = None,
    community: Community | None = None,
    households: int = 100,
) -> Grid:
    grid = Grid(
        station=version.station,
        version=version,
        code=code,
        name=f"{code} name",
        level=level,
        parent=parent,
        community=community,
        households=households,
        population=households * 3,
    )
    grid.set_geometry(geometry)
    grid.save()
    return grid


@dataclass
class World:
    bureau: Bureau
    station: Station
    other_station: Station
    version: GridVersion
    district: Grid
    sector: Grid
    block_a: Grid
    block_b: Grid
    other_block: Grid
    community: Community
    users: dict[str, User]
    people: dict[str, Person]

    def __post_init__(self) -> None:
        # Privileged users (三员, bureau admin) have an authenticator, made with the world so that
        # a test's "nothing changed" snapshot is not disturbed by client() below.
        for user in self.users.values():
            if needs_second_factor(user):
                TOTPDevice.objects.get_or_create(user=user, defaults={"name": "test"})

    def client(self, name: str) -> Client:
        client = Client()
        user = self.users[name]
        client.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            # A privileged session counts once its second factor is verified: mark it so, as
            # django_otp.login() does after a right code (the login pages have their own tests).
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client


ROLES = {
    "bureau_admin": "bureau_admin",
    "chief": "station_chief",
    "officer": "officer",
    "auxiliary": "auxiliary",
    "grid_worker": "grid_worker",
    "mediator": "mediator",
    "volunteer": "volunteer",
    "auditor": "auditor",
    "security_admin": "security_admin",
    "system_admin": "system_admin",
    "other_officer": "officer",
    # An outside member of TC's harmony team (a people's congress deputy): sees only the
    # disputes they are called to.
    "deputy": "mediation_member",
    # The same powers as "chief", over the other station: must reach nothing of TC.
    "other_chief": "station_chief",
}
# Users of station XX.
OTHER_STATION = {"other_officer", "other_chief"}


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: Any) -> World:
    bureau = Bureau.objects.create(code="ST", name="三台县公安局")
    station = Station.objects.create(bureau=bureau, code="TC", name="潼川派出所")
    other = Station.objects.create(bureau=bureau, code="XX", name="其他派出所")
    community = Community(station=station, code="C01", name="东街社区", kind="urban")
    community.set_geometry(box(105.0, 31.0, 105.02, 31.01))
    community.population, community.households = 600, 200
    community.save()
    other_community = Community(station=other, code="C01", name="别处村", kind="village")
    other_community.set_geometry(box(105.5, 31.5, 105.6, 31.6))
    other_community.save()
    version = GridVersion.objects.create(station=station, number=1, is_current=True)
    district = make_grid(
        version, "TC-D1", "district", box(105.0, 31.0, 105.02, 31.01), households=200
    )
    sector = make_grid(
        version, "TC-D1-S1", "sector", box(105.0, 31.0, 105.02, 31.01), district, community, 200
    )
    block_a = make_grid(
        version, "TC-D1-S1-B1", "block", box(105.0, 31.0, 105.01, 31.01), sector, community
    )
    block_b = make_grid(
        version, "TC-D1-S1-B2", "block", box(105.01, 31.0, 105.02, 31.01), sector, community
    )
    for block, x in ((block_a, 105.0), (block_b, 105.01)):
        make_grid(
            version,
            f"{block.code}-C1",
            "cluster",
            box(x, 31.0, x + 0.005, 31.01),
            block,
            community,
            50,
        )
        make_grid(
            version,
            f"{block.code}-C2",
            "cluster",
            box(x + 0.005, 31.0, x + 0.01, 31.01),
            block,
            community,
            50,
        )
    other_version = GridVersion.objects.create(station=other, number=1, is_current=True)
    other_district = make_grid(other_version, "XX-D1", "district", box(105.5, 31.5, 105.6, 31.6))
    other_sector = make_grid(
        other_version, "XX-D1-S1", "sector", box(105.5, 31.5, 105.6, 31.6), other_district
    )
    other_block = make_grid(
        other_version, "XX-D1-S1-B1", "block", box(105.5, 31.5, 105.6, 31.6), other_sector
    )

    users: dict[str, User] = {}
    for name, role in ROLES.items():
        user = User(username=name, role=role, first_name=name)
        if role == "bureau_admin":
            user.bureau = bureau
        elif name in OTHER_STATION:
            user.station = other
        elif role not in ("auditor", "security_admin", "system_admin"):
            user.station = station
        user.set_password(PASSWORD)
        user.save()
        users[name] = user

    def person(
        name: str, kind: str, user: User | None, grid: Grid, role: str, st: Station = station
    ) -> Person:
        p = Person(station=st, name=name, kind=kind, user=user)
        p.id_number = "510722199001011236" if name == "王警官" else ""
        p.phone = "13812345678" if name == "王警官" else ""
        p.save()
        GridAssignment.objects.create(person=p, grid=grid, role=role)
        return p

    people = {
        "officer": person("王警官", "officer", users["officer"], sector, "community_officer"),
        "auxiliary": person("李辅警", "auxiliary", users["auxiliary"], sector, "auxiliary"),
        "grid_worker": person(
            "张网格", "grid_worker", users["grid_worker"], block_a, "grid_worker"
        ),
        "volunteer": person("赵义警", "volunteer", users["volunteer"], block_a, "volunteer"),
        "mediator": person("钱调解", "mediator", users["mediator"], sector, "mediator"),
        "other_officer": person(
            "外所民警", "officer", users["other_officer"], other_block, "community_officer", other
        ),
        "deputy": Person.objects.create(
            station=station, name="孙代表", kind="deputy", user=users["deputy"]
        ),
    }
    return World(
        bureau,
        station,
        other,
        version,
        district,
        sector,
        block_a,
        block_b,
        other_block,
        community,
        users,
        people,
    )


SIZE = 0.002  # degrees: a base unit is a square of about 200 m


@pytest.fixture
def units(world: World) -> list[BaseUnit]:
    """Station TC's territory as 12 × 6 square base units in two communities (west, east).

    Each holds 45–59 households, so a block (300–500) takes 6 to 10 of them.
    """
    return make_units(world)


def make_units(world: World) -> list[BaseUnit]:
    """See the ``units`` fixture."""
    west, east = (
        world.community,
        Community(station=world.station, code="C02", name="西街社区", kind="urban"),
    )
    east.set_geometry(shapely.box(105.012, 31.0, 105.024, 31.012))
    east.save()
    west.set_geometry(shapely.box(105.0, 31.0, 105.012, 31.012))
    west.save()
    rows = []
    for i in range(12):
        for j in range(6):
            unit = BaseUnit(
                station=world.station,
                community=west if i < 6 else east,
                code=f"U{i:02d}{j:02d}",
                name=f"{i}-{j}号楼",
                kind="urban",
                households=45 + (i * 7 + j * 3) % 15,
            )
            unit.population = unit.households * 3
            unit.set_geometry(
                shapely.box(
                    105.0 + i * SIZE, 31.0 + j * SIZE, 105.0 + (i + 1) * SIZE, 31.0 + (j + 1) * SIZE
                )
            )
            rows.append(unit)
    BaseUnit.objects.bulk_create(rows)
    return rows
