"""The audit page: the auditor's alone, with filters and the chain check."""

from __future__ import annotations

from jingwang.audit.actions import record
from jingwang.audit.tests.conftest import tamper


def make_events(world, n=3):
    for i in range(n):
        record(world.users["chief"], "test_event", world.block_a, detail={"i": i})


def test_only_the_auditor_reads_the_log_with_filters(world):
    make_events(world)
    record(None, "login_failed", outcome="denied", actor_name="someone")
    client = world.client("auditor")
    page = client.get("/audit/?outcome=denied").content.decode()
    assert "someone" in page and "test_event" not in page.split("<tbody>")[1]
    page = client.get("/audit/?action=test_event&who=chief").content.decode()
    assert page.split("<tbody>")[1].count("<tr>") == 3
    assert client.get("/audit/?start=2026-02-30&end=nonsense").status_code == 200
    for role in ("chief", "security_admin", "system_admin", "bureau_admin"):
        assert world.client(role).get("/audit/").status_code == 404


def test_the_page_checks_the_chain_and_names_the_broken_event(world):
    make_events(world)
    client = world.client("auditor")
    page = client.get("/audit/?verify=1").content.decode()
    assert "哈希链完整：已校验 3 条事件。" in page and "尚无封存检查点。" in page
    tamper(("UPDATE audit_auditevent SET actor_name = %s WHERE seq = %s", ["mallory", 2]))
    page = client.get("/audit/?verify=1").content.decode()
    assert "哈希链在第 2 条事件处断开：该事件与其校验码不符" in page
    client.cookies["jingwang_language"] = "en"
    page = client.get("/audit/?verify=1").content.decode()
    assert "The chain is broken at event 2: the event does not match its MAC" in page
