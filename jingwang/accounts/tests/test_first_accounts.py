"""A new installation's first accounts come from the operator's command line."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import CommandError, call_command

from jingwang.accounts.models import User
from jingwang.audit.models import AuditEvent


def test_the_operator_creates_the_first_bureau_admin_with_a_temporary_password(world, capsys):
    call_command("create_account", "juzhang2", "--role", "bureau_admin", "--bureau", "st")
    out = capsys.readouterr().out
    found = re.search(r"first login: (\S+)", out)
    assert found is not None
    password = found.group(1)
    account = User.objects.get(username="juzhang2")
    assert account.bureau == world.bureau and account.role == "bureau_admin"
    assert account.check_password(password) and account.password_is_temporary
    event = AuditEvent.objects.get(action="create_user", object_id=str(account.id))
    assert event.actor_id is None and event.actor_name == "command line"
    assert json.loads(event.detail)["source"] == "command line"
    assert password not in event.detail


@pytest.mark.parametrize(
    "args, message",
    [
        (["x1", "--role", "bureau_admin"], "--bureau"),
        (["x2", "--role", "officer"], "--station"),
        (["x3", "--role", "officer", "--station", "NOPE"], "--station: there is no station"),
        (["chief", "--role", "security_admin"], "--username"),
    ],
)
def test_bad_arguments_are_named_and_nothing_is_created(world, args, message):
    before = User.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_account", *args)
    assert User.objects.count() == before


def test_a_username_taken_by_a_racing_request_is_the_usual_message(world):
    from django.core.exceptions import ValidationError

    from jingwang.accounts.actions import _save_new

    before = User.objects.count()
    with pytest.raises(ValidationError) as refused:
        _save_new(User(username="chief", role="auditor"))  # past the check, as a race would be
    assert list(refused.value.message_dict) == ["username"]
    assert User.objects.count() == before
