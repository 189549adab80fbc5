"""Accounts' demo data: one login per role, each linked to the demo person who plays the role.

Django-free generation, like every demo generator (``jingwang.demo.registry``); ``load`` writes
the accounts and links each to its person. Accounts without a person (the bureau admin and the
三员) take names from their own stream (``"{seed}:accounts"``).

Privileged accounts (``SECOND_FACTOR_ROLES``: the bureau admin and the 三员) log in with a second
factor: the loader enrols each of them in the demo's transaction
(``jingwang.accounts.otp.enrol_for_demo``) and ``jingwang demo`` prints what they need to log in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jingwang.accounts.roles import SECOND_FACTOR_ROLES
from jingwang.demo import synthetic
from jingwang.people.demo import PeopleDemo, PeopleRows
from jingwang.territory.demo import TerritoryRows

if TYPE_CHECKING:
    from jingwang.accounts.models import User
    from jingwang.demo.generate import Context
    from jingwang.demo.load import Loading

PASSWORD = "Jingwang-2026"


@dataclass(frozen=True)
class AccountSpec:
    username: str
    role: str
    station: str | None  # station code; None for bureau-wide and the 三员
    bureau: bool = False
    # For a role no station person plays (role_people): the station's first person of this kind.
    person_kind: str | None = None


# One account per role for Tongchuan, and the chief of Luxi.
ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("juzhang", "bureau_admin", None, bureau=True),
    AccountSpec("suozhang", "station_chief", "TC"),
    AccountSpec("minjing", "officer", "TC"),
    AccountSpec("fujing", "auxiliary", "TC"),
    AccountSpec("wanggeyuan", "grid_worker", "TC"),
    AccountSpec("tiaojieyuan", "mediator", "TC"),
    AccountSpec("yijing", "volunteer", "TC"),
    # A people's congress deputy on the harmony team: sees only the disputes they are called to.
    AccountSpec("daibiao", "mediation_member", "TC", person_kind="deputy"),
    AccountSpec("anquan", "security_admin", None),
    AccountSpec("xitong", "system_admin", None),
    AccountSpec("shenji", "auditor", None),
    AccountSpec("lx_suozhang", "station_chief", "LX"),
)


@dataclass
class AccountData:
    username: str
    role: str
    station: str | None
    bureau: bool
    name: str
    person: str | None  # the key of the demo person this account logs in as


@dataclass
class AccountsDemo:
    accounts: list[AccountData]
    password: str = PASSWORD

    def counts(self) -> dict[str, int]:
        return {"accounts": len(self.accounts)}

    def fingerprint(self) -> Iterator[Sequence[object]]:
        yield (self.password,)
        for a in self.accounts:
            yield a.username, a.role, a.station, a.bureau, a.name, a.person


def generate(ctx: Context) -> AccountsDemo:
    """The accounts of the stations generated; a station's account logs in as the person who
    plays its role there (``PeopleStation.role_people``) and bears their name."""
    people = ctx.part("people", PeopleDemo)
    stations = {station.code: station for station in people.stations}
    names = ctx.random("accounts")
    used: set[str] = set()
    accounts = []
    for spec in ACCOUNTS:
        person = None
        if spec.station is not None:
            if spec.station not in stations:
                continue
            station = stations[spec.station]
            person = station.role_people.get(spec.role)
            if person is None and spec.person_kind:
                person = next((p.key for p in station.people if p.kind == spec.person_kind), None)
        name = (
            people.person(person).name if person else synthetic.person_name(names, used, male=True)
        )
        accounts.append(
            AccountData(spec.username, spec.role, spec.station, spec.bureau, name, person)
        )
    return AccountsDemo(accounts)


# ── the loader ──────────────────────────────────────────────────────────────────────────────


@dataclass
class SecondFactor:
    secret: str  # base32, for an authenticator app
    recovery_codes: list[str]


@dataclass
class AccountRows:
    users: dict[str, User] = field(default_factory=dict)
    # Second factors enrolled while loading (username → secret and codes), to print once.
    second_factors: dict[str, SecondFactor] = field(default_factory=dict)


def conflicts(part: AccountsDemo) -> list[str]:
    """Usernames of the demo already taken in the database."""
    from jingwang.accounts.models import User

    usernames = [account.username for account in part.accounts]
    return sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))


def load(part: AccountsDemo, loading: Loading) -> AccountRows:
    from jingwang.accounts.models import User
    from jingwang.accounts.otp import enrol_for_demo

    territory = loading.get("territory", TerritoryRows)
    people = loading.get("people", PeopleRows)
    rows = AccountRows()
    for account in part.accounts:
        user = User(
            username=account.username,
            role=account.role,
            first_name=account.name,
            bureau=territory.bureau if account.bureau else None,
            station=territory.stations[account.station] if account.station else None,
        )
        user.set_password(part.password)
        user.save()
        rows.users[user.username] = user
        if account.person:
            people.link_user(account.person, user)
        if user.role in SECOND_FACTOR_ROLES:
            secret, codes = enrol_for_demo(user)
            rows.second_factors[user.username] = SecondFactor(secret, list(codes))
    return rows


def demo_accounts() -> list[dict[str, Any]]:
    """The demo accounts as they are in the database, in the order of ``ACCOUNTS``."""
    from jingwang.accounts.models import User

    users = {
        user.username: user
        for user in User.objects.filter(username__in=[a.username for a in ACCOUNTS]).select_related(
            "station", "bureau"
        )
    }
    return [
        {
            "username": user.username,
            "role": user.role,
            "bureau": str(user.bureau or ""),
            "station": str(user.station or ""),
            "name": user.display_name,
        }
        for user in (users.get(spec.username) for spec in ACCOUNTS)
        if user is not None
    ]


def second_factors(enrolled: AccountRows | None) -> tuple[dict[str, SecondFactor], list[str]]:
    """What the privileged demo accounts need to log in: (username → secret and recovery codes,
    usernames whose second factor is no longer the demo's).

    Right after a load, what ``enrol_for_demo`` answered; on a later run, what
    ``demo_enrolment`` reads back (the recovery codes not used yet).
    """
    from jingwang.accounts.models import User
    from jingwang.accounts.otp import demo_enrolment

    if enrolled is not None:
        return enrolled.second_factors, []
    privileged = [a.username for a in ACCOUNTS if a.role in SECOND_FACTOR_ROLES]
    users = {u.username: u for u in User.objects.filter(username__in=privileged)}
    known: dict[str, SecondFactor] = {}
    changed: list[str] = []
    for username in privileged:
        if username not in users:
            continue
        found = demo_enrolment(users[username])
        if found is None:
            changed.append(username)
        else:
            known[username] = SecondFactor(found[0], list(found[1]))
    return known, changed
