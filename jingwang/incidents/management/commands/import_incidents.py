"""`jingwang import-incidents FILE --station CODE [--crs auto|wgs84|gcj02] [--sheet NAME]`."""

from __future__ import annotations

from jingwang.core.import_command import ImportCommand
from jingwang.incidents.imports import INCIDENTS


class Command(ImportCommand):
    importer = INCIDENTS
    help = (
        "Import the 110 command system's daily export (CSV or XLSX) into a station. A file with "
        "any error imports nothing; the errors are listed one per line and the command exits "
        "with status 1. A number the station already has updates that incident. Formats: "
        "docs/data-formats.md."
    )
