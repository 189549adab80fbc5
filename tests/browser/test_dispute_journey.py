"""The dispute loop end to end, in Chromium (issue 8, "Done when"): a grid worker registers a
dispute on a phone; triage puts it in tier 2 and says why; at the desk a session fails, the
dispute is escalated to tier 3, a session agrees, the agreement is signed and its PDF downloads
with correct Chinese; a follow-up marks it carried out; the figures move."""

from __future__ import annotations

import re
from typing import Any

import pymupdf
import pytest
from django.utils import timezone, translation

from jingwang.disputes import actions, rules
from jingwang.disputes.models import Agreement, Dispute, Tier
from tests.cast import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def figures(page: Any, base: str) -> dict[str, int]:
    """Registered, succeeded and carried out (the agreements found carried out) as the figures
    page shows them for the last 12 months."""
    page.goto(f"{base}/disputes/figures/")
    done = page.locator("#fig-carried-out + dd").inner_text()
    return {
        "registered": int(page.locator("#fig-registered").inner_text()),
        "succeeded": int(page.locator("#fig-succeeded").inner_text()),
        "carried_out": int(re.findall(r"\d+", done)[0]),
    }


def step(page: Any, name: str) -> Any:
    """Open a step's panel on the dispute's page; its form."""
    page.locator(f"#step-{name} > summary").click()
    return page.locator(f"#{name}-form")


def submit(page: Any, form: Any) -> None:
    with page.expect_navigation():
        form.locator("button.primary").click()


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def test_a_dispute_goes_from_a_phone_to_a_carried_out_agreement(
    browser: Any, live_server: Any, world: Any
) -> None:
    base = live_server.url
    station = world.station
    chief = world.users["chief"]
    bodies = {b.tier: b for b in actions.ensure_bodies(station)}
    mediator = world.people["mediator"]
    room = actions.add_member(chief, bodies[3], mediator, role="mediator")
    actions.add_member(chief, bodies[2], mediator, role="mediator")

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    page.set_default_timeout(15000)
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    log_in(page, base, "officer")
    before = figures(page, base)

    # 1. The grid worker registers it on a phone: six people involved.
    mobile = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = mobile.new_page()
    phone.set_default_timeout(15000)
    log_in(phone, base, "grid_worker")
    phone.goto(f"{base}/disputes/new/")
    phone.select_option("select[name=category]", label="邻里纠纷")
    phone.fill("textarea[name=facts]", "五楼老人家水管漏水渗到四楼，两家六口人多次争吵")
    phone.fill("input[name=people_involved]", "6")
    phone.fill("input[name=amount]", "3000")
    phone.fill("input[name=address]", "东街社区12号4单元")
    phone.fill("input[name=lon]", "105.003")
    phone.fill("input[name=lat]", "31.004")
    phone.fill("input[name=parties-0-name]", "陈大爷")
    phone.fill("input[name=parties-0-phone]", "13912345678")
    phone.fill("input[name=parties-1-name]", "刘女士")
    # The page fits the phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    with phone.expect_navigation():
        phone.locator("#dispute-form button.primary").click()
    dispute = Dispute.objects.get(facts__startswith="五楼老人家")
    assert phone.url.rstrip("/").endswith(f"/disputes/{dispute.pk}")
    assert dispute.tier == 2 and dispute.registered_by == world.users["grid_worker"]
    assert dispute.grid is not None and dispute.grid.code.startswith(world.block_a.code)
    # Tier 2, and why, in the grid worker's language.
    assert zh("Tier %(tier)s") % {"tier": 2} in phone.locator("#tier-badge").inner_text()
    with translation.override("zh-hans"):
        why = rules.describe(rules.Reason("people", 2, {"threshold": 5, "value": 6}))
        tier_name = str(Tier(2).label)
    assert why in phone.locator("#reasons").inner_text()
    assert tier_name in phone.locator("#tier").inner_text()
    assert "139****5678" in phone.content() and "13912345678" not in phone.content()
    mobile.close()

    # 2. At the desk: people's mediation, a session that fails.
    detail = f"{base}/disputes/{dispute.pk}/"
    page.goto(detail)
    form = step(page, "track")
    form.locator("input[name=track][value=people]").check()
    submit(page, form)
    dispute.refresh_from_db()
    assert dispute.track == "people" and dispute.deadline is not None

    form = step(page, "session")
    form.locator("select[name=result]").select_option("failed")
    form.locator("textarea[name=said]").fill("双方各执一词，楼下要求赔偿，老人认为是主管道问题")
    submit(page, form)
    assert dispute.sessions.get().result == "failed"

    # 3. Escalated to tier 3 with a reason: the history keeps 2 → 3.
    form = step(page, "tier")
    form.locator("select[name=tier]").select_option("3")
    form.locator("textarea[name=reason]").fill("涉及物业和住建部门，需多部门联合调处")
    submit(page, form)
    dispute.refresh_from_db()
    assert dispute.tier == 3
    history = page.locator("#tier-history").inner_text()
    assert "2 → 3" in history and "涉及物业和住建部门" in history

    # 4. In the mediation room the session agrees; the agreement is signed.
    form = step(page, "session")
    form.locator(f"input[name=participants][value='{room.pk}']").check()
    form.locator("select[name=result]").select_option("agreed")
    form.locator("textarea[name=offered]").fill("物业更换主管道接口，老人更换支管")
    submit(page, form)
    assert dispute.sessions.filter(result="agreed", tier=3).exists()

    today = timezone.localdate().isoformat()
    form = step(page, "agreement")
    form.locator("input[name=form][value=written]").check()
    form.locator("textarea[name=terms]").fill(
        "物业十日内更换主管道接口；陈大爷更换支管；双方和睦相处。"
    )
    form.locator("textarea[name=performance]").fill("十日内维修完毕，调解员回访")
    form.locator("input[name=perform_by]").fill(today)
    form.locator("input[name=signed_on]").fill(today)
    for name in ("陈大爷", "刘女士"):
        form.locator(f"input[name=signatories][value='{name}']").check()
    submit(page, form)
    agreement = Agreement.objects.get(dispute=dispute)
    dispute.refresh_from_db()
    assert dispute.status == "agreed" and agreement.form == "written"

    # 5. Its PDF downloads, in correct Chinese.
    with page.expect_download() as info:
        page.click(f"#agreement-pdf-{agreement.pk}")
    path = info.value.path()
    with pymupdf.open(path) as pdf:
        text = "".join(p.get_text() for p in pdf)
    assert "人民调解协议书" in text
    assert "陈大爷" in text and "刘女士" in text and agreement.number in text

    # 6. The follow-up finds it carried out.
    page.goto(detail)
    form = step(page, f"followup-{agreement.pk}")
    form.locator("select[name=method]").select_option("visit")
    form.locator("select[name=result]").select_option("performed")
    form.locator("textarea[name=notes]").fill("已维修，不再漏水")
    submit(page, form)
    dispute.refresh_from_db()
    agreement.refresh_from_db()
    assert dispute.status == "performed" and agreement.status == "performed"
    assert dispute.closed_at is not None

    # 7. The figures moved: one more registered, succeeded and carried out.
    after = figures(page, base)
    assert after == {key: value + 1 for key, value in before.items()}
    assert all(url.startswith(base) for url in seen), [u for u in seen if not u.startswith(base)]
    desk.close()
