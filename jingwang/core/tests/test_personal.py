"""Personal data: bound to its row and field, masked wherever it prints, unmasked through one
door, and a clear message (never a 500) when the server runs with another key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from jingwang.audit.models import AuditEvent
from jingwang.core import personal
from jingwang.core.models import KeyFingerprint
from jingwang.lib import pii
from jingwang.people.models import Person
from tests.cast import World

ROOT = Path(__file__).resolve().parents[3]


def test_values_print_masked_and_keep_their_plaintext_for_code(world: World) -> None:
    officer = world.people["officer"]
    assert str(officer.id_number) == "510722********1236" and str(officer.phone) == "138****5678"
    assert officer.id_number == "510722199001011236" and officer.phone.plaintext == "13812345678"
    assert "510722199001011236" not in officer.id_number_encrypted
    assert (
        not world.people["grid_worker"].id_number and str(world.people["grid_worker"].phone) == ""
    )


def test_a_ciphertext_copied_to_another_row_or_field_does_not_open(world: World) -> None:
    officer, worker = world.people["officer"], world.people["grid_worker"]
    Person.objects.filter(pk=worker.pk).update(id_number_encrypted=officer.id_number_encrypted)
    Person.objects.filter(pk=officer.pk).update(phone_encrypted=officer.id_number_encrypted)
    worker.refresh_from_db()
    officer.refresh_from_db()
    with pytest.raises(personal.PersonalDataKeyError):
        worker.id_number.plaintext  # noqa: B018
    with pytest.raises(personal.PersonalDataKeyError):
        officer.phone.plaintext  # noqa: B018
    # A page that shows it answers with a message, not a 500.
    response = world.client("chief").get(f"/people/{worker.id}/")
    assert response.status_code == 503
    assert "JINGWANG_PII_KEY" in response.content.decode()
    api = world.client("chief").get(f"/api/v1/people/{worker.id}")
    assert api.status_code == 503 and api.json()["errors"][0]["message"]


def test_lookup_hashes_are_per_kind_of_value(world: World) -> None:
    assert Person.id_number.hash("13812345678") != Person.phone.hash("13812345678")
    assert Person.phone.hash(" 138-1234-5678") == Person.phone.hash("13812345678")
    assert (
        Person.objects.filter(phone_hash=Person.phone.hash("+86 138 1234 5678")).get().name
        == "王警官"
    )


@pytest.mark.parametrize(
    "kind, value, message",
    [
        (personal.ID_NUMBER, "510722199001011235", "check digit"),
        (personal.ID_NUMBER, "510722199002301236", "birth date"),
        (personal.ID_NUMBER, "5107221990", "17 digits"),
        (personal.PHONE, "12345", "11 digits"),
    ],
)
def test_the_same_validation_for_forms_and_the_api(kind: str, value: str, message: str) -> None:
    from django.utils import translation

    with translation.override("en"):
        with pytest.raises(ValueError, match=message):
            personal.validated(kind, value)
        field = personal.PersonalFormField(kind, required=False)
        from django import forms

        with pytest.raises(forms.ValidationError, match=message):
            field.clean(value)
    assert 'data-personal=""' in str(field.widget.render("x", ""))


def test_the_unmask_door_checks_permission_and_scope_and_audits(world: World) -> None:
    officer = world.people["officer"]
    revealed = personal.unmask(world.users["chief"], officer)
    assert revealed == {"id_number": "510722199001011236", "phone": "13812345678"}
    event = AuditEvent.objects.get(action="unmask")
    assert event.object_id == str(officer.id) and event.actor_name == "chief"
    from django.http import Http404

    for role in ("auxiliary", "other_chief", "auditor"):
        with pytest.raises(Http404):
            personal.unmask(world.users[role], officer)
        denied = AuditEvent.objects.filter(actor_id=world.users[role].id, outcome="denied")
        assert denied.filter(object_type="people.person", object_id=str(officer.id)).exists()
    assert AuditEvent.objects.filter(action="unmask").count() == 1


def test_a_server_started_with_another_key_says_so(world: World, monkeypatch) -> None:
    call_command("migrate", verbosity=0)  # records the key's fingerprint (post_migrate)
    assert KeyFingerprint.objects.get(name="pii").fingerprint == pii.fingerprint()
    assert personal.key_problem() is None
    monkeypatch.setattr(pii, "_keys", {})
    pii.configure("11" * 32)
    problem = personal.key_problem()
    assert problem is not None and "JINGWANG_PII_KEY" in problem
    response = world.client("chief").get("/people/")
    assert response.status_code == 503
    assert "another key" in response.content.decode() or "密钥" in response.content.decode()


def test_jingwang_serve_refuses_to_start_with_another_key(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "JINGWANG_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 50,
        "JINGWANG_PII_KEY": "22" * 32,
        "JINGWANG_AUDIT_KEY": "33" * 32,
    }
    run = [sys.executable, "-m", "jingwang.cli"]
    subprocess.run([*run, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300)
    env["JINGWANG_PII_KEY"] = "44" * 32
    served = subprocess.run(
        [*run, "serve", "--port", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode != 0
    assert "another personal-data key" in served.stderr or "JINGWANG_PII_KEY" in served.stderr
    checked = subprocess.run(
        [*run, "check", "--database", "default"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert checked.returncode != 0 and "jingwang.E001" in checked.stderr


def test_full_width_digits_typed_on_a_phone_are_read_as_digits_on_pages(world: World) -> None:
    field = personal.PersonalFormField(personal.PHONE, required=False)
    assert field.clean("１３８ １２３４ ５６７８") == "13812345678"
    assert Person.phone.hash("１３８１２３４５６７８") == Person.phone.hash("13812345678")
    # The API takes what its schema says: ASCII digits.
    with pytest.raises(ValueError):
        personal.validated(personal.PHONE, "１３８１２３４５６７８", ascii_only=True)
    response = world.client("chief").post(
        "/api/v1/people/",
        {"station": "TC", "name": "全角", "kind": "officer", "phone": "１３８１２３４５６７８"},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "phone"


def test_an_address_is_checked_for_length_and_control_characters() -> None:
    assert personal.problem(personal.ADDRESS, "三台县北坝镇东街12号") is None
    assert personal.problem(personal.ADDRESS, "东街\x0012号") == "format"
    assert personal.problem(personal.ADDRESS, "街" * 201) == "too_long"
    assert personal.MASKS[personal.ADDRESS]("三台县北坝镇东街") == "三台******"
