"""The incident loop end to end, in Chromium: an officer records an incident from the map and
closes it; the next working day's job queues its callback; an auxiliary works it and the caller
is dissatisfied; the chief sees the rectification on the home page and closes it; the figures
change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jingwang.core import workdays
from jingwang.incidents.actions_callbacks import queue_callbacks
from jingwang.incidents.models import Callback, Incident, Rectification
from tests.cast import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def figure(page: Any, base: str, name: str) -> str:
    page.goto(f"{base}/incidents/figures/")
    return str(page.locator(f"#fig-{name}").inner_text()).strip()


def test_an_incident_goes_round_the_whole_loop(browser: Any, live_server: Any, world: Any):
    base = live_server.url
    officer = browser.new_context(viewport={"width": 1280, "height": 900})
    page = officer.new_page()
    page.set_default_timeout(15000)
    log_in(page, base, "officer")
    assert figure(page, base, "incidents") == "0"

    # The handling day: long enough ago that the next working day has come, whatever today is.
    day = timezone.localdate() - timedelta(days=10)
    stamp = day.isoformat()

    # 1. From the map: click inside a grid, "New incident here".
    page.goto(f"{base}/territory/")
    page.wait_for_selector("#map[data-ready='1']")
    page.locator("#map path.leaflet-interactive").first.click()
    page.locator(".leaflet-popup-content a.map-create").click()
    page.wait_for_url(f"{base}/incidents/new/**")
    lon = float(page.input_value("input[name=lon]"))
    lat = float(page.input_value("input[name=lat]"))
    assert 105.0 <= lon <= 105.02 and 31.0 <= lat <= 31.01
    page.fill("input[name=number]", "J5107220001")
    page.fill("input[name=received_at]", f"{stamp}T09:00")
    page.select_option("select[name=source]", "call_110")
    page.select_option("select[name=category]", label="邻里纠纷")
    page.fill("textarea[name=summary]", "楼上漏水，邻里争吵")
    page.fill("input[name=caller_name]", "陈女士")
    page.fill("input[name=caller_phone]", "13912345678")
    page.click("#incident-form button.primary")
    page.wait_for_selector("#timeline")
    incident = Incident.objects.get(number="J5107220001")
    assert incident.grid is not None and incident.grid.level == "cluster"
    assert "139****5678" in page.content() and "13912345678" not in page.content()

    # Dispatched, on scene, closed.
    page.fill("#dispatch-form input[name=at]", f"{stamp}T09:05")
    page.click("#dispatch-form button")
    page.wait_for_selector("#arrive-form")
    page.fill("#arrive-form input[name=at]", f"{stamp}T09:20")
    page.click("#arrive-form button")
    page.wait_for_selector("#close-form")
    page.fill("#close-form textarea[name=result]", "调解双方，约定维修")
    page.fill("#close-form input[name=at]", f"{stamp}T10:00")
    page.click("#close-form button")
    page.wait_for_selector("#status")
    incident.refresh_from_db()
    assert incident.status == "closed"
    assert not Callback.objects.filter(incident=incident).exists()

    # 2. The next working day's job queues the callback (here: run as it would have then).
    due = workdays.next_working_day(day).on
    queue_callbacks(today=due)
    callback = Callback.objects.get(incident=incident)
    assert callback.due_on == due and callback.status == "due"
    officer.close()

    # 3. The auxiliary of the grid works it: the caller is dissatisfied with the attitude.
    auxiliary = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True)
    phone = auxiliary.new_page()
    phone.set_default_timeout(15000)
    log_in(phone, base, "auxiliary")
    phone.goto(f"{base}/incidents/callbacks/")
    phone.locator("#callbacks a", has_text="J5107220001").first.click()
    assert "139****5678" in phone.locator("#caller-number").inner_text()
    phone.click("#show-number")
    # Shown in full to the one working the callback (and audited).
    phone.locator("a[href='tel:13912345678']").wait_for()
    phone.locator("#q-speed label", has_text="基本满意").click()
    phone.locator("#q-attitude label", has_text="不满意").click()
    phone.locator("#q-handling label", has_text="满意").first.click()
    phone.fill("textarea[name=suggestions]", "民警说话太冲")
    phone.click("#answers button")
    phone.wait_for_url(f"{base}/incidents/callbacks/")
    assert "已为所长启动整改" in phone.locator("main").inner_text()
    callback.refresh_from_db()
    assert callback.status == "done" and callback.attitude == "dissatisfied"
    rectification = Rectification.objects.get(callback=callback)
    auxiliary.close()

    # 4. The chief finds it on the home page and closes it.
    chief = browser.new_context(viewport={"width": 1280, "height": 900})
    page = chief.new_page()
    page.set_default_timeout(15000)
    log_in(page, base, "chief")
    assert figure(page, base, "rect-open") == "1"
    page.goto(f"{base}/")
    page.locator("a", has_text="J5107220001").first.click()
    page.wait_for_selector("#rectification-form")
    assert "民警说话太冲" in page.locator("#caller-words").inner_text()
    page.fill("#rectification-form textarea[name=findings]", "接警民警语气生硬")
    page.fill("#rectification-form textarea[name=actions_taken]", "批评教育，所内通报")
    page.click("#rectification-form button.primary")
    page.wait_for_selector("#close-form")
    page.check("#close-form input[name=closing_rating][value=satisfied]")
    page.fill("#close-form textarea[name=closing_note]", "回访表示满意")
    page.click("#close-form button")
    page.wait_for_url(f"{base}/incidents/rectifications/")
    rectification.refresh_from_db()
    assert rectification.status == "closed"

    # 5. The figures show it: one incident, its callback done, no rectification left open.
    assert figure(page, base, "incidents") == "1"
    assert figure(page, base, "coverage").startswith("100")
    assert figure(page, base, "rect-open") == "0"
    # And the incident's timeline tells the whole story.
    page.goto(f"{base}/incidents/{incident.id}/")
    timeline = page.locator("#timeline").inner_text()
    for step in ("登记警情", "结警", "生成回访任务", "记录回访结果", "整改完结"):
        assert step in timeline, step
    chief.close()
