"""The SMS survey: a public page at a short link, once, for 72 hours, showing only the date
and the kind of the incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.incidents import actions_callbacks as actions
from jingwang.incidents import views_callbacks
from jingwang.incidents.models import Callback, Rectification, StationCallbackSettings, SurveyLink
from jingwang.incidents.tests.callback_helpers import PHONE, due_callback

ANSWERS = {"speed": "satisfied", "attitude": "satisfied", "handling": "basically"}


@pytest.fixture(autouse=True)
def _fresh_guess_counts():
    """The count of unknown tokens per address lives in the cache: each test starts afresh."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def sent(world, settings):
    settings.SMS_LINK_BASE = "https://jw.example.gov.cn"
    StationCallbackSettings.objects.create(station=world.station, sms_survey=True)
    callback = due_callback(world)
    survey = actions.send_survey(callback.pk)
    assert survey is not None
    return survey


def test_the_text_carries_a_short_link_to_the_survey(sent):
    assert sent.url == f"https://jw.example.gov.cn/s/{sent.token}"
    assert len(sent.token) == 16
    assert sent.url in sent.message.text
    assert sent.message.phone == PHONE


def test_the_outbox_shows_the_text_but_not_the_token_that_opens_the_survey(sent, world):
    page = world.client("chief").get("/sms/").content.decode()
    assert "https://jw.example.gov.cn/s/…" in page
    assert sent.token not in page


def test_the_page_needs_no_login_and_shows_only_the_date_and_the_kind(sent):
    page = Client().get(f"/s/{sent.token}")
    assert page.status_code == 200
    text = page.content.decode()
    incident = sent.link.callback.incident
    assert timezone.localdate(incident.received_at).isoformat() in text
    assert "治安案件" in text  # the top-level category, not "噪声扰民"
    for private in (
        incident.number,
        "噪声扰民",
        incident.summary,
        incident.caller_name,
        PHONE,
        "1111",
        incident.result,
        incident.grid.code,
    ):
        assert private not in text, private
    assert 'name="speed"' in text and 'name="suggestions"' in text


def test_an_answer_closes_the_callback_once(sent):
    client = Client()
    response = client.post(f"/s/{sent.token}", {**ANSWERS, "suggestions": "很好"})
    assert response.status_code == 200
    callback = Callback.objects.get()
    assert (callback.status, callback.channel, callback.handling, callback.suggestions) == (
        "done",
        "sms",
        "basically",
        "很好",
    )
    assert callback.done_by is None
    event = AuditEvent.objects.get(action="answer_survey")
    assert (event.actor_name, event.subject_id) == ("caller", str(callback.incident_id))
    again = client.post(f"/s/{sent.token}", {**ANSWERS, "speed": "dissatisfied"})
    assert again.status_code == 410
    assert client.get(f"/s/{sent.token}").status_code == 410
    assert Callback.objects.get().speed == "satisfied"
    assert not Rectification.objects.exists()


def test_a_dissatisfied_caller_opens_a_rectification(sent, world):
    Client().post(
        f"/s/{sent.token}", {**ANSWERS, "handling": "dissatisfied", "suggestions": "没解决"}
    )
    rectification = Rectification.objects.get()
    assert (rectification.owner, rectification.caller_words) == (world.users["chief"], "没解决")


def test_the_link_expires_after_72_hours(sent):
    SurveyLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(f"/s/{sent.token}").status_code == 410
    assert Client().post(f"/s/{sent.token}", ANSWERS).status_code == 410
    assert Callback.objects.get().status == "due"


def test_answered_by_phone_meanwhile(sent, world):
    callback = Callback.objects.get()
    actions.record_callback(world.users["auxiliary"], callback, version=1, **ANSWERS)
    response = Client().get(f"/s/{sent.token}")
    assert response.status_code == 410


def test_a_missing_answer_is_named_and_the_link_still_works(sent):
    response = Client().post(f"/s/{sent.token}", {"speed": "satisfied"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"attitude", "handling"}
    assert Client().get(f"/s/{sent.token}").status_code == 200


@pytest.mark.parametrize(
    "junk",
    ["x", "AAAAAAAAAAAAAAAA", "%00", "' or 1=1 --", "٣٣٣٣٣٣٣٣٣٣", "a" * 300, "..", "%F0%9F%98%80"],
)
def test_junk_tokens_are_a_plain_404_never_a_500(db, junk):
    response = Client().get(f"/s/{junk}")
    assert response.status_code == 404
    assert Client().post(f"/s/{junk}", ANSWERS).status_code == 404


def test_guessing_tokens_is_cut_off(db):
    client = Client()
    for n in range(views_callbacks.MISSES_ALLOWED):
        assert client.get(f"/s/guess{n:011d}").status_code == 404
    response = client.get("/s/guess99999999999")
    assert response.status_code == 429 and response["Retry-After"]


def test_no_text_for_officer_only_categories_or_stations_that_send_none(world):
    quiet = due_callback(world)
    assert actions.send_survey(quiet.pk) is None  # the station sends none
    StationCallbackSettings.objects.create(station=world.station, sms_survey=True)
    violence = due_callback(world, code="public_order.domestic_violence")
    assert actions.send_survey(violence.pk) is None
    assert actions.send_survey(quiet.pk) is not None
    assert actions.send_survey(quiet.pk) is None  # delivered twice: one text
    assert SurveyLink.objects.count() == 1
