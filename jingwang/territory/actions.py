"""Every change to the territory; each writes its audit event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.options import Options
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jingwang.audit.actions import record
from jingwang.audit.models import AuditEvent
from jingwang.lib import division
from jingwang.lib import territory_files as files
from jingwang.territory import planning
from jingwang.territory.models import BaseUnit, Community, DivisionProposal, GridVersion, Station

# One message per problem code of jingwang.lib.territory_files (docs/data-formats.md lists them;
# a test keeps the three in step). Parameters are filled in with %-formatting.
MESSAGES = {
    # The whole file
    "unsupported_extension": gettext_lazy(
        "Files ending in “%(extension)s” cannot be imported: use .geojson, .json or .csv."
    ),
    "empty_file": gettext_lazy("The file is empty."),
    "bad_encoding": gettext_lazy(
        "The text of the file is neither UTF-8 nor GB18030: save it as UTF-8."
    ),
    "no_communities": gettext_lazy(
        "This station has no villages or communities yet: import them first, then their base units."
    ),
    "not_json": gettext_lazy(
        "The file is not valid JSON: the error is at line %(line)s, column %(column)s."
    ),
    "json_too_complex": gettext_lazy(
        "The file is not valid JSON: it is nested too deeply or holds a number that is too long."
    ),
    "not_feature_collection": gettext_lazy(
        "The file must be a GeoJSON FeatureCollection, but it is a “%(found)s”."
    ),
    "no_features_list": gettext_lazy("The FeatureCollection has no “features” list."),
    "no_rows": gettext_lazy("The file holds no rows to import."),
    "unknown_crs": gettext_lazy("Unknown coordinate system “%(crs)s”: use WGS-84 or GCJ-02."),
    "crs_conflict": gettext_lazy(
        "The file declares %(declared)s coordinates but %(chosen)s was chosen: choose one "
        "that agrees with the file, or “as declared in the file”."
    ),
    "csv_malformed": gettext_lazy(
        "The CSV file cannot be read near line %(line)s: a quote is probably not closed."
    ),
    "duplicate_column": gettext_lazy(
        "Two columns give the field %(field)s (the second is “%(column)s”): keep only one."
    ),
    "missing_column": gettext_lazy("The required column “%(column)s” is missing."),
    "csv_points_for_communities": gettext_lazy(
        "Villages and communities need polygon shapes: give them in a “wkt” column "
        "(lon and lat columns are only for base units)."
    ),
    "csv_no_geometry": gettext_lazy(
        "The file has no shape columns: add a “wkt” column, or “lon” and “lat” columns."
    ),
    # One row
    "not_a_feature": gettext_lazy("This is not a GeoJSON Feature object."),
    "properties_not_object": gettext_lazy(
        "“properties” must be an object of field names and values."
    ),
    "too_many_values": gettext_lazy(
        "This line has %(found)s values but the header has %(expected)s: put values that "
        "contain commas, such as WKT, in double quotes."
    ),
    "required": gettext_lazy("This field is required."),
    "not_text": gettext_lazy("This field must be text."),
    "too_long": gettext_lazy("At most %(limit)s characters are allowed (this has %(length)s)."),
    "unknown_choice": gettext_lazy("Unknown value “%(value)s”: use one of %(choices)s."),
    "not_an_integer": gettext_lazy("“%(value)s” is not a whole number."),
    "not_a_number": gettext_lazy("“%(value)s” is not a number."),
    "negative": gettext_lazy("This must not be negative (it is %(value)s)."),
    "too_large": gettext_lazy("%(value)s is more than the limit of %(limit)s."),
    "unknown_community": gettext_lazy(
        "There is no village or community with code “%(code)s” in this station."
    ),
    "duplicate_code": gettext_lazy("The code “%(code)s” is also used in row %(first_row)s."),
    "geometry_missing": gettext_lazy("The shape is missing."),
    "geometry_unparseable": gettext_lazy(
        "The shape cannot be read: check its type and coordinates."
    ),
    "geometry_wrong_type": gettext_lazy(
        "A %(found)s cannot be used here: use one of %(expected)s."
    ),
    "geometry_empty": gettext_lazy("The shape is empty."),
    "coordinates_out_of_range": gettext_lazy(
        "The point %(lon)s, %(lat)s is not in longitude/latitude degrees (longitude within "
        "±180, latitude within ±90): are these projected coordinates, or are longitude and "
        "latitude swapped?"
    ),
    "geometry_invalid": gettext_lazy("Invalid shape: %(reason)s."),
    "geometry_invalid_at": gettext_lazy(
        "Invalid shape: %(reason)s at or near point %(lon)s %(lat)s."
    ),
    # Written by this module
    "conflict": gettext_lazy(
        "The territory of this station was changed by someone else during the import: "
        "nothing was imported; import the file again."
    ),
}

# Why GEOS finds a shape invalid (jingwang.lib.territory_files.GEOS_REASONS).
REASONS = {
    "self_intersection": gettext_lazy("Self-intersection"),
    "ring_self_intersection": gettext_lazy("Ring self-intersection"),
    "hole_outside_shell": gettext_lazy("Hole lies outside the outer ring"),
    "nested_holes": gettext_lazy("Holes are nested"),
    "interior_disconnected": gettext_lazy("Interior is disconnected"),
    "nested_shells": gettext_lazy("Nested outer rings"),
    "duplicate_rings": gettext_lazy("Duplicate rings"),
    "too_few_points": gettext_lazy("Too few points"),
    "invalid_coordinate": gettext_lazy("Invalid coordinate"),
    "ring_not_closed": gettext_lazy("Ring is not closed"),
}

NOTICES = {
    "converted_from_gcj02": gettext_lazy("Coordinates were converted from GCJ-02 to WGS-84."),
    "read_as_gb18030": gettext_lazy("The file is not UTF-8; it was read as GB18030."),
    "cgcs2000_as_wgs84": gettext_lazy(
        "CGCS2000 coordinates were read as WGS-84 (the two differ by centimetres)."
    ),
    "ignored_columns": gettext_lazy("These columns were ignored: %(columns)s."),
}

CRS_LABELS = {files.WGS84: "WGS-84", files.GCJ02: "GCJ-02"}
# Rows per INSERT/UPDATE statement: under SQLite's and PostgreSQL's parameter limits.
BATCH = 500


class ImportProblem(NamedTuple):
    """One error; ``row`` is None for a problem of the whole file."""

    row: int | None
    field: str
    message: str


@dataclass
class ImportReport:
    filename: str
    kind: str
    # What a row number counts: "feature" (GeoJSON, from 1) or "line" (CSV, header = line 1).
    row_unit: str = ""
    crs: str = files.WGS84
    created: int = 0
    updated: int = 0
    errors: list[ImportProblem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def problem_message(code: str, params: dict[str, Any]) -> str:
    """The message for a problem code of ``jingwang.lib.territory_files``, translated."""
    params = dict(params)
    for key in ("declared", "chosen"):
        if key in params:
            params[key] = CRS_LABELS.get(params[key], params[key])
    if code == "geometry_invalid":
        reason = REASONS.get(params.get("reason", ""))
        params["reason"] = str(reason) if reason else params.get("reason_text", "")
        if "lon" in params:
            code = "geometry_invalid_at"
    template = MESSAGES.get(code)
    if template is None:  # a code without a message yet: still say something useful
        return f"{code} {params}" if params else code
    return str(template) % params if params else str(template)


def import_territory(
    actor: Any,
    station: Station,
    kind: str,
    data: bytes,
    filename: str,
    crs: str | None = None,
    *,
    source: str = "web",
) -> ImportReport:
    """Import communities or base units (``kind``: "community" or "base-unit") into a station.

    Every row is checked first; a file with any error writes nothing. Rows whose code already
    exists in the station update it; the others are created. One audit event either way.
    """
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    known = None
    if kind == files.BASE_UNIT:
        known = set(Community.objects.filter(station=station).values_list("code", flat=True))
    parsed = files.read_territory_file(data, filename, kind, crs=crs, communities=known)
    report = ImportReport(
        filename=filename,
        kind=kind,
        row_unit={files.GEOJSON: "feature", files.CSV: "line"}.get(parsed.format, ""),
        crs=parsed.crs,
        errors=[
            ImportProblem(p.row, p.field, problem_message(p.code, p.params))
            for p in parsed.problems
        ],
        notices=[
            str(NOTICES[n.code]) % n.params if n.params else str(NOTICES[n.code])
            for n in parsed.notices
        ],
    )
    detail = {
        "filename": filename,
        "kind": kind,
        "format": parsed.format,
        "crs": parsed.crs,
        "source": source,
    }
    if report.ok:
        try:
            with transaction.atomic():
                report.created, report.updated = _write(station, kind, parsed.rows)
                record(
                    actor,
                    "import_territory",
                    station_id=station.id,
                    detail={
                        **detail,
                        "created": report.created,
                        "updated": report.updated,
                        "errors": 0,
                    },
                )
            return report
        except (IntegrityError, _CommunityGone):
            report.errors.append(ImportProblem(None, "", problem_message("conflict", {})))
    with transaction.atomic():
        record(
            actor,
            "import_territory",
            station_id=station.id,
            outcome=AuditEvent.Outcome.FAILED,
            detail={**detail, "created": 0, "updated": 0, "errors": len(report.errors)},
        )
    return report


class _CommunityGone(Exception):
    """A community a base unit refers to was removed while the file was being checked."""


def _write(station: Station, kind: str, rows: list[files.Row]) -> tuple[int, int]:
    model: type[Community] | type[BaseUnit] = Community if kind == files.COMMUNITY else BaseUnit
    existing: dict[str, Any] = {}
    codes = [row.code for row in rows]
    for start in range(0, len(codes), BATCH):
        chunk = codes[start : start + BATCH]
        existing.update(
            (obj.code, obj) for obj in model.objects.filter(station=station, code__in=chunk)
        )
    communities: dict[str, int] = {}
    if kind == files.BASE_UNIT:
        communities = dict(Community.objects.filter(station=station).values_list("code", "id"))
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
        for name in ("population", "households", "complexity", "community_type"):
            value = getattr(row, name)
            if value is not None:
                setattr(obj, name, value)
        if isinstance(obj, BaseUnit):  # the same as kind == files.BASE_UNIT
            if row.community not in communities:
                raise _CommunityGone()
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
    ]
    fields.append("community_type" if kind == files.COMMUNITY else "community")
    model.objects.bulk_create(created, batch_size=BATCH)
    _update_many(model, updated, fields)
    return len(created), len(updated)


def _column(meta: Options[Any], name: str) -> tuple[models.Field[Any, Any], str]:
    """A concrete field and its column name (a reverse relation or a generic key has none)."""
    found = meta.get_field(name)
    if not isinstance(found, models.Field) or found.column is None:
        raise ValueError(f"{meta.label}.{name} is not a column")
    return found, found.column


def _update_many(model: type[models.Model], objs: list[Any], fields: list[str]) -> None:
    """UPDATE … WHERE id = %s for each row, in one executemany.

    Django's bulk_update builds a CASE expression per field and batch: 10,000 rows took about
    30 s on SQLite. A prepared statement run for every row takes well under a second on SQLite
    and is pipelined by psycopg on PostgreSQL.
    """
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [_column(meta, name) for name in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(name)} = %s" for _field, name in columns),
        quote(_column(meta, meta.pk.name)[1]),
    )
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field, _ in columns]
        + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# ---------------------------------------------------------------------------------------------
# Grid division: propose, edit by hand, apply as a new version, or discard.

# A new grid "keeps the ground" of an old one when their shapes overlap this much (IoU):
# the people assigned there carry over; below it they are listed for review.
KEEPS_GROUND = 0.9


class PlanError(Exception):
    """A division that cannot go ahead; the message says why, in the user's language."""


