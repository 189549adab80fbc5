"""A caller answers the callback through the SMS link, on a phone-sized screen, without an
account; the link then works no more and the chief finds the rectification."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jingwang.incidents import actions_callbacks as actions
from jingwang.incidents.models import Callback, Rectification, StationCallbackSettings
from jingwang.incidents.tests.callback_helpers import due_callback
from jingwang.sms.models import Message

pytestmark = pytest.mark.browser


def test_a_caller_answers_the_sms_survey_on_a_phone(phone: Any, live_server: Any, world: Any):
    StationCallbackSettings.objects.create(station=world.station, sms_survey=True)
    callback = due_callback(world)
    actions.send_survey(callback.pk)
    # The link, as the caller reads it in the text.
    text = Message.objects.get(ref=f"incidents.callback:{callback.pk}").text
    found = re.search(r"/s/[A-Za-z0-9_-]{16}", text)
    assert found is not None
    path = found.group(0)

    phone.goto(f"{live_server.url}{path}")
    about = phone.locator("#survey-about").inner_text()
    assert "治安案件" in about  # the kind, and nothing more of the incident
    body = phone.locator("body").inner_text()
    assert callback.incident.number not in body and "噪声" not in body and "陈女士" not in body
    # It fits the phone: nothing to scroll sideways.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.locator("#q-speed label", has_text="基本满意").click()
    phone.locator("#q-attitude label", has_text="不满意").click()
    phone.locator("#q-handling label", has_text="满意").first.click()
    phone.fill("textarea[name=suggestions]", "接警员说话太冲")
    phone.click("#send")
    phone.wait_for_selector("#thanks")

    callback.refresh_from_db()
    assert (callback.status, callback.channel) == ("done", "sms")
    assert (callback.speed, callback.attitude, callback.handling) == (
        "basically",
        "dissatisfied",
        "satisfied",
    )
    assert Rectification.objects.get(callback=callback).caller_words == "接警员说话太冲"
    # Once only.
    phone.goto(f"{live_server.url}{path}")
    assert "已填写过" in phone.locator("#survey-gone").inner_text()
    assert Callback.objects.get(pk=callback.pk).attitude == "dissatisfied"
