"""``jingwang create-account USERNAME --role ROLE [--bureau CODE | --station CODE]``.

For the operator of a new installation: the first security admin, system admin and bureau
admin, before anyone could approve an account on the pages. Prints a temporary password, to be
changed at the first login (privileged accounts then enrol their second factor).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingwang.accounts.actions import create_first_account
from jingwang.accounts.roles import Role
from jingwang.territory.models import Bureau, Station


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument("--bureau", help="bureau code (bureau admins)")
        parser.add_argument("--station", help="station code (station roles)")
        parser.add_argument("--name", default="", help="full name")

    def handle(self, *args: Any, **options: Any) -> None:
        bureau = station = None
        if options["bureau"]:
            bureau = Bureau.objects.filter(code=options["bureau"].upper()).first()
            if bureau is None:
                raise CommandError(f"--bureau: there is no bureau with code {options['bureau']}")
        if options["station"]:
            station = Station.objects.filter(code=options["station"].upper()).first()
            if station is None:
                raise CommandError(f"--station: there is no station with code {options['station']}")
        try:
            account, password = create_first_account(
                username=options["username"],
                role=options["role"],
                bureau=bureau,
                station=station,
                full_name=options["name"],
            )
        except ValidationError as error:
            fields = getattr(error, "message_dict", {"": error.messages})
            raise CommandError(
                "; ".join(f"--{k}: {' '.join(v)}" if k else " ".join(v) for k, v in fields.items())
            ) from error
        self.stdout.write(
            f"Created {account.username} ({account.role}). Temporary password, to be changed at "
            f"the first login: {password}"
        )
