"""Importing villages and communities, and base units: the first user of ``jingwang.core.imports``.

The rows and their checks are ``jingwang.lib.territory_files``; the page, the command line, the
atomic write and the audit event are the shared ones. This module declares the importer: its
options (kind, coordinate system), its messages, and how rows become communities and base units.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.roles import Perm
from jingwang.core import imports
from jingwang.core.imports import BATCH, CRS_OPTION, ImportConflict, Importer, Option, Upload
from jingwang.lib import territory_files as files
from jingwang.lib.importing import Table
from jingwang.territory.models import BaseUnit, Community, Station

# The territory's own problem codes (jingwang.lib.territory_files), and its wording of two shared
# ones. docs/data-formats.md lists them; a test keeps the three in step.
MESSAGES = {
    "no_communities": _(
        "This station has no villages or communities yet: import them first, then their base units."
    ),
    "unknown_community": _(
        "There is no village or community with code “%(code)s” in this station."
    ),
    "shape_needs_wkt": _(
        "Villages and communities need polygon shapes: give them in a “wkt” column "
        "(lon and lat columns are only for base units)."
    ),
    "conflict": _(
        "The territory of this station was changed by someone else during the import: "
        "nothing was imported; import the file again."
    ),
}

KIND = Option(
    "kind",
    _("The file holds"),
    (
        (files.COMMUNITY, _("Villages and communities")),
        (files.BASE_UNIT, _("Base units (buildings, compounds, village groups)")),
    ),
)


def read(upload: Upload) -> Table:
    kind = upload.options["kind"]
    known = None
    if kind == files.BASE_UNIT:
        # The station came through the scope door: its communities are within scope.
        known = set(upload.station.communities.values_list("code", flat=True))
    crs = upload.options.get("crs")
    return files.read_territory_file(
        upload.data,
        upload.filename,
        kind,
        crs=None if crs in (None, "", "auto") else crs,
        communities=known,
        limits=upload.limits,
        sheet=upload.sheet or None,
    )


def write(upload: Upload, table: Table) -> tuple[int, int]:
    """Rows whose code exists in the station update it; the others are created."""
    station, kind, rows = upload.station, upload.options["kind"], table.rows
    model: type[Community] | type[BaseUnit] = Community if kind == files.COMMUNITY else BaseUnit
    existing = imports.existing_by(model, "code", [row.code for row in rows], station=station)
    communities: dict[str, int] = {}
    if kind == files.BASE_UNIT:
        communities = dict(station.communities.values_list("code", "id"))
    created: list[Any] = []
    updated: list[Any] = []
    for row in rows:
        obj = existing.get(row.code)
        if obj is None:
            obj = model(station=station, code=row.code)
            created.append(obj)
        else:
            updated.append(obj)
        obj.name, obj.kind = row.name, row.kind
        # A field left out of the file keeps its value (or the default on a new row).
        for name in (
            "population",
            "households",
            "complexity",
            "community_type",
            "floating_population",
        ):
            value = row.values.get(name)
            if value is not None:
                setattr(obj, name, value)
        if isinstance(obj, BaseUnit):  # the same as kind == files.BASE_UNIT
            if row.community not in communities:
                # Removed while the file was being checked.
                raise ImportConflict(row.community)
            obj.community_id = communities[row.community]
        obj.set_geometry(row.geometry)
    fields = [
        "name",
        "kind",
        "population",
        "households",
        "complexity",
        "geometry_wkt",
        "min_lon",
        "min_lat",
        "max_lon",
        "max_lat",
        "area_km2",
        "map_geojson",
    ]
    if kind == files.COMMUNITY:
        fields.append("community_type")
    else:
        fields += ["community", "floating_population"]
    model.objects.bulk_create(created, batch_size=BATCH)
    imports.update_many(model, updated, fields)
    return len(created), len(updated)


def detail(upload: Upload, table: Table) -> dict[str, Any]:
    return {"kind": upload.options["kind"], "crs": table.crs}


TERRITORY = Importer(
    name="import_territory",
    title=_("Import territory"),
    perm=Perm.TERRITORY_IMPORT,
    read=read,
    write=write,
    options=(KIND, CRS_OPTION),
    messages=MESSAGES,
    detail=detail,
    formats=(files.GEOJSON, files.CSV, files.XLSX),
    template="territory/import.html",
)


def import_territory(
    actor: Any,
    station: Station,
    kind: str,
    data: bytes,
    filename: str,
    crs: str | None = None,
    *,
    source: str = "web",
    sheet: str = "",
) -> imports.ImportReport:
    """Import communities or base units (``kind``: "community" or "base-unit") into a station.

    Every row is checked first; a file with any error writes nothing. Rows whose code already
    exists in the station update it; the others are created. One audit event either way.
    """
    return imports.run_import(
        TERRITORY,
        actor,
        station,
        data,
        filename,
        options={"kind": kind, "crs": crs or "auto"},
        sheet=sheet,
        source=source,
    )


def import_page(request: HttpRequest) -> HttpResponse:
    return imports.import_page(request, TERRITORY)
