"""The command line of an import: ``FILE --station CODE [--option VALUE …] [--sheet NAME]``.

A management command, not a page: the operator at the server names a station by its code and
acts as ``system`` (``jingwang.core.imports`` holds the rest of the shared import piece).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from jingwang.core.imports import EXTENSIONS, XLSX, Importer, ImportProblem, run_import
from jingwang.territory.models import Station


class ImportCommand(BaseCommand):
    """``FILE --station CODE [--option VALUE …] [--sheet NAME]``: the importer's command.

    It lists the problems one per line (``row 3, field geometry: …``) and exits with status 1
    when the file has any, 0 when it was imported. The actor is ``system``.
    """

    importer: Importer

    def add_arguments(self, parser: CommandParser) -> None:
        accepted = ", ".join(
            ext for ext, kind in EXTENSIONS.items() if kind in self.importer.accepted
        )
        parser.add_argument("file", help=f"a file ending in {accepted}")
        parser.add_argument("--station", required=True, help="the station's code")
        for option in self.importer.options:
            parser.add_argument(
                f"--{option.name}",
                choices=[value for value, _label in option.choices],
                required=option.default is None,
                default=option.default,
                help=option.help or None,
            )
        if XLSX in self.importer.accepted:
            parser.add_argument(
                "--sheet", default="", help="the sheet of an .xlsx file (default: the first)"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        station = Station.objects.filter(code=options["station"]).first()
        if station is None:
            raise CommandError(
                _("There is no station with code %(code)s.") % {"code": options["station"]}
            )
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(reason)s")
                % {"file": path, "reason": error.strerror or error}
            ) from error
        report = run_import(
            self.importer,
            None,
            station,
            data,
            path.name,
            options={o.name: options[o.name] for o in self.importer.options},
            sheet=options.get("sheet") or "",
            source="cli",
        )
        for notice in report.notices:
            self.stdout.write(notice)
        if report.ok:
            self.stdout.write(
                _("%(file)s: %(created)s created, %(updated)s updated in station %(station)s.")
                % {
                    "file": report.filename,
                    "created": report.created,
                    "updated": report.updated,
                    "station": station.code,
                }
            )
            return
        for problem in report.errors:
            self.stdout.write(problem_line(problem))
        raise CommandError(
            ngettext(
                "%(count)s error: nothing was imported.",
                "%(count)s errors: nothing was imported.",
                len(report.errors),
            )
            % {"count": len(report.errors)},
            returncode=1,
        )


def problem_line(problem: ImportProblem) -> str:
    """One problem as a line of text: ``row 3, field geometry: …``."""
    if problem.row is None:
        return _("file: %(message)s") % {"message": problem.message}
    if problem.field:
        return _("row %(row)s, field %(field)s: %(message)s") % {
            "row": problem.row,
            "field": problem.field,
            "message": problem.message,
        }
    return _("row %(row)s: %(message)s") % {"row": problem.row, "message": problem.message}
