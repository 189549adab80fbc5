"""Installations made before the audit key: their plain SHA-256 events are kept as they are, and
the migration that brought the key appends one keyed event that fixes all of them."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from jingwang.audit import chain
from jingwang.audit.actions import record, verify
from jingwang.audit.models import AuditEvent, ChainHead
from jingwang.audit.tests.conftest import tamper
from jingwang.audit.tests.test_chain import assert_named, rewrite, set_head

migration = import_module("jingwang.audit.migrations.0003_keyed_chain_subjects")


def an_old_installation(n=3):
    """Events as the code before the key wrote them: plain SHA-256, a head without a MAC."""
    prev = chain.GENESIS
    for seq in range(1, n + 1):
        event = AuditEvent(
            seq=seq,
            at=timezone.now(),
            actor_name="chief",
            action="login",
            outcome="ok",
            detail="{}",
            prev_hash=prev,
            version=chain.LEGACY,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        prev = event.hash
    ChainHead.objects.create(pk=1, seq=n, hash=prev, mac="")


def upgrade():
    migration.key_the_chain(apps, SimpleNamespace(connection=connection))


def test_the_upgrade_keeps_old_events_and_keys_the_chain(world, capsys):
    an_old_installation()
    before = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash"))
    upgrade()
    marker = AuditEvent.objects.get(seq=4)
    assert (marker.action, marker.version) == ("audit_chain_keyed", chain.KEYED)
    assert marker.prev_hash == before[-1][1]
    assert (
        list(AuditEvent.objects.filter(seq__lte=3).order_by("seq").values_list("seq", "hash"))
        == before
    )
    record(world.users["chief"], "test_event")  # the head carries its MAC now
    result = verify()
    assert (result.checked, result.legacy, result.broken) == (5, 3, None)
    call_command("audit", "verify")
    assert "3 of them predate the audit key" in capsys.readouterr().out


def test_an_altered_old_event_is_named(world):
    an_old_installation()
    upgrade()
    tamper(("UPDATE audit_auditevent SET actor_name = %s WHERE seq = %s", ["mallory", 2]))
    assert_named(2, "hash")


def test_rechaining_old_events_is_caught_by_the_first_keyed_event(world):
    an_old_installation()
    upgrade()
    events = list(AuditEvent.objects.filter(seq__in=[2, 3]).order_by("seq"))
    events[0].actor_name = "mallory"
    statements, _ = rewrite(events, version=chain.LEGACY)
    tamper(*statements)
    assert_named(4, "prev_hash")


def test_cutting_the_chain_back_to_its_old_events_is_named(world):
    an_old_installation()
    upgrade()
    record(world.users["chief"], "test_event")
    h3 = AuditEvent.objects.get(seq=3).hash
    tamper("DELETE FROM audit_auditevent WHERE seq > 3", set_head(3, h3))
    assert_named(1, "unkeyed")


def test_a_fresh_installation_has_nothing_to_upgrade(db):
    upgrade()
    assert not AuditEvent.objects.exists()
    assert verify().broken is None
