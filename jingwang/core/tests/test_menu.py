"""The main menu comes from the apps (``jingwang.core.menu``): each role sees exactly the entries
its permissions allow, in the same order for everyone, and every entry shown opens."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from jingwang.accounts.roles import PERMISSIONS, Perm
from jingwang.core import menu
from tests.cast import World

# The whole menu, in order: (URL name, label, the permission that shows it). A new entry is
# registered by its app (apps.py) and added here.
MENU = [
    ("home", "Home", None),
    ("territory:map", "Map", Perm.TERRITORY_VIEW),
    ("territory:grids", "Grids", Perm.TERRITORY_VIEW),
    ("people:coverage", "Coverage", Perm.TERRITORY_VIEW),
    ("people:list", "People", Perm.PEOPLE_VIEW),
    ("incidents:list", "Incidents", Perm.INCIDENTS_VIEW),
    ("incidents:callbacks", "Callbacks", Perm.CALLBACKS_WORK),
    ("incidents:rectifications", "Rectifications", Perm.RECTIFICATIONS_MANAGE),
    ("incidents:figures", "Incident figures", Perm.INCIDENTS_VIEW),
    ("territory:divisions", "Division", Perm.TERRITORY_DIVIDE),
    ("disputes:list", "Disputes", Perm.DISPUTES_VIEW),
    ("disputes:bodies", "Mediation bodies", Perm.DISPUTES_VIEW),
    ("disputes:figures", "Dispute figures", Perm.DISPUTES_VIEW),
    ("territory:import", "Import", Perm.TERRITORY_IMPORT),
    ("sms:outbox", "Text messages", Perm.SMS_VIEW),
    ("audit:list", "Audit log", Perm.AUDIT_VIEW),
    ("territory:bureaus", "Bureaus and stations", Perm.SYSTEM_CONFIGURE),
    ("config:sections", "Settings", Perm.SYSTEM_CONFIGURE),
    ("incidents:category_bureaus", "Incident categories", Perm.SYSTEM_CONFIGURE),
    ("config:lists", "Choice lists", Perm.SYSTEM_CONFIGURE),
    ("accounts:users", "Accounts", Perm.ACCOUNTS_MANAGE),
    ("accounts:requests", "Account requests", Perm.ACCOUNTS_APPROVE),
]

# What some roles see, spelled out (the rest follow from the permission table).
SPELLED_OUT = {
    "volunteer": ["Home", "Map", "Grids", "Coverage"],
    "grid_worker": [
        "Home",
        "Map",
        "Grids",
        "Coverage",
        "People",
        "Incidents",
        "Incident figures",
        "Disputes",
        "Mediation bodies",
        "Dispute figures",
    ],
    "auxiliary": [
        "Home",
        "Map",
        "Grids",
        "Coverage",
        "People",
        "Incidents",
        "Callbacks",
        "Incident figures",
        "Disputes",
        "Mediation bodies",
        "Dispute figures",
    ],
    "chief": [
        "Home",
        "Map",
        "Grids",
        "Coverage",
        "People",
        "Incidents",
        "Callbacks",
        "Rectifications",
        "Incident figures",
        "Division",
        "Disputes",
        "Mediation bodies",
        "Dispute figures",
        "Import",
        "Text messages",
    ],
    "auditor": ["Home", "Audit log"],
    "security_admin": ["Home", "Accounts"],
    "system_admin": [
        "Home",
        "Bureaus and stations",
        "Settings",
        "Incident categories",
        "Choice lists",
    ],
}

NAV = re.compile(r'<nav class="main"[^>]*>(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')


def client(world: World, name: str) -> Client:
    client = world.client(name)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def shown(world: World, name: str) -> list[tuple[str, str]]:
    """The menu on the home page as ``name`` sees it (in English): (URL, label), in order."""
    page = client(world, name).get("/")
    assert page.status_code == 200
    found = NAV.search(page.content.decode())
    assert found is not None
    return [(url, label.strip()) for url, label in LINK.findall(found.group(1))]


def test_the_registry_holds_the_menu_in_order() -> None:
    with override("en"):
        registered = [(e.url_name, str(e.label), e.perm) for e in menu.entries()]
    assert registered == MENU


def test_an_entry_is_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(menu, "_entries", {})
    menu.register("Map", "territory:map", Perm.TERRITORY_VIEW, order=10, app="territory")
    menu.register("Map", "territory:map", Perm.TERRITORY_VIEW, order=10, app="territory")
    assert len(menu.entries()) == 1
    with pytest.raises(ValueError, match="territory:map"):
        menu.register("Map", "territory:map", None, order=10, app="territory")


@pytest.mark.django_db
def test_each_role_sees_exactly_the_entries_its_permissions_allow(world: World) -> None:
    for name, user in world.users.items():
        perms = PERMISSIONS[user.role]
        expected = [
            (reverse(url_name), label)
            for url_name, label, perm in MENU
            if perm is None or perm in perms
        ]
        assert shown(world, name) == expected, name
        if name in SPELLED_OUT:
            assert [label for _url, label in expected] == SPELLED_OUT[name], name


@pytest.mark.django_db
def test_every_entry_shown_opens_for_its_reader(world: World) -> None:
    """The menu never leads anyone to a refusal: each entry shown opens (200) for the user it is
    shown to. (A page may open for more readers than its entry shows to, reached from another
    page: the security admin follows account requests from the Accounts page.)"""
    urls = [reverse(url_name) for url_name, _label, _perm in MENU]
    for name in world.users:
        visitor = client(world, name)
        visible = {url for url, _label in shown(world, name)}
        for url in urls:
            status = visitor.get(url).status_code
            assert status == 200 if url in visible else status in (200, 404), (name, url, status)
