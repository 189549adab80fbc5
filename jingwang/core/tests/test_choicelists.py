"""Per-bureau choice lists (``jingwang.core.choicelists``), with the dispute categories as the
list under test: seeded once, edited by the system admin through the settings pages, every
change audited, a stale edit refused, and nobody else reaching the pages."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from jingwang.audit.models import AuditEvent
from jingwang.core import choicelists
from jingwang.disputes.categories import CATEGORIES, DEFAULTS
from jingwang.disputes.models import Category
from jingwang.territory.models import Bureau
from tests.cast import World


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    """The disputes app registers its list from ``ready()``; registering again is no change."""
    choicelists.register(CATEGORIES)
    yield


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Category.objects.order_by("id").values_list(
            "bureau_id", "code", "name", "name_en", "is_active", "order", "version"
        )
    )


# -- seeding ------------------------------------------------------------------------------------


def test_the_first_use_seeds_the_defaults_once_with_one_event(world: World) -> None:
    # when a bureau's list is asked for twice
    first = list(choicelists.active(Category, world.bureau.pk).values_list("code", "name"))
    again = list(choicelists.active(Category, world.bureau.pk).values_list("code", "name"))

    # then it holds the ten defaults in their order, written once, with one audit event
    assert first == again == [(code, zh) for code, zh, _en in DEFAULTS]
    assert Category.objects.count() == 10
    seeded = events("seed_choice_list")
    assert len(seeded) == 1
    assert seeded[0].object_id == str(world.bureau.pk)
    assert seeded[0].detail_data == {"list": "dispute_categories", "entries": 10}
    # and a second ensure writes nothing and records nothing
    assert choicelists.ensure(Category, world.bureau.pk) == 0
    assert len(events("seed_choice_list")) == 1


def test_each_bureau_has_its_own_list(world: World) -> None:
    other = Bureau.objects.create(code="MY", name="绵阳市公安局")
    choicelists.ensure(Category, world.bureau.pk)
    choicelists.ensure(Category, other.pk)
    assert Category.objects.filter(bureau=other).count() == 10
    assert len(events("seed_choice_list")) == 2
    found = choicelists.find(Category, other.pk, "labour")
    assert found is not None and found.bureau_id == other.pk and found.name == "劳动争议与欠薪"
    assert choicelists.find(Category, other.pk, "nope") is None


def test_choices_are_labelled_in_the_readers_language(world: World) -> None:
    from django.utils.translation import override

    with override("en"):
        english_labels = [label for _id, label in choicelists.choices(Category, world.bureau.pk)]
    with override("zh-hans"):
        chinese = [label for _id, label in choicelists.choices(Category, world.bureau.pk)]
    assert english_labels[0] == "Neighbours" and english_labels[-1] == "Other"
    assert chinese[0] == "邻里纠纷" and chinese[-1] == "其他纠纷"


@pytest.mark.django_db(transaction=True)
def test_first_uses_at_the_same_moment_make_one_list() -> None:
    in_memory = getattr(connection, "is_in_memory_db", lambda: False)()
    if connection.vendor == "sqlite" and in_memory:
        pytest.skip("needs a database that several connections share (PostgreSQL)")
    bureau = Bureau.objects.create(code="RC", name="赛跑县公安局")

    def first_use(_n: int) -> int:
        try:
            return choicelists.ensure(Category, bureau.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        written = list(pool.map(first_use, range(6)))

    assert sorted(written) == [0, 0, 0, 0, 0, 10]
    assert Category.objects.filter(bureau=bureau).count() == 10
    assert len(events("seed_choice_list")) == 1


# -- the system admin's changes -----------------------------------------------------------------


def test_the_system_admin_adds_an_entry_and_a_taken_code_names_the_field(world: World) -> None:
    admin = english(world.client("system_admin"))
    url = f"/settings/lists/dispute_categories/{world.bureau.pk}/"
    page = admin.get(url)
    assert page.status_code == 200
    assert "婚姻家庭纠纷" in page.content.decode()

    # when an entry is added
    response = admin.post(url, {"code": "pets", "name": "宠物纠纷", "name_en": "Pets"})

    # then it is there, after the defaults, with its event
    assert response.status_code == 302
    pets = Category.objects.get(bureau=world.bureau, code="pets")
    assert (pets.name, pets.name_en, pets.order, pets.is_active) == ("宠物纠纷", "Pets", 110, True)
    added = events("add_choice")
    assert len(added) == 1 and added[0].detail_data["list"] == "dispute_categories"
    assert added[0].subject_type == "territory.bureau"

    # and the same code again is refused with a message on the code field; nothing is added
    before = snapshot()
    again = admin.post(url, {"code": "pets", "name": "又一个"})
    assert again.status_code == 400
    field = again.content.decode().split('class="field invalid"')[1]
    assert "This list already has an entry with the code “pets”." in field
    assert snapshot() == before and len(events("add_choice")) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "Bad Code", "name": "x"}, "code", "A code is lower-case letters"),
        ({"code": "ok", "name": "   "}, "name", "A name is required."),
        ({"code": "ok", "name": "长" * 51}, "name", "at most 50 characters"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    world: World, data: dict[str, str], field: str, message: str
) -> None:
    choicelists.ensure(Category, world.bureau.pk)
    before = snapshot()
    with pytest.raises(choicelists.ChoiceError) as refused:
        choicelists.add_choice(
            world.users["system_admin"],
            Category,
            world.bureau,
            code=data["code"],
            name=data["name"],
        )
    assert refused.value.field == field
    assert message.lower() in refused.value.message.lower()
    assert snapshot() == before


def test_an_entry_is_renamed_a_stale_edit_is_refused_and_the_code_never_changes(
    world: World,
) -> None:
    admin = english(world.client("system_admin"))
    debts = choicelists.find(Category, world.bureau.pk, "debts")
    assert debts is not None
    url = f"/settings/lists/dispute_categories/{world.bureau.pk}/{debts.pk}/"

    # when it is renamed at version 1
    saved = admin.post(
        url,
        {"name": "借贷纠纷", "name_en": "Loans", "order": "55", "is_active": "on", "version": "1"},
    )

    # then the names and order change, the version moves on, and the event says what changed
    assert saved.status_code == 302
    debts.refresh_from_db()
    assert (debts.name, debts.name_en, debts.order, debts.version) == ("借贷纠纷", "Loans", 55, 2)
    changed = events("update_choice")
    assert len(changed) == 1
    assert changed[0].detail_data == {
        "list": "dispute_categories",
        "code": "debts",
        "changes": {
            "name": {"from": "债务纠纷", "to": "借贷纠纷"},
            "name_en": {"from": "Debts", "to": "Loans"},
            "order": {"from": 60, "to": 55},
        },
    }

    # and an edit made from the page as it was at version 1 gets the conflict message
    before = snapshot()
    stale = admin.post(
        url, {"name": "旧名", "name_en": "", "order": "60", "is_active": "on", "version": "1"}
    )
    assert stale.status_code == 400
    assert "Someone else changed this entry while you were editing." in stale.content.decode()
    assert snapshot() == before and len(events("update_choice")) == 1

    # and a form without its version is refused too
    missing = admin.post(url, {"name": "旧名", "order": "60", "is_active": "on"})
    assert missing.status_code == 400 and "This form is out of date" in missing.content.decode()
    assert snapshot() == before

    # and the code cannot be changed
    with pytest.raises(choicelists.ChoiceError) as refused:
        choicelists.update_choice(world.users["system_admin"], debts, version=2, code="loans")
    assert refused.value.field == "code"
    assert snapshot() == before


def test_an_entry_taken_out_of_use_is_no_longer_offered_and_comes_back(world: World) -> None:
    admin = english(world.client("system_admin"))
    medical = choicelists.find(Category, world.bureau.pk, "medical")
    assert medical is not None
    url = f"/settings/lists/dispute_categories/{world.bureau.pk}/{medical.pk}/"

    assert admin.post(url, {"use": "0", "version": "1"}).status_code == 302
    medical.refresh_from_db()
    assert medical.is_active is False and medical.version == 2
    assert "medical" not in set(
        choicelists.active(Category, world.bureau.pk).values_list("code", flat=True)
    )
    assert medical.pk not in dict(choicelists.choices(Category, world.bureau.pk))
    # (found by its code still: records that have it keep it)
    assert choicelists.find(Category, world.bureau.pk, "medical") == medical

    # a stale button press changes nothing
    assert admin.post(url, {"use": "1", "version": "1"}).status_code == 400
    medical.refresh_from_db()
    assert medical.is_active is False

    assert admin.post(url, {"use": "1", "version": "2"}).status_code == 302
    medical.refresh_from_db()
    assert medical.is_active is True and medical.version == 3
    changes = [e.detail_data["changes"] for e in events("update_choice")]
    assert changes == [
        {"is_active": {"from": True, "to": False}},
        {"is_active": {"from": False, "to": True}},
    ]


def test_the_lists_page_shows_every_list_for_every_bureau(world: World) -> None:
    Bureau.objects.create(code="MY", name="绵阳市公安局")
    choicelists.ensure(Category, world.bureau.pk)
    admin = english(world.client("system_admin"))
    page = admin.get("/settings/lists/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dispute categories" in html
    assert f"/settings/lists/dispute_categories/{world.bureau.pk}/" in html
    assert "10 in use of 10" in html  # the seeded bureau
    assert "Defaults" in html  # the other, not yet used
    # an unknown list is a missing page
    assert admin.get(f"/settings/lists/nothing/{world.bureau.pk}/").status_code == 404


# -- the deny side ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["chief", "auditor", "bureau_admin", "other_chief"])
def test_nobody_but_the_system_admin_reaches_the_lists(world: World, name: str) -> None:
    choicelists.ensure(Category, world.bureau.pk)
    debts = choicelists.find(Category, world.bureau.pk, "debts")
    assert debts is not None
    visitor = world.client(name)
    base = f"/settings/lists/dispute_categories/{world.bureau.pk}/"
    before = snapshot()
    denied_before = AuditEvent.objects.filter(outcome="denied").count()

    answers = [
        visitor.get("/settings/lists/").status_code,
        visitor.get(base).status_code,
        visitor.post(base, {"code": "pets", "name": "宠物纠纷"}).status_code,
        visitor.post(
            f"{base}{debts.pk}/",
            {"name": "改", "order": "1", "is_active": "on", "version": "1"},
        ).status_code,
        visitor.post(f"{base}{debts.pk}/", {"use": "0", "version": "1"}).status_code,
    ]

    assert answers == [404] * 5
    assert snapshot() == before
    assert AuditEvent.objects.filter(outcome="denied").count() == denied_before + 5
    assert events("add_choice") == [] and events("update_choice") == []


def test_an_entry_of_another_bureau_is_not_reached_through_this_one(world: World) -> None:
    other = Bureau.objects.create(code="MY", name="绵阳市公安局")
    choicelists.ensure(Category, other.pk)
    theirs = choicelists.find(Category, other.pk, "debts")
    assert theirs is not None
    admin = world.client("system_admin")
    before = snapshot()
    denied_before = AuditEvent.objects.filter(outcome="denied").count()
    url = f"/settings/lists/dispute_categories/{world.bureau.pk}/{theirs.pk}/"
    response = admin.post(url, {"use": "0", "version": "1"})
    assert response.status_code == 404
    assert snapshot() == before
    assert AuditEvent.objects.filter(outcome="denied").count() == denied_before + 1


def test_a_list_is_registered_once() -> None:
    assert choicelists.named("dispute_categories") == CATEGORIES
    assert choicelists.list_of(Category) == CATEGORIES
    clash = choicelists.ChoiceList("dispute_categories", "x", Category, DEFAULTS[:2], app="x")
    with pytest.raises(ValueError, match="already registered"):
        choicelists.register(clash)
    with pytest.raises(ValueError, match="bad or repeated"):
        choicelists.register(
            choicelists.ChoiceList("dup", "x", Category, [DEFAULTS[0], DEFAULTS[0]], app="x")
        )
