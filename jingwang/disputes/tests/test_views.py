"""The dispute pages: the list and its export, registering (phone form, from an incident),
editing, a dispute's page, a party's timeline, repeat complainants and the agreement's PDF."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from jingwang.audit.models import AuditEvent
from jingwang.disputes.models import Dispute, Party
from jingwang.disputes.tests.helpers import (
    ID_ADULT,
    IN_BLOCK_A,
    IN_BLOCK_B,
    PHONE_A,
    PHONE_B,
    category,
    make_dispute,
    mediation_member,
)
from tests.cast import World

# A valid ID number whose check digit is then spoiled.
BAD_ID = ID_ADULT[:-1] + ("7" if ID_ADULT[-1] != "7" else "8")


def english(client: Client) -> None:
    client.post("/accounts/language/", {"language": "en"})


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def denied(user: Any, before: int) -> bool:
    """A ``denied`` event was written for ``user`` since ``before`` (the last seq)."""
    return AuditEvent.objects.filter(
        seq__gt=before, actor_id=user.pk, action="access", outcome="denied"
    ).exists()


def last_seq() -> int:
    found = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return found or 0


def form(world: World, **fields: str) -> dict[str, str]:
    """The register form as a phone sends it: two party rows, the second one blank-able."""
    data = {
        "category": str(category(world).pk),
        "source": "grid_worker",
        "facts": "楼上水管漏水，楼下住户多次上门争吵",
        "amount": "3000",
        "people_involved": "",
        "departments": "1",
        "address": "东街12号3单元",
        "lon": str(IN_BLOCK_A[0]),
        "lat": str(IN_BLOCK_A[1]),
        "coords": "wgs84",
        "parties-count": "2",
        "parties-0-role": "applicant",
        "parties-0-kind": "person",
        "parties-0-name": "刘大爷",
        "parties-0-id_number": ID_ADULT,
        "parties-0-phone": PHONE_A,
        "parties-1-role": "respondent",
        "parties-1-kind": "person",
        "parties-1-name": "楼下住户",
        "parties-1-phone": PHONE_B,
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# Registering


def test_a_grid_worker_registers_a_dispute_on_the_phone_form(world: World) -> None:
    client = world.client("grid_worker")
    blank = page(client, "/disputes/new/")
    # a phone-first page: the viewport meta, the draft kept, personal fields never in the draft
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in blank
    assert 'data-keep-draft="dispute-new"' in blank
    for name in ("parties-0-id_number", "parties-0-phone", "parties-1-phone", "address"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', blank)
        assert tag is not None and "data-personal" in tag.group(0), name
    # at least two party rows, a way to add more, and "Use my location"
    assert 'name="parties-1-name"' in blank and 'id="add-party"' in blank
    assert 'id="party-template"' in blank and "data-use-location" in blank
    # spare rows are on the page (so the browser's draft keeps them), hidden until added
    spare = re.search(r'<fieldset class="party" data-party-row hidden>[\s\S]*?</fieldset>', blank)
    assert spare is not None and 'name="parties-2-name"' in spare.group(0)
    assert 'name="parties-count" value="6"' in blank
    assert "jingwang/disputes.js" in blank
    assert re.search(r'<input[^>]*type="checkbox"[^>]*value="risk_violence"', blank)
    # one more row, added by the page's script, counted by parties-count
    data = form(
        world,
        **{
            "parties-count": "3",
            "parties-2-role": "third_party",
            "parties-2-kind": "organisation",
            "parties-2-name": "物业公司",
        },
    )
    response = client.post("/disputes/new/", data)
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/disputes/{dispute.pk}/"
    assert dispute.registered_by == world.users["grid_worker"]
    assert dispute.grid is not None and dispute.grid.code == "TC-D1-S1-B1-C1"
    names = list(dispute.parties.order_by("order", "id").values_list("name", "kind"))
    assert names == [("刘大爷", "person"), ("楼下住户", "person"), ("物业公司", "organisation")]
    liu = dispute.parties.get(name="刘大爷")
    assert liu.phone == PHONE_A and liu.id_number == ID_ADULT
    # the draft is forgotten once saved
    after = page(client, f"/disputes/{dispute.pk}/")
    assert 'name="jingwang-draft-saved" content="dispute-new"' in after
    # the page shows the triage and its reason, the parties masked
    reasons = after.split('id="reasons">')[1].split("</ul>")[0]
    assert reasons.count("<li>") == len(dispute.tier_reasons) >= 1
    assert "139****5678" in after and PHONE_A not in after and ID_ADULT not in after
    assert AuditEvent.objects.filter(action="register_dispute", object_id=str(dispute.pk)).exists()


def test_the_triage_reasons_are_shown_in_the_users_language(world: World) -> None:
    client = world.client("officer")
    english(client)
    response = client.post(
        "/disputes/new/?station=TC",
        form(world, people_involved="7", risks="risk_violence"),
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.tier == 3
    shown = page(client, f"/disputes/{dispute.pk}/")
    reasons = shown.split('id="reasons"')[1].split("</ul>")[0]
    assert "7 people involved (5 or more) → tier 2" in reasons
    assert "→ tier 3" in reasons
    assert 'id="tier-history"' in shown


@pytest.mark.parametrize(
    "fields, where, message",
    [
        ({"parties-1-id_number": BAD_ID}, "parties-1-id_number", "check digit"),
        ({"parties-0-name": ""}, "parties-0-name", "name"),
        ({"amount": "-1"}, "amount", "greater than or equal to 0"),
        ({"facts": ""}, "facts", "required"),
        ({"category": ""}, "category", "required"),
        ({"lat": ""}, "lat", "both longitude and latitude"),
        ({"parties-1-phone": "12345"}, "parties-1-phone", "11 digits"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    world: World, fields: dict[str, str], where: str, message: str
) -> None:
    client = world.client("officer")
    english(client)
    response = client.post("/disputes/new/?station=TC", form(world, **fields))
    assert response.status_code == 200
    body = response.content.decode()
    field = re.search(rf'<div class="field invalid">\s*<label for="id_{where}"[\s\S]*?</div>', body)
    assert field is not None, where
    assert message in field.group(0)
    assert Dispute.objects.count() == 0 and Party.objects.count() == 0


def test_a_form_with_nothing_written_says_what_is_missing(world: World) -> None:
    client = world.client("officer")
    english(client)
    response = client.post("/disputes/new/?station=TC", {"parties-count": "2"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="parties-error"' in body and "Give at least one party." in body
    assert "This field is required." in body
    assert Dispute.objects.count() == 0


def test_registering_is_refused_to_those_without_the_permission(world: World) -> None:
    for name in ("system_admin", "volunteer", "auditor"):
        user = world.users[name]
        before = last_seq()
        response = world.client(name).get("/disputes/new/")
        assert response.status_code == 404
        assert denied(user, before)
        response = world.client(name).post("/disputes/new/?station=TC", form(world))
        assert response.status_code == 404
    # another station's chief cannot register at TC
    before = last_seq()
    response = world.client("other_chief").post("/disputes/new/?station=TC", form(world))
    assert response.status_code == 404 and denied(world.users["other_chief"], before)
    assert Dispute.objects.count() == 0


def test_the_register_form_has_no_fixed_width_layout(world: World) -> None:
    from pathlib import Path

    import jingwang

    shown = page(world.client("grid_worker"), "/disputes/new/")
    assert 'style="' not in shown.split("<main>")[1]  # no inline widths in the page
    static = Path(jingwang.__file__).parent / "static" / "jingwang"
    for sheet in ("site.css", "disputes.css"):
        # fixed or minimum widths wider than a 360-pixel phone (max-width is fine)
        css = (static / sheet).read_text()
        widths = re.findall(r"(?<![\w-])(?:min-)?width:\s*(\d+)px", css)
        assert all(int(w) <= 360 for w in widths), (sheet, widths)
    assert "jingwang/disputes.css" in shown and "jingwang/site.css" in shown


# ---------------------------------------------------------------------------------------------
# From an incident


def incident(world: World) -> Any:
    from jingwang.incidents import actions as incident_actions
    from jingwang.incidents.categories import categories_of

    noise = categories_of(world.bureau.id, active=None).get(code="public_order.noise")
    return incident_actions.record_incident(
        world.users["officer"],
        world.station,
        number="J900",
        received_at=timezone.now() - timedelta(hours=3),
        source="call_110",
        category=noise,
        summary="楼上漏水，邻居争吵",
        caller_name="陈女士",
        caller_phone=PHONE_A,
        address="东街12号",
        lon=IN_BLOCK_A[0],
        lat=IN_BLOCK_A[1],
    )


def test_a_dispute_is_registered_from_an_incident_in_one_click(world: World) -> None:
    found = incident(world)
    client = world.client("officer")
    shown = page(client, f"/incidents/{found.pk}/")
    url = f"/disputes/new/from-incident/{found.pk}/"
    assert f'href="{url}"' in shown
    prefilled = page(client, url)
    # the facts, the point and the caller come over; the caller's phone and the address are
    # not put in the form in full
    assert "楼上漏水，邻居争吵" in prefilled and 'value="陈女士"' in prefilled
    assert PHONE_A not in prefilled and "139****5678" in prefilled
    assert "东街12号" not in prefilled
    assert f'value="{IN_BLOCK_A[0]}"' in prefilled
    data = {
        "category": str(category(world).pk),
        "source": "incident",
        "facts": "楼上漏水，邻居争吵",
        "departments": "1",
        "lon": str(IN_BLOCK_A[0]),
        "lat": str(IN_BLOCK_A[1]),
        "coords": "wgs84",
        "parties-count": "2",
        "parties-0-role": "applicant",
        "parties-0-kind": "person",
        "parties-0-name": "陈女士",
        "parties-0-caller": "True",
        "parties-1-role": "respondent",
        "parties-1-kind": "person",
        "parties-1-name": "楼上住户",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.incident == found and dispute.source == "incident"
    assert dispute.parties.get(name="陈女士").phone == PHONE_A
    assert dispute.address == "东街12号"


def test_a_grid_worker_gets_the_link_and_another_station_a_404(world: World) -> None:
    found = incident(world)
    # a grid worker records no incident but registers disputes: the link is there
    shown = page(world.client("grid_worker"), f"/incidents/{found.pk}/")
    assert "new-dispute-from-incident" in shown
    before = last_seq()
    response = world.client("other_chief").get(f"/disputes/new/from-incident/{found.pk}/")
    assert response.status_code == 404 and denied(world.users["other_chief"], before)


# ---------------------------------------------------------------------------------------------
# Editing


def test_editing_keeps_the_numbers_left_empty_and_refuses_a_stale_version(world: World) -> None:
    dispute = make_dispute(world, parties=_two_parties())
    client = world.client("officer")
    shown = page(client, f"/disputes/{dispute.pk}/edit/")
    assert ID_ADULT not in shown and PHONE_A not in shown
    parties = list(dispute.parties.order_by("order", "id"))
    data = {
        "category": str(dispute.category_id),
        "facts": "更新后的事实",
        "departments": "1",
        "lon": str(IN_BLOCK_B[0]),
        "lat": str(IN_BLOCK_B[1]),
        "coords": "wgs84",
        "version": str(dispute.version),
        "parties-count": "2",
    }
    for i, p in enumerate(parties):
        data |= {
            f"parties-{i}-party": str(p.pk),
            f"parties-{i}-role": p.role,
            f"parties-{i}-kind": p.kind,
            f"parties-{i}-name": p.name,
        }
    response = client.post(f"/disputes/{dispute.pk}/edit/", data)
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.facts == "更新后的事实"
    assert dispute.grid is not None and dispute.grid.code.startswith("TC-D1-S1-B2")
    liu = dispute.parties.get(name="刘大爷")
    assert liu.id_number == ID_ADULT and liu.phone == PHONE_A
    # the same form again: its version is stale
    english(client)
    response = client.post(f"/disputes/{dispute.pk}/edit/", data | {"facts": "又一次"})
    assert response.status_code == 200
    assert "Someone else changed this dispute" in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.facts == "更新后的事实"


def _two_parties() -> list[Any]:
    from jingwang.disputes.actions import PartyInput

    return [
        PartyInput(role="applicant", name="刘大爷", phone=PHONE_A, id_number=ID_ADULT),
        PartyInput(role="respondent", name="楼下住户", phone=PHONE_B),
    ]


# ---------------------------------------------------------------------------------------------
# Who sees what


PAGES = ["/disputes/{id}/", "/disputes/{id}/edit/", "/disputes/parties/{party}/"]


@pytest.mark.parametrize("name", ["chief", "officer", "auxiliary", "grid_worker", "mediator"])
def test_the_station_sees_the_dispute_pages(world: World, name: str) -> None:
    dispute = make_dispute(world)
    party = dispute.parties.first()
    assert party is not None
    client = world.client(name)
    for url in PAGES:
        page(client, url.format(id=dispute.pk, party=party.pk))
    listing = page(client, "/disputes/")
    assert dispute.number in listing
    page(client, "/disputes/repeat/")


@pytest.mark.parametrize("name", ["other_chief", "other_officer", "system_admin", "auditor"])
def test_others_get_404_and_a_denied_event(world: World, name: str) -> None:
    dispute = make_dispute(world)
    party = dispute.parties.first()
    assert party is not None
    client = world.client(name)
    for url in PAGES:
        before = last_seq()
        response = client.get(url.format(id=dispute.pk, party=party.pk))
        assert response.status_code == 404, url
        assert denied(world.users[name], before), url
    listing = client.get("/disputes/")
    assert listing.status_code in (200, 404) and dispute.number not in listing.content.decode()
    export = client.get("/disputes/export.xlsx")
    if name in ("system_admin", "auditor"):  # no case data at all: the pages do not exist
        assert listing.status_code == 404 and export.status_code == 404
    else:  # their own station's (empty) list
        assert listing.status_code == 200 and export.status_code == 200
        assert AuditEvent.objects.get(action="export").detail_data["rows"] == 0


def test_a_grid_worker_of_another_grid_sees_nothing(world: World) -> None:
    dispute = make_dispute(world, lon=IN_BLOCK_B[0], lat=IN_BLOCK_B[1])
    client = world.client("grid_worker")
    before = last_seq()
    assert client.get(f"/disputes/{dispute.pk}/").status_code == 404
    assert denied(world.users["grid_worker"], before)
    assert dispute.number not in page(client, "/disputes/")


def test_an_outside_member_sees_only_the_disputes_they_are_called_to(world: World) -> None:
    from jingwang.disputes import actions

    outside = mediation_member(world)
    called = make_dispute(world, people_involved=7)
    other = make_dispute(world, people_involved=8)
    actions.call_member(world.users["officer"], called, outside.member)
    client = Client()
    client.force_login(outside.user)
    page(client, f"/disputes/{called.pk}/")
    assert client.get(f"/disputes/{other.pk}/").status_code == 404
    listing = page(client, "/disputes/")
    assert called.number in listing and other.number not in listing


# ---------------------------------------------------------------------------------------------
# The list and its export


def test_the_list_filters_and_shows_overdue_disputes(world: World) -> None:
    late = make_dispute(world)
    Dispute.objects.filter(pk=late.pk).update(
        deadline=timezone.localdate() - timedelta(days=2), deadline_uncertain=True
    )
    fine = make_dispute(world, people_involved=7)
    client = world.client("chief")
    english(client)
    listing = page(client, "/disputes/")
    row = re.search(rf'<tr id="dispute-{late.pk}"[^>]*>[\s\S]*?</tr>', listing)
    assert row is not None and 'class="overdue"' in row.group(0) and "overdue-badge" in row.group(0)
    assert ">uncertain</small>" in row.group(0)
    other = re.search(rf'<tr id="dispute-{fine.pk}"[^>]*>', listing)
    assert other is not None and "overdue" not in other.group(0)
    only = page(client, "/disputes/?overdue=1")
    assert late.number in only and fine.number not in only
    tier2 = page(client, "/disputes/?tier=2")
    assert fine.number in tier2 and late.number not in tier2
    by_name = page(client, "/disputes/?q=刘大爷")
    assert late.number in by_name and fine.number in by_name
    by_number = page(client, f"/disputes/?q={fine.number}")
    assert fine.number in by_number and late.number not in by_number
    by_grid = page(client, f"/disputes/?grid={world.block_b.pk}")
    assert late.number not in by_grid
    assert client.get("/disputes/?from=yesterday").status_code == 400


def test_the_export_is_the_filtered_list_with_personal_data_masked(world: World) -> None:
    make_dispute(world)
    fine = make_dispute(world, people_involved=7)
    client = world.client("chief")
    response = client.get("/disputes/export.xlsx?tier=2")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert len(values) == 2 and fine.number in values[1]
    text = " ".join(str(v) for v in values[1] if v is not None)
    assert "139****5678" in text and PHONE_A not in text
    event = AuditEvent.objects.get(action="export", object_type="disputes.dispute")
    assert event.detail_data["rows"] == 1


# ---------------------------------------------------------------------------------------------
# Party timeline and repeat complainants


def test_a_repeat_complainant_is_flagged_with_their_timeline(world: World) -> None:
    disputes = [make_dispute(world) for _ in range(3)]
    client = world.client("officer")
    shown = page(client, f"/disputes/{disputes[-1].pk}/")
    liu = disputes[-1].parties.get(name="刘大爷")
    flag = re.search(rf'<tr id="party-{liu.pk}">[\s\S]*?</tr>', shown)
    assert flag is not None and "repeat" in flag.group(0)
    assert f'href="/disputes/parties/{liu.pk}/"' in flag.group(0)
    called_in = incident(world)  # the same phone called 110: one story
    story = page(client, f"/disputes/parties/{liu.pk}/")
    for d in disputes:
        assert d.number in story
    assert called_in.number in story and f'href="/incidents/{called_in.pk}/"' in story
    repeat = page(client, "/disputes/repeat/")
    assert "刘大爷" in repeat and all(d.number in repeat for d in disputes)


# ---------------------------------------------------------------------------------------------
# The home panel


def test_the_chief_sees_overdue_disputes_on_the_home_page(world: World) -> None:
    from jingwang.core import home
    from jingwang.disputes import queries

    late = make_dispute(world)
    Dispute.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    if "disputes" not in {panel.name for panel in home.panels()}:  # until ready() does it
        home.register(
            home.Panel(
                name="disputes",
                perm="disputes.triage",
                template="disputes/home_panel.html",
                context=queries.disputes_panel,
                order=30,
            )
        )
    shown = page(world.client("chief"), "/")
    assert 'id="panel-disputes"' in shown and late.number in shown
    assert "panel-disputes" not in page(world.client("auxiliary"), "/")


def test_a_party_is_removed_by_emptying_their_row(world: World) -> None:
    dispute = make_dispute(world, parties=_two_parties())
    client = world.client("officer")
    english(client)
    assert "To remove a party" in page(client, f"/disputes/{dispute.pk}/edit/")
    data = {
        "category": str(dispute.category_id),
        "facts": dispute.facts,
        "departments": "1",
        "coords": "wgs84",
        "version": str(dispute.version),
        "parties-count": "2",
    }
    for i, p in enumerate(dispute.parties.order_by("order", "id")):
        data |= {
            f"parties-{i}-party": str(p.pk),
            f"parties-{i}-role": p.role,
            f"parties-{i}-kind": p.kind,
            f"parties-{i}-name": p.name if i == 0 else "",
        }
    response = client.post(f"/disputes/{dispute.pk}/edit/", data)
    assert response.status_code == 302
    assert list(dispute.parties.values_list("name", flat=True)) == ["刘大爷"]
    assert dispute.parties.get().id_number == ID_ADULT  # kept, though never shown in full
