"""Field drafts on a phone: what was typed survives a dropped network until the server confirmed
the save, and ID and phone numbers never reach the browser's storage (jingwang/core/drafts.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from jingwang.people.models import Person
from tests.cast import PASSWORD

pytestmark = pytest.mark.browser

ID_NUMBER = "510722198507153018"
PHONE = "13912345678"

# Records every write to the browser's storage, whatever wrote it; the original stays reachable
# for a test that plants an old draft on purpose.
RECORD_WRITES = """
(function () {
  var set = Storage.prototype.setItem;
  Storage.prototype.plantItem = set;
  Storage.prototype.setItem = function (key, value) {
    window.storageWritten(String(key), String(value));
    return set.apply(this, arguments);
  };
})();
"""


def recording(page: Any) -> list[tuple[str, str]]:
    writes: list[tuple[str, str]] = []
    page.context.expose_function("storageWritten", lambda key, value: writes.append((key, value)))
    page.context.add_init_script(RECORD_WRITES)
    return writes


def stored(page: Any) -> dict[str, str]:
    return page.evaluate("() => Object.fromEntries(Object.entries(window.localStorage))")


def assert_nothing_personal(page: Any, writes: list[tuple[str, str]]) -> None:
    texts = [value for _key, value in writes] + list(stored(page).values())
    for text in texts:
        # Not the numbers, nor the first digits of them typed so far.
        assert ID_NUMBER[:6] not in text and PHONE[:5] not in text, text
        assert "id_number" not in text and '"phone"' not in text, text


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def submit_failing(page: Any) -> None:
    """Press Save and see the submit fail for want of a network."""
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        with page.expect_navigation():
            page.click("form[data-keep-draft] button.primary")


def submit_offline(page: Any) -> None:
    """Press Save with the network gone, then come back online."""
    page.context.set_offline(True)
    submit_failing(page)
    page.context.set_offline(False)


def test_a_submit_lost_to_the_network_keeps_the_draft_without_the_numbers(
    phone, live_server, world
):
    base = live_server.url
    writes = recording(phone)
    log_in(phone, base, "chief")
    chief = world.users["chief"]
    key = f"jingwang-draft:v2:{chief.pk}:person-new"

    # A draft written by the old script (ID number in clear) is gone after the first page.
    phone.evaluate(
        """(id) => localStorage.plantItem("jingwang-draft:person-new",
                                          JSON.stringify({name: "old", id_number: id}))""",
        ID_NUMBER,
    )
    phone.goto(f"{base}/people/new/?station=TC")
    assert "jingwang-draft:person-new" not in stored(phone)

    # The chief types, key by key.
    phone.locator("input[name=name]").press_sequentially("陈新人")
    phone.select_option("select[name=kind]", "auxiliary")
    phone.locator("input[name=badge_number]").press_sequentially("051234")
    phone.locator("input[name=id_number]").press_sequentially(ID_NUMBER)
    phone.locator("input[name=phone]").press_sequentially(PHONE)
    draft = json.loads(stored(phone)[key])["fields"]
    assert draft == {"name": "陈新人", "kind": "auxiliary", "badge_number": "051234"}
    assert_nothing_personal(phone, writes)

    # The network drops as they press Save: nothing reached the server.
    submit_offline(phone)
    assert not Person.objects.filter(name="陈新人").exists()
    phone.goto(f"{base}/people/")  # (the browser's error page cannot read the site's storage)
    assert key in stored(phone)
    assert_nothing_personal(phone, writes)

    # Back online, the form has what was typed, except the numbers, which are typed again.
    phone.goto(f"{base}/people/new/?station=TC")
    assert phone.input_value("input[name=name]") == "陈新人"
    assert phone.input_value("select[name=kind]") == "auxiliary"
    assert phone.input_value("input[name=badge_number]") == "051234"
    assert phone.input_value("input[name=id_number]") == ""
    assert phone.input_value("input[name=phone]") == ""
    phone.locator("input[name=id_number]").press_sequentially(ID_NUMBER)
    phone.locator("input[name=phone]").press_sequentially(PHONE)
    assert_nothing_personal(phone, writes)

    # Saved online: the person exists, and the page after the save removed the draft.
    phone.click("form[data-keep-draft] button.primary")
    phone.wait_for_url(re.compile(r"/people/\d+/$"))
    person = Person.objects.get(name="陈新人")
    assert phone.url == f"{base}/people/{person.id}/"
    assert person.kind == "auxiliary" and person.badge_number == "051234"
    assert person.id_number == ID_NUMBER and person.phone == PHONE
    assert key not in stored(phone)
    phone.goto(f"{base}/people/new/?station=TC")
    assert phone.input_value("input[name=name]") == ""

    # The next person, typed after that save, keeps their draft although the save's marker is
    # still on every page.
    phone.locator("input[name=name]").press_sequentially("周第二")
    phone.reload()
    assert phone.locator('meta[name="jingwang-draft-saved"][content="person-new"]').count() == 1
    assert phone.input_value("input[name=name]") == "周第二"
    assert_nothing_personal(phone, writes)
    assert any(k == key for k, _value in writes)  # the recorder did see the draft's writes


def test_an_edit_keeps_only_what_was_changed_until_it_is_saved(phone, live_server, world):
    base = live_server.url
    writes = recording(phone)
    log_in(phone, base, "chief")
    person = world.people["auxiliary"]
    key = f"jingwang-draft:v2:{world.users['chief'].pk}:person-{person.id}"

    phone.goto(f"{base}/people/{person.id}/edit/")
    phone.fill("input[name=badge_number]", "A-77")
    phone.locator("input[name=phone]").press_sequentially(PHONE)
    assert json.loads(stored(phone)[key])["fields"] == {"badge_number": "A-77"}
    submit_offline(phone)

    # Meanwhile someone renames the person: the draft does not carry the old name back.
    Person.objects.filter(pk=person.pk).update(name="李辅警（改）", version=person.version + 1)
    phone.goto(f"{base}/people/{person.id}/edit/")
    assert phone.input_value("input[name=badge_number]") == "A-77"
    assert phone.input_value("input[name=name]") == "李辅警（改）"
    assert phone.input_value("input[name=phone]") == ""
    phone.click("form[data-keep-draft] button.primary")
    phone.wait_for_url(f"{base}/people/{person.id}/")
    person.refresh_from_db()
    assert person.badge_number == "A-77" and person.name == "李辅警（改）"
    assert key not in stored(phone)
    assert_nothing_personal(phone, writes)


def test_a_save_whose_answer_is_lost_clears_the_draft_on_the_next_page(phone, live_server, world):
    base = live_server.url
    log_in(phone, base, "chief")
    key = f"jingwang-draft:v2:{world.users['chief'].pk}:person-new"
    phone.goto(f"{base}/people/new/?station=TC")
    phone.fill("input[name=name]", "陈新人")
    assert key in stored(phone)

    # The request reaches the server and is saved; its answer never reaches the phone.
    def lose_the_answer(route: Any) -> None:
        route.fetch(max_redirects=0)
        route.abort("internetdisconnected")

    phone.route("**/people/new/**", lose_the_answer)
    submit_failing(phone)
    phone.unroute("**/people/new/**")
    assert Person.objects.filter(name="陈新人").exists()
    # The phone cannot know yet: the draft is still there (read beside a plain file of the
    # site), and the first page the server renders says the save was confirmed.
    phone.goto(f"{base}/static/jingwang/site.css")
    assert key in stored(phone)
    phone.goto(f"{base}/people/")
    assert key not in stored(phone)
    phone.goto(f"{base}/people/new/?station=TC")
    assert phone.input_value("input[name=name]") == ""
