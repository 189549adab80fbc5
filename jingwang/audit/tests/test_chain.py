"""The chain under the audit key: each attack a database administrator without the key could try,
done as they would do it (SQL, with the append-only triggers out of the way), is named by
``jingwang audit verify`` at the first bad event."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from jingwang.audit import chain, triggers
from jingwang.audit.actions import ChainHeadTampered, record, verify
from jingwang.audit.models import AuditEvent, ChainHead
from jingwang.audit.tests.conftest import tamper

OTHER_KEY = bytes.fromhex("5f" * 32)


def make_events(world, n=5):
    for i in range(n):
        record(world.users["chief"], "test_event", world.block_a, detail={"i": i})


def head_row():
    head = ChainHead.objects.get(pk=1)
    return head.seq, head.hash, head.mac


def set_head(seq, hash_, mac=None):
    if mac is None:
        return ("UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1", [seq, hash_])
    return (
        "UPDATE audit_chainhead SET seq = %s, hash = %s, mac = %s WHERE id = 1",
        [seq, hash_, mac],
    )


def rewrite(events, *, version, key=None):
    """Re-chain ``events`` (already edited in memory) after the event before the first of them,
    as someone without the audit key would: plain SHA-256, or a MAC under a key of their own.
    Returns the SQL that puts them in the table, and the new last hash."""
    prev = (
        AuditEvent.objects.get(seq=events[0].seq - 1).hash if events[0].seq > 1 else chain.GENESIS
    )
    statements = []
    for event in events:
        event.version, event.prev_hash = version, prev
        if version == chain.LEGACY:
            event.hash = hashlib.sha256(chain.canonical(event, chain.LEGACY)).hexdigest()
        else:
            event.hash = chain.event_hash(event, key)
        prev = event.hash
        statements.append(
            (
                "UPDATE audit_auditevent SET actor_name = %s, detail = %s, version = %s, "
                "prev_hash = %s, hash = %s WHERE seq = %s",
                [event.actor_name, event.detail, version, event.prev_hash, event.hash, event.seq],
            )
        )
    return statements, prev


def assert_named(seq, reason):
    result = verify()
    assert result.broken is not None, "verify called a tampered chain intact"
    assert (result.broken.seq, result.broken.reason) == (seq, reason)
    with pytest.raises(CommandError, match=f"broken at event {seq}:"):
        call_command("audit", "verify")
    return result


def test_events_chain_under_the_key_and_verify(world, capsys):
    make_events(world)
    result = verify()
    assert (result.checked, result.legacy, result.broken) == (5, 0, None)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(e.version == chain.KEYED for e in events)
    # Not the plain SHA-256 of the content: that anyone could recompute.
    assert events[0].hash != hashlib.sha256(chain.canonical(events[0], chain.KEYED)).hexdigest()
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "intact: 5 events checked" in out and "no sealed checkpoint yet" in out


def test_altering_a_field_is_named(world):
    make_events(world)
    tamper(("UPDATE audit_auditevent SET actor_name = %s WHERE seq = %s", ["mallory", 3]))
    result = assert_named(3, "hash")
    assert result.checked == 2


def test_deleting_a_middle_event_is_named(world):
    make_events(world)
    tamper(("DELETE FROM audit_auditevent WHERE seq = %s", [3]))
    assert_named(3, "missing")


def test_deleting_the_newest_events_is_named_even_with_the_head_moved_back(world):
    make_events(world)
    h3 = AuditEvent.objects.get(seq=3).hash
    tamper("DELETE FROM audit_auditevent WHERE seq > 3", set_head(3, h3))
    assert_named(4, "head")


def test_deleting_the_newest_events_and_leaving_the_head_is_named(world):
    make_events(world)
    tamper("DELETE FROM audit_auditevent WHERE seq > 3")
    assert_named(4, "truncated")


def test_editing_and_rechaining_with_plain_sha256_is_named(world):
    make_events(world)
    events = list(AuditEvent.objects.filter(seq__gte=3).order_by("seq"))
    events[0].actor_name = "mallory"
    statements, last = rewrite(events, version=chain.LEGACY)
    tamper(*statements, set_head(5, last))
    assert_named(3, "unkeyed")


def test_rewriting_the_whole_chain_with_plain_sha256_is_named(world):
    make_events(world)
    events = list(AuditEvent.objects.order_by("seq"))
    events[2].actor_name = "mallory"
    statements, last = rewrite(events, version=chain.LEGACY)
    tamper(*statements, set_head(5, last))
    assert_named(1, "unkeyed")


def test_editing_and_rechaining_under_another_key_is_named(world):
    make_events(world)
    events = list(AuditEvent.objects.filter(seq__gte=3).order_by("seq"))
    events[0].detail = json.dumps({"i": 99})
    statements, last = rewrite(events, version=chain.KEYED, key=OTHER_KEY)
    tamper(*statements, set_head(5, last, chain.head_mac(5, last, OTHER_KEY)))
    assert_named(3, "hash")


def test_reordering_two_events_is_named(world):
    make_events(world)
    tamper(
        "UPDATE audit_auditevent SET seq = 1000000 WHERE seq = 3",
        "UPDATE audit_auditevent SET seq = 3 WHERE seq = 4",
        "UPDATE audit_auditevent SET seq = 4 WHERE seq = 1000000",
    )
    assert_named(3, "prev_hash")


@pytest.mark.parametrize("version", [chain.KEYED, chain.LEGACY])
def test_appending_a_forged_event_is_named(world, version):
    make_events(world)
    forged = AuditEvent.objects.get(seq=5)
    forged.pk, forged.seq, forged.detail = None, 6, json.dumps({"i": "forged"})
    forged._state.adding = True
    _, last = rewrite([forged], version=version, key=OTHER_KEY)
    forged.save(force_insert=True)  # an INSERT: the triggers allow it
    tamper(set_head(6, last))
    assert_named(6, "unkeyed" if version == chain.LEGACY else "hash")


def test_truncating_everything_after_a_seal_is_named(world, settings):
    make_events(world, 2)
    old_head = head_row()  # what an administrator who watched the database could have kept
    make_events(world, 3)
    call_command("audit", "seal")
    assert json.loads(settings.AUDIT_SEAL_FILE.read_text())["seq"] == 5
    # Remove the three newest events and put back the head as it was: a consistent, shorter chain.
    tamper("DELETE FROM audit_auditevent WHERE seq > 2", set_head(*old_head))
    assert_named(3, "truncated")


def test_a_checkpoint_that_fails_its_mac_is_named_by_its_line(world, settings):
    make_events(world, 3)
    call_command("audit", "seal")
    line = json.loads(settings.AUDIT_SEAL_FILE.read_text())
    line["seq"] = 2  # someone moves the checkpoint back in the file
    settings.AUDIT_SEAL_FILE.write_text(json.dumps(line) + "\n")
    result = verify()
    assert result.broken is not None and result.broken.reason == "seal_mac"
    assert result.broken.line == 1
    with pytest.raises(CommandError, match="seal file .* altered at line 1"):
        call_command("audit", "verify")


def test_a_rewritten_sealed_event_is_named(world, settings):
    """A checkpoint outlives even a rewrite by someone who had the key (a former administrator):
    the sealed event must still carry the sealed hash."""
    make_events(world, 3)
    call_command("audit", "seal")
    key = chain.current_key()
    events = list(AuditEvent.objects.filter(seq__gte=2).order_by("seq"))
    events[0].actor_name = "mallory"
    statements, last = rewrite(events, version=chain.KEYED, key=key)
    tamper(*statements, set_head(3, last, chain.head_mac(3, last, key)))
    assert_named(3, "seal")


def test_seals_match_and_sealing_is_idempotent(world, settings, capsys):
    make_events(world, 3)
    call_command("audit", "seal")
    call_command("audit", "seal")
    assert "nothing new to seal" in capsys.readouterr().out
    make_events(world, 2)
    call_command("audit", "seal")
    lines = settings.AUDIT_SEAL_FILE.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3, 5]
    assert set(json.loads(lines[0])) == {"v", "seq", "hash", "at", "mac"}
    result = verify()
    assert (result.broken, result.checkpoints, result.last_sealed) == (None, 2, 5)
    call_command("audit", "verify")
    assert "2 sealed checkpoints matched (the newest at event 5)" in capsys.readouterr().out


def test_a_broken_chain_is_not_sealed(world, settings):
    make_events(world, 3)
    tamper(("UPDATE audit_auditevent SET actor_name = %s WHERE seq = %s", ["mallory", 2]))
    with pytest.raises(CommandError, match="not sealed: audit chain broken at event 2"):
        call_command("audit", "seal")
    assert not settings.AUDIT_SEAL_FILE.exists() or settings.AUDIT_SEAL_FILE.read_text() == ""


def test_a_moved_head_stops_every_audited_write(world):
    make_events(world, 3)
    h2 = AuditEvent.objects.get(seq=2).hash
    tamper("DELETE FROM audit_auditevent WHERE seq = 3", set_head(2, h2))
    # Otherwise the next event would link to event 2 and hide the removal.
    with pytest.raises(ChainHeadTampered), transaction.atomic():
        record(world.users["chief"], "test_event")
    assert AuditEvent.objects.count() == 2


def test_verify_under_another_key_says_the_key_is_wrong(world, settings):
    make_events(world, 3)
    settings.AUDIT_KEY = OTHER_KEY.hex()
    result = verify()
    assert result.broken is not None
    assert (result.broken.seq, result.broken.reason) == (1, "key")
    with pytest.raises(CommandError, match="JINGWANG_AUDIT_KEY is not the key"):
        call_command("audit", "verify")


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
