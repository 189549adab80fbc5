"""`jingwang import-territory FILE --station CODE --kind community|base-unit [--crs …] [--sheet …]`."""

from __future__ import annotations

from jingwang.core.import_command import ImportCommand
from jingwang.territory.imports import TERRITORY


class Command(ImportCommand):
    importer = TERRITORY
    help = (
        "Import villages/communities or base units from a GeoJSON, CSV or XLSX file into a "
        "station. A file with any error imports nothing; the errors are listed one per line and "
        "the command exits with status 1. Formats: docs/data-formats.md."
    )
