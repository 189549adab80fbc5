"""`jingwang import-territory FILE --station CODE --kind community|base-unit [--crs …]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from jingwang.lib import territory_files as files
from jingwang.territory.actions import import_territory
from jingwang.territory.models import Station


class Command(BaseCommand):
    help = (
        "Import villages/communities or base units from a GeoJSON or CSV file into a station. "
        "A file with any error imports nothing; the errors are listed one per line and the "
        "command exits with status 1. Formats: docs/data-formats.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .geojson, .json or .csv file")
        parser.add_argument("--station", required=True, help="the station's code")
        parser.add_argument("--kind", required=True, choices=files.KINDS)
        parser.add_argument(
            "--crs",
            choices=[*files.CRS_CHOICES, "auto"],
            default="auto",
            help="coordinates of the file (default: as the file declares, else WGS-84)",
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
        crs = None if options["crs"] == "auto" else options["crs"]
        report = import_territory(
            None, station, options["kind"], data, path.name, crs, source="cli"
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
            if problem.row is None:
                line = _("file: %(message)s") % {"message": problem.message}
            elif problem.field:
                line = _("row %(row)s, field %(field)s: %(message)s") % {
                    "row": problem.row,
                    "field": problem.field,
                    "message": problem.message,
                }
            else:
                line = _("row %(row)s: %(message)s") % {
                    "row": problem.row,
                    "message": problem.message,
                }
            self.stdout.write(line)
        raise CommandError(
            ngettext(
                "%(count)s error: nothing was imported.",
                "%(count)s errors: nothing was imported.",
                len(report.errors),
            )
            % {"count": len(report.errors)},
            returncode=1,
        )
