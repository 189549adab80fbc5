from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from jingwang.audit import triggers
from jingwang.audit.actions import record, verify
from jingwang.audit.models import AuditEvent


def make_events(world, n=5):
    for i in range(n):
        record(world.users["chief"], "test_event", world.block_a, detail={"i": i})


def tamper(sql, params):
    """What a database administrator could do: drop the guard, change a row, put it back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
            cursor.execute(sql, params)


def test_events_chain_and_verify(world, capsys):
    make_events(world)
    checked, broken = verify()
    assert (checked, broken) == (5, None)
    call_command("audit", "verify")
    assert "intact: 5 events" in capsys.readouterr().out


def test_verify_reports_the_first_altered_row(world):
    make_events(world)
    tamper("UPDATE audit_auditevent SET actor_name = %s WHERE seq = %s", ["mallory", 3])
    checked, broken = verify()
    assert broken is not None
    assert checked == 2 and broken.seq == 3 and broken.reason == "hash"
    with pytest.raises(CommandError, match="broken at event 3"):
        call_command("audit", "verify")


def test_verify_reports_a_removed_row(world):
    make_events(world)
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [4])
    _, broken = verify()
    assert broken is not None
    assert broken.seq == 4 and broken.reason == "missing"


def test_verify_reports_removed_newest_rows(world):
    make_events(world)
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [5])
    _, broken = verify()
    assert broken is not None
    assert broken.seq == 5 and broken.reason == "truncated"


def test_the_orm_refuses_to_change_events(world):
    make_events(world, 1)
    event = AuditEvent.objects.get()
    event.actor_name = "mallory"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.parametrize(
    "sql", ["UPDATE audit_auditevent SET actor_name = 'x'", "DELETE FROM audit_auditevent"]
)
def test_the_database_refuses_to_change_events(world, sql):
    triggers.install(connection)  # as the migration does (a browser test may have removed it)
    make_events(world, 1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.get().actor_name == "chief"


def test_a_failed_audit_write_fails_the_action(world, monkeypatch):
    from jingwang.people import actions
    from jingwang.people.models import Person

    def broken(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(actions, "record", broken)
    with pytest.raises(DatabaseError):
        actions.create_person(world.users["chief"], world.station, name="新人", kind="officer")
    assert not Person.objects.filter(name="新人").exists()


def test_only_the_auditor_reads_the_log_with_filters(world):
    make_events(world, 3)
    record(None, "login_failed", outcome="denied", actor_name="someone")
    client = world.client("auditor")
    page = client.get("/audit/?outcome=denied").content.decode()
    assert "someone" in page and "test_event" not in page.split("<tbody>")[1]
    page = client.get("/audit/?action=test_event&who=chief").content.decode()
    assert page.split("<tbody>")[1].count("<tr>") == 3
    assert client.get("/audit/?start=2026-02-30&end=nonsense").status_code == 200
    assert client.get("/audit/?verify=1").status_code == 200
    for role in ("chief", "security_admin", "system_admin", "bureau_admin"):
        assert world.client(role).get("/audit/").status_code == 404
