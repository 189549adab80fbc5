"""Per-bureau configuration (jingwang.core.config), with its first section, the grid division
defaults: edited by the system admin through the front door, read by the division form and
``jingwang divide``, refused when stale or impossible, audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from jingwang.audit.models import AuditEvent
from jingwang.core import config
from jingwang.lib import division
from jingwang.territory.forms import DivisionSettingsForm
from jingwang.territory.models import Bureau, DivisionProposal, DivisionSettings
from tests.cast import World, make_units

DEFAULTS = division.Policy()
FORM = {
    "urban_households_min": "300",
    "urban_households_target": "400",
    "urban_households_max": "500",
    "urban_population_max": "2500",
    "rural_households_min": "200",
    "rural_households_target": "300",
    "rural_households_max": "400",
    "complexity_alpha": "0.5",
    "sector_blocks": "6",
    "district_sectors": "4",
}


def admin(world: World) -> Client:
    client = world.client("system_admin")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def edit_url(world: World) -> str:
    return f"/settings/{world.bureau.id}/division/"


def save(client: Client, world: World, version: Any = "0", **changes: Any) -> Any:
    data = {**FORM, **{k: str(v) for k, v in changes.items()}}
    if version is not None:
        data["version"] = str(version)
    return client.post(edit_url(world), data)


def field_value(page: str, name: str) -> str:
    tail = page.split(f'name="{name}"', 1)[1]
    return tail.split('value="', 1)[1].split('"', 1)[0]


def test_a_bureau_without_settings_runs_on_the_engines_defaults(world: World) -> None:
    current = config.settings_for(world.bureau, DivisionSettings)
    assert current.pk is None and current.version == 0 and current.is_default
    assert current.policy() == DEFAULTS
    page = world.client("chief").get("/territory/divisions/?station=TC").content.decode()
    assert field_value(page, "urban_households_target") == "400"
    assert field_value(page, "sector_blocks") == "6.0"


def test_the_system_admin_changes_the_division_defaults_of_a_bureau(world: World) -> None:
    client = admin(world)
    page = client.get(edit_url(world)).content.decode()
    assert "This bureau runs on the defaults." in page
    assert field_value(page, "urban_households_target") == "400"

    response = save(client, world, urban_households_target=420, sector_blocks=3)
    assert response.status_code == 302 and response["Location"] == "/settings/"
    saved = DivisionSettings.objects.get(bureau=world.bureau)
    assert (saved.version, saved.urban_households_target, saved.sector_blocks) == (1, 420, 3.0)
    assert saved.changed_by == world.users["system_admin"] and saved.changed_at is not None

    # A chief of that bureau finds them in the division form.
    page = world.client("chief").get("/territory/divisions/?station=TC").content.decode()
    assert field_value(page, "urban_households_target") == "420"
    assert field_value(page, "sector_blocks") == "3.0"
    assert field_value(page, "urban_households_min") == "300"
    # Another bureau keeps its own (here: the defaults).
    other = Bureau.objects.create(code="MY", name="绵阳市公安局")
    assert config.settings_for(other, DivisionSettings).urban_households_target == 400

    event = AuditEvent.objects.get(action="update_settings")
    assert (event.actor_name, event.outcome, event.subject_id) == (
        "system_admin",
        "ok",
        str(world.bureau.id),
    )
    assert json.loads(event.detail) == {
        "section": "division",
        "bureau": "ST",
        "version": 1,
        "changes": {
            "urban_households_target": {"from": 400, "to": 420},
            "sector_blocks": {"from": 6.0, "to": 3.0},
        },
    }
    listing = client.get("/settings/").content.decode()
    assert (
        "Grid division defaults" in listing and "Changed" in listing and "system_admin" in listing
    )


def test_the_auditor_reads_the_change_in_words(world: World) -> None:
    save(admin(world), world, complexity_alpha="0.8")
    auditor = world.client("auditor")
    auditor.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Changed a bureau&#x27;s settings" in auditor.get("/audit/").content.decode()


def test_a_stale_edit_is_refused_and_nothing_is_lost(world: World) -> None:
    first, second = admin(world), admin(world)
    # Both opened the page on the defaults (version 0); the first saves.
    assert save(first, world, urban_households_target=450).status_code == 302
    response = save(second, world, urban_households_target=350)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Someone else changed these settings while you were editing" in page
    saved = DivisionSettings.objects.get(bureau=world.bureau)
    assert (saved.urban_households_target, saved.version) == (450, 1)
    assert AuditEvent.objects.filter(action="update_settings").count() == 1
    # Resending the same page cannot overwrite either: it still carries the old version.
    assert 'name="version" value="0"' in page
    # From the page as it is now, the second editor's change goes through.
    assert save(second, world, version=1, urban_households_target=350).status_code == 302
    assert DivisionSettings.objects.get(bureau=world.bureau).version == 2


@pytest.mark.parametrize("version", [None, "", "²", "-1"])
def test_the_version_cannot_be_left_out(world: World, version: Any) -> None:
    response = save(admin(world), world, version=version, urban_households_target=450)
    assert response.status_code == 400
    assert "“version”" in response.content.decode()
    assert not DivisionSettings.objects.exists()


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"urban_households_min": 500, "urban_households_max": 300},
            "urban_households_max",
            "The most must not be fewer than the fewest.",
        ),
        (
            {"rural_households_target": 900},
            "rural_households_target",
            "The target must lie between the fewest and the most.",
        ),
        ({"sector_blocks": "0.5"}, "sector_blocks", "greater than or equal to 1"),
        ({"complexity_alpha": "much"}, "complexity_alpha", "Enter a number."),
        ({"urban_households_min": ""}, "urban_households_min", "required"),
    ],
)
def test_impossible_settings_are_refused_naming_the_field(
    world: World, changes: dict[str, Any], field: str, message: str
) -> None:
    response = save(admin(world), world, **changes)
    assert response.status_code == 200
    page = response.content.decode()
    block = next(b for b in page.split('class="field invalid"')[1:] if f'name="{field}"' in b)
    assert message in block.split("</div>")[0]
    assert not DivisionSettings.objects.exists()
    assert not AuditEvent.objects.filter(action="update_settings").exists()


def test_saving_what_is_already_there_writes_nothing(world: World) -> None:
    assert save(admin(world), world).status_code == 302
    assert not DivisionSettings.objects.exists()
    assert not AuditEvent.objects.filter(action="update_settings").exists()


def test_an_unknown_section_or_bureau_is_not_found(world: World) -> None:
    client = admin(world)
    assert client.get(f"/settings/{world.bureau.id}/nothing/").status_code == 404
    assert client.get("/settings/999999/division/").status_code == 404


def test_jingwang_divide_starts_from_the_bureaus_defaults(world: World, tmp_path: Path) -> None:
    make_units(world)
    save(admin(world), world, urban_households_target=350, urban_households_min=250)
    call_command("divide", station="TC", stdout=open(tmp_path / "out", "w"))
    policy = DivisionProposal.objects.get().policy
    assert (policy["urban_households_min"], policy["urban_households_target"]) == (250, 350)
    # A policy file overrides the fields it names; the rest still come from the bureau.
    given_file = tmp_path / "policy.json"
    given_file.write_text(json.dumps({"urban_households_target": 300}))
    call_command("divide", station="TC", policy=given_file, stdout=open(tmp_path / "out", "w"))
    policy = DivisionProposal.objects.order_by("-number").first().policy  # type: ignore[union-attr]
    assert (policy["urban_households_min"], policy["urban_households_target"]) == (250, 300)


# Who may not: every write tried by other roles gives 404, changes nothing, leaves a denied event.
@pytest.mark.parametrize(
    "role", ["bureau_admin", "chief", "security_admin", "auditor", "grid_worker"]
)
def test_no_one_else_changes_the_settings(world: World, role: str) -> None:
    user = world.users[role]
    denied = AuditEvent.objects.filter(actor_id=user.id, outcome="denied").count()
    client = world.client(role)
    response = client.post(
        edit_url(world), {**FORM, "urban_households_target": "450", "version": "0"}
    )
    assert response.status_code == 404
    assert not DivisionSettings.objects.exists()
    assert AuditEvent.objects.filter(actor_id=user.id, outcome="denied").count() == denied + 1
    assert client.get("/settings/").status_code == 404
    assert not AuditEvent.objects.filter(action="update_settings").exists()


# ---------------------------------------------------------------------------------------------
# The machinery itself.


def test_the_division_section_is_registered() -> None:
    section = config.find("division")
    assert section is not None and section.model is DivisionSettings
    assert config.find(DivisionSettings) is section and section in config.sections()
    assert set(DivisionSettings.setting_names()) == set(DivisionSettingsForm.base_fields)


class WrongForm(forms.Form):
    other = forms.IntegerField()


def test_a_section_must_be_well_formed() -> None:
    with pytest.raises(ImproperlyConfigured, match="not the model's settings"):
        config.register(config.Section("sample", "Sample", DivisionSettings, WrongForm, app="x"))
    with pytest.raises(ImproperlyConfigured, match="a key is"):
        config.register(
            config.Section("Bad Key", "Sample", DivisionSettings, DivisionSettingsForm, app="x")
        )
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        config.register(
            config.Section("division", "Other", DivisionSettings, DivisionSettingsForm, app="x")
        )
    assert config.find("sample") is None and config.find("division").label != "Other"  # type: ignore[union-attr]


FIELDS = {
    "urban_households_min": st.integers(0, 1000),
    "urban_households_target": st.integers(0, 1000),
    "urban_households_max": st.integers(0, 1000),
    "urban_population_max": st.one_of(st.none(), st.integers(-5, 5000)),
    "rural_households_min": st.integers(0, 1000),
    "rural_households_target": st.integers(0, 1000),
    "rural_households_max": st.integers(0, 1000),
    "complexity_alpha": st.floats(-1, 20, allow_nan=False),
    "sector_blocks": st.floats(0, 200, allow_nan=False),
    "district_sectors": st.floats(0, 200, allow_nan=False),
}


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries(FIELDS))
def test_the_form_accepts_no_settings_the_engine_refuses(values: dict[str, Any]) -> None:
    form = DivisionSettingsForm({k: "" if v is None else str(v) for k, v in values.items()})
    if form.is_valid():
        division.Policy.from_dict(form.cleaned_data)  # raises if the two had drifted apart
    else:
        for field in form.errors:
            assert field in form.fields  # every refusal names its field
