"""The chain goes under the audit key; events gain a subject; events are indexed by object.

Events written before this migration keep their plain SHA-256 hashes (``version`` 1): they are
not rewritten. If there are any, one keyed event (``audit_chain_keyed``) is appended after them:
its MAC covers the last plain hash, so every earlier event stays fixed, and from here on every
event is keyed (docs/architecture.md, "Audit").

On SQLite adding a column rebuilds the table, which drops its triggers: they are installed again.
"""

import json

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from jingwang.audit import chain, triggers


def key_the_chain(apps, schema_editor):  # type: ignore[no-untyped-def]
    AuditEvent = apps.get_model("audit", "AuditEvent")
    ChainHead = apps.get_model("audit", "ChainHead")
    key = chain.key_from_hex(settings.AUDIT_KEY)
    db = schema_editor.connection.alias
    head = ChainHead.objects.using(db).filter(pk=1).first()
    last = AuditEvent.objects.using(db).order_by("-seq").first()
    if last is not None:
        event = AuditEvent(
            seq=last.seq + 1,
            at=timezone.now(),
            actor_id=None,
            actor_name="system",
            actor_role="",
            ip="",
            action="audit_chain_keyed",
            object_type="",
            object_id="",
            subject_type="",
            subject_id="",
            station_id=None,
            outcome="ok",
            detail=json.dumps({"plain_events": last.seq}, sort_keys=True),
            version=chain.KEYED,
            prev_hash=last.hash,
        )
        event.hash = chain.event_hash(event, key)
        event.save(using=db, force_insert=True)
        head = head or ChainHead(pk=1)
        head.seq, head.hash = event.seq, event.hash
    if head is not None:
        head.mac = chain.head_mac(head.seq, head.hash, key)
        head.save(using=db)


def install_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="subject_type",
            field=models.CharField(
                blank=True, default="", max_length=64, verbose_name="subject type"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="subject_id",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="subject"),
            preserve_default=False,
        ),
        # Existing events are plain SHA-256 (version 1); new ones are keyed (version 2).
        migrations.AddField(
            model_name="auditevent",
            name="version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="chainhead",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["subject_type", "subject_id"], name="audit_event_subject"),
        ),
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
        migrations.RunPython(key_the_chain, migrations.RunPython.noop),
    ]
