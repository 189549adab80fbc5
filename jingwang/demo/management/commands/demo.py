"""``manage.py demo``: load the demo jurisdiction if it is not there, and print its accounts."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from jingwang.accounts.demo import PASSWORD, AccountRows, demo_accounts, second_factors
from jingwang.accounts.roles import Role
from jingwang.demo.generate import DEFAULT_SEED
from jingwang.demo.load import DemoConflict, load
from jingwang.territory.demo import BUREAU_CODE


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text in them too."""
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


class Command(BaseCommand):
    help = (
        "Load the demo jurisdiction (三台县公安局: 潼川派出所 and two more stations) unless it is "
        "already loaded, then print the demo accounts and their password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="random seed of the generated demo (default %(default)s); ignored if loaded",
        )

    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        try:
            loaded = load(seed=seed)
        except DemoConflict as exc:
            raise CommandError(
                _("Cannot load the demo: %(names)s already exist outside the demo bureau.")
                % {"names": ", ".join(exc.names)}
            ) from exc
        if loaded.created:
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "Loaded the demo in %(seconds).1f s: %(stations)d stations, "
                        "%(communities)d villages and communities, %(base_units)d base units, "
                        "%(grids)d grids, %(people)d people."
                    )
                    % {"seconds": loaded.seconds, **loaded.counts}
                )
            )
        else:
            self.stdout.write(
                _("The demo is already loaded (bureau %(code)s): nothing was changed.")
                % {"code": BUREAU_CODE}
            )
        rows = [
            [
                account["username"],
                PASSWORD,
                f"{Role(account['role']).label} ({account['role']})",
                account["bureau"],
                account["station"],
                account["name"],
            ]
            for account in demo_accounts()
        ]
        self.stdout.write("")
        self.stdout.write(_("Demo accounts (the password is the same for all, unless changed):"))
        header = [_("Username"), _("Password"), _("Role"), _("Bureau"), _("Station"), _("Name")]
        self.stdout.write(table(header, rows))

        # The privileged accounts log in with a second factor (jingwang.accounts.otp).
        enrolled = loaded.rows.get("accounts")
        known, changed = second_factors(enrolled if isinstance(enrolled, AccountRows) else None)
        if known:
            self.stdout.write("")
            self.stdout.write(
                _(
                    "%(names)s also need a second factor: add the key to an authenticator app "
                    "(TOTP), print a current code with `jingwang otp-code USERNAME`, or use a "
                    "recovery code once:"
                )
                % {"names": ", ".join(known)}
            )
            self.stdout.write(
                table(
                    [_("Username"), _("Key"), _("Recovery codes")],
                    [
                        [name, factor.secret, " ".join(factor.recovery_codes)]
                        for name, factor in known.items()
                    ],
                )
            )
        if changed:
            self.stdout.write("")
            self.stdout.write(
                _(
                    "The second factor of %(names)s was changed since the demo was loaded: it is "
                    "not shown here."
                )
                % {"names": ", ".join(changed)}
            )
