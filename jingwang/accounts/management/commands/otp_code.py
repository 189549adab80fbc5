"""``jingwang otp-code USERNAME``: the current second-factor code of a demo account."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from jingwang.accounts import otp
from jingwang.accounts.models import User


class Command(BaseCommand):
    help = (
        "Print the current 6-digit second-factor code of a demo account (juzhang, anquan, "
        "xitong, shenji), in place of an authenticator app. Refused for any account whose "
        "authenticator was not set up by the demo. A code logs in once: wait for the next one "
        "to log in again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            self._print(username)

    def _print(self, username: str) -> None:
        user = User.objects.filter(username=username).first()
        device = otp.confirmed_device(user) if user is not None else None
        # Only the demo's secrets, which anyone can compute from the username anyway: a real
        # account's code is never printed.
        if device is None or not otp.is_demo_device(device):
            raise CommandError(
                _("%(name)s is not a demo account with a demo second factor.") % {"name": username}
            )
        code, left = otp.current_code(device)
        self.stdout.write(code)
        self.stderr.write(_("valid for %(seconds)d more seconds") % {"seconds": left})
