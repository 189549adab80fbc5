"""Personal data bound to its row: each person gets a ``pii_uid``; ID and phone numbers written
before (AES-GCM without a binding, "v1") are re-encrypted bound to the row and field ("v2"), and
their lookup hashes are keyed per kind of value. Then one ID number per station becomes a
database constraint; a database that already holds two people of one station with the same ID
number stops here with their names, to be merged by hand first.
"""

import uuid

from django.db import migrations, models


def bind(apps, schema_editor):
    from jingwang.lib import pii

    Person = apps.get_model("people", "Person")
    seen: dict[tuple[int, str], str] = {}
    clashes = []
    for person in Person.objects.order_by("id").iterator():
        person.pii_uid = uuid.uuid4()
        for name, kind in (("id_number", "id_number"), ("phone", "phone")):
            token = getattr(person, f"{name}_encrypted")
            if not token:
                continue
            value = pii.decrypt_v1(token) if token.startswith("v1:") else None
            if value is None:
                continue  # already bound (cannot happen before this migration)
            context = f"people.person.{name}:{person.pii_uid}".encode()
            setattr(person, f"{name}_encrypted", pii.encrypt(value, context))
            setattr(person, f"{name}_hash", pii.lookup_hash(value, kind))
        if person.id_number_hash:
            key = (person.station_id, person.id_number_hash)
            if key in seen:
                clashes.append(f"{seen[key]} / {person.name} (station {person.station_id})")
            seen.setdefault(key, person.name)
        person.save(
            update_fields=[
                "pii_uid",
                "id_number_encrypted",
                "id_number_hash",
                "phone_encrypted",
                "phone_hash",
            ]
        )
    if clashes:
        raise RuntimeError(
            "These people share an ID number in one station; merge them, then migrate again: "
            + "; ".join(clashes)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_divisions"),
        ("territory", "0002_divisions"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="pii_uid",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(bind, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="person",
            name="pii_uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="person",
            name="id_number_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="person",
            name="id_number_hash",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="person",
            name="phone_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="person",
            name="phone_hash",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(
                condition=models.Q(("id_number_hash", ""), _negated=True),
                fields=("station", "id_number_hash"),
                name="person_id_number_unique",
            ),
        ),
    ]
