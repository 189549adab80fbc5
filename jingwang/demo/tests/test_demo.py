"""The demo jurisdiction: deterministic, plausible, complete, loaded once.

Most checks run on the generated data (no database); one test loads it, runs the command twice
and reads coverage back through the pages' own query. Each app generates its own part
(territory, people, accounts: ``jingwang.demo.registry``).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.test import Client

from jingwang.accounts import otp
from jingwang.accounts.demo import ACCOUNTS, PASSWORD, AccountsDemo
from jingwang.accounts.models import User
from jingwang.accounts.roles import Role
from jingwang.audit.models import AuditEvent
from jingwang.demo import registry
from jingwang.demo.generate import Context, Demo, generate
from jingwang.lib import pii
from jingwang.lib.geo import area_km2
from jingwang.people.demo import PeopleDemo, PeopleStation
from jingwang.people.models import CommitteePost, GridAssignment, Person
from jingwang.people.queries import coverage_gaps
from jingwang.territory.demo import RURAL_BLOCK, URBAN_BLOCK, StationTerritory, TerritoryDemo
from jingwang.territory.models import BaseUnit, Bureau, Community, Grid, GridVersion, Station

# The deliberate gaps of Tongchuan: a village sector (高峰村) without its auxiliary, so both of its
# blocks, and one town and one village block without a grid worker.
TC_GAPS = {
    "TC-D02-S05-B02": ["grid_worker"],  # 北坝二组
    "TC-D03-S03-B04": ["grid_worker"],  # 新华四组
    "TC-D04-S05-B01": ["auxiliary"],  # 高峰一组
    "TC-D04-S05-B02": ["auxiliary"],  # 高峰二组
}
LEVELS = ["district", "sector", "block", "cluster"]


@cache
def demo() -> Demo:
    return generate()


def territory(of: Demo | None = None) -> TerritoryDemo:
    return (of or demo()).part("territory", TerritoryDemo)


def people(of: Demo | None = None) -> PeopleDemo:
    return (of or demo()).part("people", PeopleDemo)


def accounts() -> AccountsDemo:
    return demo().part("accounts", AccountsDemo)


def tc() -> StationTerritory:
    return territory().station("TC")


def tc_people() -> PeopleStation:
    return people().station("TC")


def kinds(station: StationTerritory) -> dict[str, str]:
    return {c.code: c.kind for c in station.communities}


# ── territory ───────────────────────────────────────────────────────────────────────────────


def test_tongchuan_has_13_villages_and_10_communities() -> None:
    counts = Counter(c.kind for c in tc().communities)
    assert counts == {"village": 13, "urban": 10}
    assert tc().name == "潼川派出所"
    assert territory().bureau_name == "三台县公安局"
    assert [s.code for s in territory().stations] == ["TC", "LX", "XD"]
    for other in territory().stations[1:]:
        assert 3 <= len(other.communities) <= 5


def test_figures_are_in_realistic_ranges() -> None:
    station = tc()
    assert 1000 <= len(station.units) <= 1800
    for c in station.communities:
        area = area_km2(c.geometry)
        ratio = c.population / c.households
        if c.kind == "urban":
            assert 0.3 <= area <= 1.0, c.name
            assert 2000 <= c.households <= 5000, c.name
            assert 2.6 <= ratio <= 2.9, c.name
            assert c.community_type in {"residential", "commercial", "mixed", "campus"}
        else:
            assert 4 <= area <= 12, c.name
            assert 400 <= c.households <= 1200, c.name
            assert 3.0 <= ratio <= 3.4, c.name
            assert c.community_type in {"rural", "industrial"}
    # Dense town, sparse countryside.
    density = {c.kind: c.population / area_km2(c.geometry) for c in station.communities}
    assert density["urban"] > 10 * density["village"]
    for s in territory().stations:
        for u in s.units:
            low = 20 if u.kind == "urban" else 25
            assert low <= u.households <= 50, u.code
            assert 0 <= u.complexity <= 1
            assert u.population > u.households


def test_commercial_areas_are_more_complex() -> None:
    by_type: dict[str, list[float]] = defaultdict(list)
    for c in tc().communities:
        by_type[c.community_type].append(c.complexity)
    mean = {t: sum(v) / len(v) for t, v in by_type.items()}
    assert mean["commercial"] > mean["residential"] > mean["rural"]


def test_stations_do_not_overlap() -> None:
    outlines = [
        shapely.union_all([c.geometry for c in s.communities]) for s in territory().stations
    ]
    for i, a in enumerate(outlines):
        for b in outlines[i + 1 :]:
            assert not a.intersects(b)


@pytest.mark.parametrize("code", ["TC", "LX", "XD"])
def test_base_units_tile_their_communities(code: str) -> None:
    station = territory().station(code)
    units = [u.geometry for u in station.units]
    assert all(g.geom_type == "Polygon" and g.is_valid for g in units)
    # An exact coverage: no overlaps, shared edges with identical vertices.
    assert shapely.coverage_is_valid(units)
    assert shapely.coverage_is_valid([c.geometry for c in station.communities])
    by_community = defaultdict(list)
    for u in station.units:
        by_community[u.community].append(u)
    for c in station.communities:
        members = by_community[c.code]
        assert c.geometry.geom_type == "Polygon" and c.geometry.is_valid
        assert shapely.union_all([u.geometry for u in members]).equals(c.geometry)
        assert c.households == sum(u.households for u in members)
        assert c.population == sum(u.population for u in members)
    assert len({u.code for u in station.units}) == len(station.units)


# ── grids ───────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("code", ["TC", "LX", "XD"])
def test_grid_hierarchy_is_complete_and_consistent(code: str) -> None:
    station = territory().station(code)
    grids = {g.code: g for g in station.grids}
    assert len(grids) == len(station.grids)
    assert {g.level for g in station.grids} == set(LEVELS)
    children = defaultdict(list)
    for g in station.grids:
        assert g.code.startswith(f"{code}-")
        assert g.geometry.geom_type == "Polygon" and g.geometry.is_valid, g.code
        if g.level == "district":
            assert g.parent is None and g.community is None
            continue
        assert g.parent is not None
        parent = grids[g.parent]  # the parent exists, one level up, in the same station
        assert LEVELS.index(parent.level) == LEVELS.index(g.level) - 1
        assert g.code.startswith(parent.code + "-")
        assert g.community is not None
        if parent.level != "district":
            assert g.community == parent.community  # nothing crosses a community boundary
        children[g.parent].append(g)
    units = {u.code: u for u in station.units}
    for g in station.grids:
        if g.level == "cluster":
            assert not children[g.code]
            continue
        kids = children[g.code]
        assert kids, g.code
        # Figures of a parent are the sums of its children, its shape their union.
        assert g.households == sum(k.households for k in kids)
        assert g.population == sum(k.population for k in kids)
        assert sorted(g.units) == sorted(u for k in kids for u in k.units)
        weighted = sum(k.complexity * k.households for k in kids) / g.households
        assert math.isclose(g.complexity, weighted, abs_tol=1e-3)
        assert shapely.union_all([k.geometry for k in kids]).equals(g.geometry)
        assert shapely.coverage_is_valid([k.geometry for k in kids])
    for g in station.grids:
        assert g.households == sum(units[u].households for u in g.units)
    # Every base unit is in exactly one cluster, and the clusters cover the communities.
    clustered = Counter(u for g in station.grids if g.level == "cluster" for u in g.units)
    assert set(clustered) == set(units) and set(clustered.values()) == {1}
    districts = [g.geometry for g in station.grids if g.level == "district"]
    whole = shapely.union_all([c.geometry for c in station.communities])
    assert shapely.union_all(districts).equals(whole)
    # Sectors: one per community, or two for a big town community.
    per_community = Counter(g.community for g in station.grids if g.level == "sector")
    assert set(per_community) == {c.code for c in station.communities}
    assert set(per_community.values()) <= {1, 2}


def test_tongchuan_levels_and_names() -> None:
    station = tc()
    levels = Counter(g.level for g in station.grids)
    assert levels["district"] == 4
    assert 23 <= levels["sector"] <= 26
    assert 2 in Counter(g.community for g in station.grids if g.level == "sector").values()
    names = {g.code: g.name for g in station.grids}
    assert names["TC-D01"] == "第一警务区（城东）"
    assert names["TC-D01-S01"] == "东街片"
    assert names["TC-D01-S01-B01"] == "东街一组"
    assert names["TC-D01-S01-B01-C01"] == "东街一组第1群"


@pytest.mark.parametrize("code", ["TC", "LX", "XD"])
def test_blocks_are_contiguous_and_within_their_household_range(code: str) -> None:
    station = territory().station(code)
    kind = kinds(station)
    for g in station.grids:
        if g.level != "block":
            continue
        assert g.community is not None
        _target, low, high = URBAN_BLOCK if kind[g.community] == "urban" else RURAL_BLOCK
        assert low <= g.households <= high, (g.code, g.households)
        assert g.geometry.geom_type == "Polygon"  # contiguous


def test_clusters_are_one_unit_or_two_adjacent_ones() -> None:
    for station in territory().stations:
        units = {u.code: u for u in station.units}
        sizes: Counter[int] = Counter()
        for g in station.grids:
            if g.level != "cluster":
                continue
            sizes[len(g.units)] += 1
            assert 10 <= g.households <= 50
            if len(g.units) == 2:
                a, b = (units[u].geometry for u in g.units)
                assert a.intersection(b).length > 0  # a shared edge, not a corner
        assert set(sizes) <= {1, 2}


# ── people ──────────────────────────────────────────────────────────────────────────────────


def test_people_have_valid_synthetic_id_and_phone_numbers() -> None:
    everyone = [p for s in people().stations for p in s.people]
    assert len({p.id_number for p in everyone}) == len(everyone)
    assert len({p.phone for p in everyone}) == len(everyone)
    assert len({p.key for p in everyone}) == len(everyone)
    for p in everyone:
        assert pii.id_number_error(p.id_number) is None, p.id_number
        assert p.id_number.startswith("510722")
        assert pii.phone_error(p.phone) is None, p.phone
        assert 2 <= len(p.name) <= 3


def test_assignments_fit_the_roles_and_the_article() -> None:
    for place in territory().stations:
        station = people().station(place.code)
        by_key = {p.key: p for p in station.people}
        grids = {g.code: g for g in place.grids}
        levels: dict[str, set[str]] = defaultdict(set)
        for a in station.assignments:
            assert by_key[a.person].kind in GridAssignment.ALLOWED_KINDS[a.role]
            levels[a.role].add(grids[a.grid].level)
        assert levels["community_officer"] == {"sector"}
        assert levels["auxiliary"] == {"sector"}
        assert levels["grid_worker"] == {"block"}
        assert levels["volunteer"] == {"block"}
        assert levels["mediator"] == {"district"}
        kinds_here = Counter(p.kind for p in station.people)
        assert kinds_here["mediator"] >= 2
        assert (
            kinds_here["deputy"] and kinds_here["cppcc_member"] and kinds_here["conduct_supervisor"]
        )
        # Several community officers hold a post on their own community's committee.
        officer_of = {
            a.person: grids[a.grid].community
            for a in station.assignments
            if a.role == "community_officer"
        }
        assert station.posts
        for post in station.posts:
            assert officer_of[post.person] == post.community
    assert len(tc_people().posts) >= 5


def expected_gaps(code: str) -> dict[str, list[str]]:
    """Blocks lacking a role on themselves or above, computed the way coverage_gaps does."""
    place, station = territory().station(code), people().station(code)
    grids = {g.code: g for g in place.grids}
    roles = defaultdict(set)
    for a in station.assignments:
        roles[a.grid].add(a.role)
    gaps = {}
    for g in place.grids:
        if g.level != "block":
            continue
        held: set[str] = set()
        node: Any = g
        while node is not None:
            held |= roles[node.code]
            node = grids.get(node.parent) if node.parent else None
        missing = [r for r in ("community_officer", "auxiliary", "grid_worker") if r not in held]
        if missing:
            gaps[g.code] = missing
    return gaps


def test_coverage_is_full_but_for_the_deliberate_gaps() -> None:
    assert 3 <= len(TC_GAPS) <= 5
    assert tc_people().gaps == TC_GAPS
    assert expected_gaps("TC") == TC_GAPS
    for station in people().stations[1:]:
        assert station.gaps == {} and expected_gaps(station.code) == {}


def test_accounts_one_per_role_linked_to_their_people() -> None:
    by_name = {a.username: a for a in accounts().accounts}
    assert {a.role for a in by_name.values()} == set(Role.values)
    assert by_name["lx_suozhang"].station == "LX"
    by_key = {p.key: p for s in people().stations for p in s.people}
    levels = {g.code: g.level for g in tc().grids}
    assigned: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for a in tc_people().assignments:
        assigned[a.person].add((a.role, levels[a.grid]))

    def person_of(username: str) -> str:
        key = by_name[username].person
        assert key is not None, username
        assert by_name[username].name == by_key[key].name  # the account bears its person's name
        return key

    assert ("community_officer", "sector") in assigned[person_of("minjing")]
    assert ("grid_worker", "block") in assigned[person_of("wanggeyuan")]
    assert ("volunteer", "block") in assigned[person_of("yijing")]
    assert by_key[person_of("tiaojieyuan")].kind == "mediator"
    assert by_key[person_of("fujing")].kind == "auxiliary"
    assert by_key[person_of("lx_suozhang")].key.startswith("LX/officer/")
    assert by_name["juzhang"].bureau and by_name["juzhang"].person is None


# ── determinism and the registry ────────────────────────────────────────────────────────────


def station_parts(of: Demo, code: str) -> tuple[StationTerritory, PeopleStation]:
    return territory(of).station(code), people(of).station(code)


def test_same_seed_same_demo() -> None:
    again = generate()
    assert again.digest() == demo().digest()
    # A station alone is the same station as in the whole demo, with the same accounts.
    alone = generate(stations=["LX"])
    assert [s.code for s in territory(alone).stations] == ["LX"]
    assert station_parts(alone, "LX") == station_parts(demo(), "LX")
    alone_accounts = [
        (a.username, a.name, a.person) for a in alone.part("accounts", AccountsDemo).accounts
    ]
    assert alone_accounts == [
        (a.username, a.name, a.person) for a in accounts().accounts if a.station in (None, "LX")
    ]
    assert station_parts(generate(seed=7, stations=["LX"]), "LX") != station_parts(alone, "LX")
    with pytest.raises(ValueError):
        generate(stations=["QQ"])


@dataclass
class Noise:
    values: list[float]

    def counts(self) -> dict[str, int]:
        return {"noise": len(self.values)}

    def fingerprint(self) -> Iterator[Sequence[object]]:
        yield tuple(self.values)


def test_a_new_app_changes_nothing_the_others_generate(monkeypatch: pytest.MonkeyPatch) -> None:
    """An app's demo data draws from its own streams: one more app, generated first and drawing
    thousands of numbers, leaves every other part as it was."""

    def noisy(ctx: Context) -> Noise:
        rng = ctx.random("aardvark")
        return Noise([rng.random() for _ in range(5000)])

    monkeypatch.setattr(registry, "_apps", dict(registry._apps))
    registry.register("aardvark", noisy, lambda part, loading: None)
    assert registry.ordered()[0].app == "aardvark"
    more = generate()
    assert more.counts()["noise"] == 5000
    for app in ("territory", "people", "accounts"):
        assert list(more.parts[app].fingerprint()) == list(demo().parts[app].fingerprint()), app
    assert more.digest() != demo().digest()


def test_generators_run_after_the_apps_they_depend_on(monkeypatch: pytest.MonkeyPatch) -> None:
    order = [app.app for app in registry.ordered()]
    assert order.index("territory") < order.index("people") < order.index("accounts")

    def make(ctx: Context) -> Noise:
        return Noise([])

    def load(part: Noise, loading: Any) -> None:
        return None

    monkeypatch.setattr(registry, "_apps", {})
    registry.register("zeta", make, load)
    registry.register("alpha", make, load, after=["zeta"])
    registry.register("beta", make, load)
    registry.register("beta", make, load)  # the same again (ready() twice): no change
    assert [app.app for app in registry.ordered()] == ["beta", "zeta", "alpha"]
    with pytest.raises(ValueError, match="beta"):
        registry.register("beta", make, lambda part, loading: None)
    registry.register("gamma", make, load, after=["nowhere"])
    with pytest.raises(LookupError, match="nowhere"):
        registry.ordered()


def test_the_figures_in_docs_demo_md_are_the_generated_ones() -> None:
    text = (Path(settings.BASE_DIR) / "docs" / "demo.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if re.match(r"^\| \S+派出所 \| `", line)
    ]
    assert [row[1] for row in rows] == ["TC", "LX", "XD"]
    for name, code, villages, urban, units, households, residents, levels in rows:
        station = territory().station(code)
        level_counts = Counter(g.level for g in station.grids)
        kinds_here = Counter(c.kind for c in station.communities)
        assert station.name == name
        assert (int(villages), int(urban)) == (kinds_here["village"], kinds_here["urban"])
        assert int(units.replace(",", "")) == len(station.units)
        assert int(households.replace(",", "")) == sum(c.households for c in station.communities)
        assert int(residents.replace(",", "")) == sum(c.population for c in station.communities)
        assert [int(n.replace(",", "")) for n in levels.split("·")] == [
            level_counts[level] for level in LEVELS
        ]


# ── the database and the command ────────────────────────────────────────────────────────────

MODELS = [Bureau, Station, Community, BaseUnit, GridVersion, Grid, Person, GridAssignment,
          CommitteePost, User, AuditEvent]  # fmt: skip


def row_counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in MODELS}


@pytest.mark.django_db
def test_command_loads_once_and_prints_every_account() -> None:
    out = StringIO()
    call_command("demo", stdout=out)
    first = out.getvalue()
    expected = demo()
    counts = expected.counts()
    assert Station.objects.count() == 3
    assert BaseUnit.objects.count() == counts["base_units"]
    assert Grid.objects.count() == counts["grids"]
    assert Person.objects.count() == counts["people"]
    assert GridAssignment.objects.count() == counts["assignments"]
    assert CommitteePost.objects.count() == counts["committee_posts"]
    station = Station.objects.get(code="TC")
    assert Counter(station.communities.values_list("kind", flat=True)) == {
        "village": 13,
        "urban": 10,
    }
    current = station.current_version()
    assert current is not None and current.number == 1

    # What was stored is what was generated: shapes, figures, personal data.
    grid = Grid.objects.get(code="TC-D01-S01-B01")
    generated = {g.code: g for g in tc().grids}["TC-D01-S01-B01"]
    assert grid.geometry.equals(generated.geometry) and grid.geometry.is_valid
    assert (grid.households, grid.population) == (generated.households, generated.population)
    assert grid.parent is not None and grid.parent.code == "TC-D01-S01"
    assert grid.community is not None and grid.community.name == "东街社区"
    assert math.isclose(grid.area_km2, area_km2(generated.geometry), abs_tol=1e-6)
    minjing = User.objects.get(username="minjing")
    person = minjing.person
    assert person.name == minjing.first_name
    minjing_key = tc_people().role_people["officer"]
    assert [a.person for a in accounts().accounts if a.username == "minjing"] == [minjing_key]
    generated_person = {p.key: p for p in tc_people().people}[minjing_key]
    assert person.id_number == generated_person.id_number
    assert person.phone == generated_person.phone
    assert person.committee_posts.exists()

    # The coverage page's query, as the station chief: exactly the deliberate gaps.
    chief = User.objects.get(username="suozhang")
    gaps = {gap.grid.code: gap.missing for gap in coverage_gaps(chief, station)}
    assert gaps == TC_GAPS
    lx_chief = User.objects.get(username="lx_suozhang")
    assert coverage_gaps(lx_chief, Station.objects.get(code="LX")) == []
    client = Client()
    client.force_login(chief)
    page = client.get("/people/coverage/?station=TC").content.decode()
    for code in TC_GAPS:
        assert code in page

    # Accounts: one per role, the demo password works, the output lists them all.
    for spec in ACCOUNTS:
        user = User.objects.get(username=spec.username)
        assert user.check_password(PASSWORD) and user.role == spec.role, spec.username
        assert spec.username in first
    assert {u.role for u in User.objects.all()} == set(Role.values)
    validate_password(PASSWORD, User.objects.get(username="juzhang"))
    response = Client().post("/accounts/login/", {"username": "wanggeyuan", "password": PASSWORD})
    assert response.status_code == 302
    assert first.count(PASSWORD) == len(ACCOUNTS)
    event = AuditEvent.objects.get(action="load_demo")
    assert f'"grids": {counts["grids"]}' in event.detail

    # Again: nothing new, the same accounts printed.
    before = row_counts()
    out = StringIO()
    call_command("demo", stdout=out)
    assert row_counts() == before
    second = out.getvalue()
    for spec in ACCOUNTS:
        assert spec.username in second and spec.role in second


@pytest.mark.django_db
def test_command_refuses_to_collide_with_existing_accounts() -> None:
    User.objects.create(username="juzhang", role="officer")
    with pytest.raises(CommandError, match="juzhang"):
        call_command("demo", stdout=StringIO())
    assert not Bureau.objects.exists()


@pytest.mark.django_db
def test_command_refuses_to_collide_with_an_existing_station() -> None:
    bureau = Bureau.objects.create(code="MY", name="绵阳市公安局")
    Station.objects.create(bureau=bureau, code="LX", name="另一个派出所")
    User.objects.create(username="anquan", role="officer")
    with pytest.raises(CommandError, match="LX, anquan"):
        call_command("demo", stdout=StringIO())
    assert not Bureau.objects.filter(code="ST").exists()
    assert (Station.objects.count(), User.objects.count(), Person.objects.count()) == (1, 1, 0)


PRIVILEGED = ["juzhang", "anquan", "xitong", "shenji"]


def factor_row(printed: str, secret: str) -> list[str]:
    return next(line for line in printed.splitlines() if secret in line).split()


@pytest.mark.django_db
def test_privileged_demo_accounts_come_enrolled_and_the_command_prints_their_factor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An enrolment that fails leaves nothing behind: it is part of the one transaction.
    def failing(user: User) -> tuple[str, list[str]]:
        raise RuntimeError("no authenticator today")

    with monkeypatch.context() as patched:
        patched.setattr(otp, "enrol_for_demo", failing)
        with pytest.raises(RuntimeError):
            call_command("demo", stdout=StringIO())
    assert not Bureau.objects.exists() and not User.objects.exists()

    out = StringIO()
    call_command("demo", stdout=out)
    printed = out.getvalue()
    for spec in ACCOUNTS:
        user = User.objects.get(username=spec.username)
        assert otp.has_second_factor(user) == (spec.username in PRIVILEGED), spec.username
    for username in PRIVILEGED:
        user = User.objects.get(username=username)
        device = otp.confirmed_device(user)
        assert device is not None
        # One row: the username, the key the authenticator holds, every recovery code.
        row = factor_row(printed, otp.secret_base32(device))
        assert row[0] == username and len(row[2:]) == otp.recovery_codes_left(user) > 0
    # What was printed lets them in: a printed recovery code works (once).
    juzhang = User.objects.get(username="juzhang")
    first_code = factor_row(printed, otp.demo_secret("juzhang"))[2]
    assert otp.verify(juzhang, first_code) is not None
    assert otp.verify(juzhang, first_code) is None

    # Again: nobody is enrolled anew; the same keys are read back, less the code used; an
    # account whose second factor changed since is named, its factor not shown.
    before = row_counts()
    otp.remove_devices(User.objects.get(username="shenji"))
    out = StringIO()
    call_command("demo", stdout=out)
    again = out.getvalue()
    assert otp.demo_secret("juzhang") in again
    assert first_code not in again
    assert otp.demo_secret("shenji") not in again and "shenji" in again.splitlines()[-1]
    assert row_counts() == before