class StaleProposal(PlanError):
    """The proposal changed since the page was opened."""


def propose_division(
    actor: Any, station: Station, policy: division.Policy | None = None, seed: int = 0
) -> DivisionProposal:
    """Run the division engine over the station's base units and keep the plan for review."""
    rows, units = planning.station_units(station)
    if not units:
        raise PlanError(_("This station has no base units with shapes: import them first."))
    plan = division.divide(units, policy or division.Policy(), seed=seed)
    with transaction.atomic():
        last = (
            DivisionProposal.objects.select_for_update()
            .filter(station=station)
            .order_by("-number")
            .first()
        )
        proposal = DivisionProposal.objects.create(
            station=station,
            number=(last.number + 1) if last else 1,
            seed=seed,
            policy=plan.policy.to_dict(),
            plan=planning.plan_to_json(
                plan, planning.compare_current(station, rows, units, plan.policy)
            ),
            created_by=getattr(actor, "username", "") or "system",
        )
        record(
            actor,
            "propose_division",
            proposal,
            station_id=station.id,
            detail={"seed": seed, "units": len(units), "measures": _summary(plan)},
        )
    return proposal


def move_base_unit(
    actor: Any, proposal: DivisionProposal, unit_code: str, target_block: str, revision: int
) -> DivisionProposal:
    """Move one base unit into another block of a proposal and re-measure it."""
    with transaction.atomic():
        current = DivisionProposal.objects.select_for_update().get(pk=proposal.pk)
        _check_editable(current, revision)
        rows, units = planning.station_units(current.station)
        plan = planning.plan_from_json(current.plan, units)
        try:
            moved = division.move_unit(plan, units, unit_code, target_block)
        except ValueError as error:
            raise PlanError(
                _("This move is not possible: %(reason)s") % {"reason": error}
            ) from error
        old_block = plan.assignment["block"].get(unit_code)
        current.plan = planning.plan_to_json(moved, current.plan.get("current"))
        current.revision += 1
        current.save(update_fields=["plan", "revision"])
        record(
            actor,
            "move_base_unit",
            current,
            station_id=current.station_id,
            detail={"unit": unit_code, "from": old_block, "to": target_block},
        )
    return current


