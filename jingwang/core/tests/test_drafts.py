"""The server half of field drafts (jingwang/core/drafts.py): the page after a confirmed save
tells the browser to forget the draft; nothing else does."""

from __future__ import annotations

import re

from jingwang.audit.models import AuditEvent
from jingwang.people.models import Person

GOOD_ID = "510722198507153018"
NEW = {
    "name": "陈新人",
    "kind": "officer",
    "badge_number": "051234",
    "id_number": GOOD_ID,
    "phone": "13912345678",
    "is_active": "on",
}


def markers(response) -> dict[str, int]:
    found = re.findall(
        r'<meta name="jingwang-draft-saved" content="([^"]*)" data-saved-at="(\d+)">',
        response.content.decode(),
    )
    return {key: int(at) for key, at in found}


def clock(response) -> int:
    found = re.search(
        r'<meta name="jingwang-draft-clock" content="(\d+)">', response.content.decode()
    )
    assert found is not None
    return int(found.group(1))


def test_after_a_save_every_page_says_when_that_form_was_saved(world):
    chief = world.client("chief")
    form = chief.get("/people/new/?station=TC")
    assert markers(form) == {}
    saved = chief.post("/people/new/?station=TC", NEW, follow=True)
    person = Person.objects.get(name="陈新人")
    assert saved.redirect_chain == [(f"/people/{person.id}/", 302)]
    # A draft typed on the form page predates the save; one typed on a later page does not.
    assert clock(form) < markers(saved)["person-new"] <= clock(saved)
    later = chief.get("/people/")
    assert markers(later) == markers(saved)
    # Saved again: the marker moves to the new save.
    chief.post("/people/new/?station=TC", {**NEW, "name": "陈二", "id_number": ""})
    assert markers(chief.get("/"))["person-new"] > markers(saved)["person-new"]


def test_an_edit_marks_the_draft_of_that_persons_form(world):
    chief = world.client("chief")
    person = world.people["auxiliary"]
    form = chief.get(f"/people/{person.id}/edit/").content.decode()
    assert f'data-keep-draft="person-{person.id}"' in form
    data = {"name": "李辅警二", "kind": "auxiliary", "version": person.version, "is_active": "on"}
    saved = chief.post(f"/people/{person.id}/edit/", data, follow=True)
    assert set(markers(saved)) == {f"person-{person.id}"}


def test_a_form_answered_with_errors_keeps_the_draft(world):
    chief = world.client("chief")
    refused = chief.post("/people/new/?station=TC", {**NEW, "id_number": "510722198507153012"})
    assert refused.status_code == 200 and 'class="field invalid"' in refused.content.decode()
    assert markers(refused) == {}
    assert markers(chief.get("/people/")) == {}
    assert not Person.objects.filter(name="陈新人").exists()


def test_a_refused_write_keeps_the_draft(world):
    officer = world.client("officer")  # may read people, not add them
    refused = officer.post("/people/new/?station=TC", NEW)
    assert refused.status_code == 404
    assert not Person.objects.filter(name="陈新人").exists()
    assert AuditEvent.objects.filter(outcome="denied", actor_id=world.users["officer"].pk).exists()
    assert markers(officer.get("/")) == {}


def test_markers_belong_to_the_session_and_not_to_fragments(world):
    chief = world.client("chief")
    chief.post("/people/new/?station=TC", NEW)
    person = Person.objects.get(name="陈新人")
    fragment = chief.post(f"/people/{person.id}/unmask/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "jingwang-draft" not in fragment.content.decode()
    assert set(markers(chief.get(f"/people/{person.id}/"))) == {"person-new"}
    # Markers live with the session: another session (the same user elsewhere) has none.
    assert markers(world.client("chief").get("/")) == {}


def test_personal_fields_are_marked_so_no_draft_keeps_them(world):
    form = world.client("chief").get("/people/new/?station=TC").content.decode()
    fields: dict[str, str] = {}
    for tag, name in re.findall(r'(<input[^>]*name="(\w+)"[^>]*>)', form):
        fields[name] = tag
    for name in ("id_number", "phone"):
        assert "data-personal" in fields[name] and 'autocomplete="off"' in fields[name]
    assert "data-personal" not in fields["name"]
    assert f'<meta name="jingwang-user" content="{world.users["chief"].pk}">' in form
    assert "jingwang/drafts.js" in form
