"""A fixed cast of users and a small jurisdiction, defined once (Healthchecks' alice/bob/charlie).

Station TC (two blocks in one sector of one district, each block split into two clusters) and
station XX of the same bureau, whose officer and chief must see nothing of TC.

    TC-D1 ─ TC-D1-S1 ─┬─ TC-D1-S1-B1 ─ C1, C2     (grid A: the grid worker's)
                      └─ TC-D1-S1-B2 ─ C1, C2

The cast is built once per test process and copied into each test (``world``); rows a test
needs before it starts can be made once and copied the same way (``prepared``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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
    """The cast, built once per test process and copied into each test's database.

    The first test to ask for it builds it (``build_world``); its rows are then inserted as they
    were into each later test's transaction (rolled back with the test, as any row), and its
    Python objects deep-copied, as ``TestCase.setUpTestData`` does. A test that changed a
    setting the rows depend on (a hasher, a key), or made rows of its own first whose ids the
    copy would take, gets a world built afresh.
    """
    return _WORLDS.get()


def build_world() -> World:
    """The cast, made row by row (see ``world``)."""
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


class _Copies:
    """Worlds built once per test process, with the rows they made, by the settings in force."""

    # Settings the cast's rows do not depend on, that tests set to a file or server of their own.
    IGNORED_SUFFIXES = ("_FILE", "_URL")

    def __init__(self) -> None:
        self.built: dict[tuple[Any, ...], tuple[World, list[tuple[Any, list[Any]]]] | None] = {}

    def key(self) -> tuple[Any, ...]:
        from django.conf import settings
        from django.db import connection

        from jingwang.lib import pii

        names = [n for n in dir(settings) if n.isupper() and not n.endswith(self.IGNORED_SUFFIXES)]
        return (
            connection.vendor,
            connection.settings_dict["NAME"],
            repr(sorted(pii._keys.items())),  # the personal-data keys in force
            tuple((n, repr(getattr(settings, n))) for n in sorted(names)),
        )

    def get(self) -> World:
        import copy

        from django.db import IntegrityError, transaction

        key = self.key()
        if key not in self.built:
            before = _all_rows()
            world = build_world()
            self.built[key] = _made_rows(before, _all_rows(), copy.deepcopy(world))
            return world
        found = self.built[key]
        if found is None:
            return build_world()
        template, rows = found
        try:
            with transaction.atomic():
                _insert(rows)
        except IntegrityError:  # ids the test's own rows already hold: build it row by row
            return build_world()
        return copy.deepcopy(template)


def _models() -> list[Any]:
    from django.apps import apps

    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]


def _all_rows() -> dict[Any, dict[Any, Any]]:
    """Every row of every table, by model and primary key."""
    return {m: {row.pk: row for row in m._base_manager.order_by()} for m in _models()}


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, f.attname) for f in row._meta.concrete_fields)


def _made_rows(
    before: dict[Any, dict[Any, Any]], after: dict[Any, dict[Any, Any]], world: World
) -> tuple[World, list[tuple[Any, list[Any]]]] | None:
    """The rows building ``world`` added, or None when a copy of them would not be the same
    world: it changed or removed rows, or its rows point at rows it did not make."""
    made: dict[Any, dict[Any, Any]] = {}
    for model, rows in after.items():
        old = before[model]
        if any(pk not in rows or _values(rows[pk]) != _values(row) for pk, row in old.items()):
            return None
        new = {pk: row for pk, row in rows.items() if pk not in old}
        if new:
            made[model] = new
    for model, rows in made.items():
        for f in model._meta.concrete_fields:
            if not f.is_relation or not f.many_to_one and not f.one_to_one:
                continue
            target = f.remote_field.model._meta.concrete_model
            if f.target_field != target._meta.pk:
                return None
            known = made.get(target, {})
            if any(getattr(r, f.attname) not in (None, *known) for r in rows.values()):
                return None
    return world, [(model, list(rows.values())) for model, rows in made.items()]


def _insert(rows: list[tuple[Any, list[Any]]]) -> None:
    """Insert the rows as they were read (ids included), then move the id sequences past them
    (PostgreSQL; SQLite's follow by themselves)."""
    from django.core.management.color import no_style
    from django.db import connection

    for model, objs in rows:
        fields = model._meta.local_concrete_fields
        for start in range(0, len(objs), 100):
            model._base_manager._insert(objs[start : start + 100], fields=fields, raw=True)
    statements = connection.ops.sequence_reset_sql(no_style(), [model for model, _ in rows])
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


_WORLDS = _Copies()


T = TypeVar("T")
# A table's rows as the database stores them, by primary key.
Rows = dict[Any, tuple[Any, ...]]


def prepared(name: str, build: Callable[[], T]) -> T:
    """``build()``: rows a test needs before it starts (a dispute on its track, an agreement),
    made through the actions once per test process and then copied.

    The first time, ``build`` runs and what it changed in the database is kept, with the state
    it started from and (deep-copied) what it returned. A later call with the same ``name``
    that finds the database in exactly that state (every row of every table) makes the same
    changes row by row and returns a copy; from any other state, ``build`` runs again. So the
    copy is what ``build`` would have made, ids and audit events included.
    """
    import copy

    from django.db import IntegrityError, transaction
    from django.utils import timezone

    key = (_WORLDS.key(), timezone.localdate(), name)  # "due today" is of the day it was made
    before = _state()
    kept = _PREPARED.setdefault(key, [])
    for state, changes, made in kept:
        if state == before:
            try:
                with transaction.atomic():
                    _apply(changes)
            except IntegrityError:
                break
            return copy.deepcopy(made)
    result = build()
    if len(kept) < 4:
        after = _state()
        changes = {
            table: ([pk for pk in rows if pk not in after[table]], _changed(rows, after[table]))
            for table, rows in before.items()
            if after[table] != rows
        }
        kept.append((before, changes, copy.deepcopy(result)))
    return result


_PREPARED: dict[tuple[Any, ...], list[tuple[Any, Any, Any]]] = {}
_TABLES: dict[str, list[tuple[Any, list[str], str]]] = {}


def _tables() -> list[tuple[Any, list[str], str]]:
    """(model, columns with the primary key first, the query of all its rows) of each table."""
    from django.db import connection

    if connection.vendor not in _TABLES:
        quote = connection.ops.quote_name
        found = []
        for model in _models():
            pk = model._meta.pk.column
            columns = [pk] + [f.column for f in model._meta.concrete_fields if f.column != pk]
            names = ", ".join(quote(c) for c in columns)
            sql = f"SELECT {names} FROM {quote(model._meta.db_table)} ORDER BY {quote(pk)}"
            found.append((model, columns, sql))
        _TABLES[connection.vendor] = found
    return _TABLES[connection.vendor]


def _state() -> dict[str, Rows]:
    from django.db import connection

    state = {}
    with connection.cursor() as cursor:
        for model, _columns, sql in _tables():
            cursor.execute(sql)
            state[model._meta.db_table] = {row[0]: tuple(row) for row in cursor.fetchall()}
    return state


def _changed(before: Rows, after: Rows) -> list[tuple[Any, ...]]:
    return [row for pk, row in after.items() if before.get(pk) != row]


def _apply(changes: dict[str, tuple[list[Any], list[tuple[Any, ...]]]]) -> None:
    """Delete, update and insert rows as ``prepared`` recorded them."""
    from django.core.management.color import no_style
    from django.db import connection

    quote = connection.ops.quote_name
    inserted = []
    with connection.cursor() as cursor:
        for model, columns, _sql in _tables():
            table = model._meta.db_table
            if table not in changes:
                continue
            deleted, rows = changes[table]
            pk = quote(columns[0])
            for key in deleted:
                cursor.execute(f"DELETE FROM {quote(table)} WHERE {pk} = %s", [key])
            cursor.execute(f"SELECT {pk} FROM {quote(table)}")
            present = {row[0] for row in cursor.fetchall()}
            names = ", ".join(quote(c) for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            sets = ", ".join(f"{quote(c)} = %s" for c in columns[1:])
            for row in rows:
                if row[0] in present:
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {sets} WHERE {pk} = %s",
                        [
                            *row[1:],
                            row[0],
                        ],
                    )
                else:
                    cursor.execute(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", row)
                    inserted.append(model)
        for sql in connection.ops.sequence_reset_sql(no_style(), list(set(inserted))):
            cursor.execute(sql)


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