def discard_proposal(actor: Any, proposal: DivisionProposal, revision: int) -> None:
    with transaction.atomic():
        current = DivisionProposal.objects.select_for_update().get(pk=proposal.pk)
        _check_editable(current, revision)
        current.status = DivisionProposal.Status.DISCARDED
        current.save(update_fields=["status"])
        record(actor, "discard_proposal", current, station_id=current.station_id)


def apply_grid_plan(actor: Any, proposal: DivisionProposal, revision: int) -> GridVersion:
    """Make a proposal the station's grids: a new version; the old one stays readable.

    People assigned to a grid whose ground survives (IoU ≥ KEEPS_GROUND with a new grid of the
    same level) follow it; the others are listed for review on the coverage page.
    """
    from jingwang.people.actions import carry_assignments

    with transaction.atomic():
        current = DivisionProposal.objects.select_for_update().get(pk=proposal.pk)
        _check_editable(current, revision)
        station = current.station
        rows, units = planning.station_units(station)
        plan = planning.plan_from_json(current.plan, units)
        unassigned = sorted({u.code for u in units} - set(plan.assignment["cluster"]))
        if unassigned:
            raise PlanError(
                _(
                    "The base units have changed since this proposal was made (%(codes)s): run a new division."
                )
                % {"codes": ", ".join(unassigned[:5])}
            )
        old = (
            GridVersion.objects.select_for_update().filter(station=station, is_current=True).first()
        )
        last = GridVersion.objects.filter(station=station).order_by("-number").first()
        if old is not None:
            old.is_current = False
            old.save(update_fields=["is_current"])
        version = GridVersion.objects.create(
            station=station,
            number=(last.number + 1) if last else 1,
            is_current=True,
            note=f"#{current.number}",
        )
        grids = planning.build_grids(station, version, plan, rows)
        carried, review = carry_assignments(actor, old, version) if old else (0, 0)
        current.status = DivisionProposal.Status.APPLIED
        current.applied_version = version
        current.save(update_fields=["status", "applied_version"])
        record(
            actor,
            "apply_grid_plan",
            current,
            station_id=station.id,
            detail={
                "version": version.number,
                "grids": len(grids),
                "assignments_carried": carried,
                "assignments_to_review": review,
            },
        )
    return version


def _check_editable(proposal: DivisionProposal, revision: int) -> None:
    if proposal.status != DivisionProposal.Status.PROPOSED:
        raise PlanError(
            _("This proposal is already %(status)s.") % {"status": proposal.get_status_display()}
        )
    if proposal.revision != revision:
        raise StaleProposal(
            _("Someone else changed this proposal while you were looking at it: reload the page.")
        )


def _summary(plan: division.Plan) -> dict[str, Any]:
    blocks = plan.measures["levels"]["block"]
    return {
        "blocks": blocks["count"],
        "cv_workload": round(blocks.get("cv_workload", 0), 4),
        "share_in_range": round(blocks.get("share_in_range", 0), 4),
        "violations": len(plan.violations),
    }
