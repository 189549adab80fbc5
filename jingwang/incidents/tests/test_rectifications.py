"""Rectifications (整改) and the station's callback settings: the chief's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.audit.queries import timeline
from jingwang.incidents.models import (
    Callback,
    Incident,
    Rectification,
    StationCallbackSettings,
)
from jingwang.incidents.tests.callback_helpers import (
    add_user,
    category,
    due_callback,
    open_rectification,
    rows_of,
)

TABLES = (Rectification, Callback, Incident, StationCallbackSettings)


def denied(world, name):
    return AuditEvent.objects.filter(outcome="denied", actor_id=world.users[name].id).count()


def test_the_chief_finds_open_and_overdue_rectifications_on_the_home_page(world):
    late = open_rectification(world)
    Rectification.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    open_rectification(world)
    page = world.client("chief").get("/")
    panel = page.context["panels"][[p.name for p in page.context["panels"]].index("rectifications")]
    assert (panel.context["open"], panel.context["overdue"]) == (2, 1)
    text = page.content.decode()
    assert 'id="panel-rectifications"' in text and late.incident.number in text
    for name in ("officer", "auxiliary", "auditor"):
        assert 'id="panel-rectifications"' not in world.client(name).get("/").content.decode()
    # The other station's chief has the panel, with nothing of TC in it.
    other = world.client("other_chief").get("/")
    assert late.incident.number not in other.content.decode()


def test_the_list_filters_open_overdue_and_closed(world):
    late = open_rectification(world)
    Rectification.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    fresh = open_rectification(world)
    client = world.client("chief")

    def ids(status):
        page = client.get(f"/incidents/rectifications/?status={status}").context["page"]
        return {r.pk for r in page}

    assert ids("open") == {late.pk, fresh.pk}
    assert ids("overdue") == {late.pk}
    assert ids("closed") == set()
    assert (
        world.client("other_chief")
        .get("/incidents/rectifications/")
        .context["page"]
        .object_list.count()
        == 0
    )


def test_the_chief_writes_findings_and_actions_then_closes_with_the_closing_callback(world):
    rectification = open_rectification(world)
    client = world.client("chief")
    url = f"/incidents/rectifications/{rectification.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and "民警态度生硬" in page.content.decode()
    # Closing before the findings: refused, named.
    client.post(f"{url}close/", {"closing_rating": "satisfied", "version": "1"})
    assert Rectification.objects.get().status == "open"
    response = client.post(
        url, {"findings": "出警民警语气生硬", "actions_taken": "批评教育，组织培训", "version": "1"}
    )
    assert response.status_code == 302
    rectification.refresh_from_db()
    assert (rectification.findings, rectification.version) == ("出警民警语气生硬", 2)
    # A stale edit is refused.
    client.post(url, {"findings": "旧的", "actions_taken": "旧的", "version": "1"})
    rectification.refresh_from_db()
    assert rectification.findings == "出警民警语气生硬"
    response = client.post(
        f"{url}close/",
        {"closing_rating": "basically", "closing_note": "群众表示理解", "version": "2"},
    )
    assert response.status_code == 302
    rectification.refresh_from_db()
    assert (rectification.status, rectification.closing_rating, rectification.closing_note) == (
        "closed",
        "basically",
        "群众表示理解",
    )
    actions = [event.action for event in timeline(rectification.incident)]
    assert {"update_rectification", "close_rectification"} <= set(actions)


WRITES = [
    ("", {"findings": "x", "actions_taken": "y", "version": "1"}),
    ("close/", {"closing_rating": "satisfied", "version": "1"}),
]


@pytest.mark.parametrize("path, data", WRITES)
@pytest.mark.parametrize(
    "name", ["other_chief", "officer", "auxiliary", "grid_worker", "auditor", "system_admin"]
)
def test_who_may_not_manage_a_rectification_gets_404_and_nothing_changes(world, name, path, data):
    rectification = open_rectification(world)
    Rectification.objects.filter(pk=rectification.pk).update(findings="f", actions_taken="a")
    before, refused = rows_of(*TABLES), denied(world, name)
    response = world.client(name).post(f"/incidents/rectifications/{rectification.pk}/{path}", data)
    assert response.status_code == 404
    assert rows_of(*TABLES) == before
    assert denied(world, name) > refused


def test_the_chief_sets_sms_surveys_and_further_officer_only_categories(world):
    noise_callback = due_callback(world, code="public_order.noise")
    client = world.client("chief")
    page = client.get("/incidents/station-settings/")
    assert page.status_code == 200
    noise = category(world, "public_order.noise")
    response = client.post(
        "/incidents/station-settings/?station=TC",
        {"sms_survey": "on", "officer_only_categories": [str(noise.pk)], "version": "0"},
    )
    assert response.status_code == 302
    settings = StationCallbackSettings.objects.get(station=world.station)
    assert settings.sms_survey and list(settings.officer_only_categories.all()) == [noise]
    # The due callback of that category is now an officer's.
    noise_callback.refresh_from_db()
    assert noise_callback.officer_only
    assert (
        world.client("auxiliary").get(f"/incidents/callbacks/{noise_callback.pk}/").status_code
        == 404
    )
    event = AuditEvent.objects.get(action="update_callback_settings")
    assert '"callbacks_changed": 1' in event.detail
    # A second first save (version 0) is stale.
    again = client.post(
        "/incidents/station-settings/?station=TC", {"sms_survey": "", "version": "0"}
    )
    assert again.status_code == 400
    assert StationCallbackSettings.objects.get().sms_survey


@pytest.mark.parametrize(
    "name", ["other_chief", "officer", "auxiliary", "grid_worker", "auditor", "system_admin"]
)
def test_who_may_not_configure_the_station_gets_404_and_nothing_changes(world, name):
    before, refused = rows_of(*TABLES), denied(world, name)
    response = world.client(name).post(
        "/incidents/station-settings/?station=TC", {"sms_survey": "on", "version": "0"}
    )
    assert response.status_code == 404
    assert rows_of(*TABLES) == before
    assert denied(world, name) > refused


def test_a_rectification_without_a_chief_still_opens(world):
    from jingwang.incidents import actions_callbacks as actions

    chief = world.users["chief"]
    chief.is_active = False
    chief.save()
    callback = due_callback(world)
    actions.record_callback(
        world.users["officer"],
        callback,
        speed="dissatisfied",
        attitude="dissatisfied",
        handling="dissatisfied",
        version=1,
    )
    assert Rectification.objects.get().owner is None


def test_a_new_officer_of_grid_b_sees_no_grid_a_callback_in_their_queue(world):
    add_user(world, "officer_b", "officer", world.block_b, "community_officer")
    due_callback(world)
    page = world.client("officer_b").get("/incidents/callbacks/")
    assert list(page.context["page"]) == []
    everyone = world.client("officer_b").get("/incidents/callbacks/?scope=all")
    assert len(everyone.context["page"]) == 1  # an officer's scope is the station
