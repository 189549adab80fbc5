"""Every change to the territory; each writes its audit event."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from jingwang.audit.actions import record
from jingwang.lib import division
from jingwang.territory import lineage, planning
from jingwang.territory.models import Bureau, DivisionProposal, GridVersion, Station

# ---------------------------------------------------------------------------------------------
# Grid division: propose, edit by hand, apply as a new version, or discard.


class PlanError(Exception):
    """A division that cannot go ahead; the message says why, in the user's language."""


class StaleProposal(PlanError):
    """The proposal changed since the page was opened."""


# A fresh division ignores the current grids; a re-division keeps what works of them.
MODES = ("fresh", "redivide")


def propose_division(
    actor: Any,
    station: Station,
    policy: division.Policy | None = None,
    seed: int = 0,
    mode: str = "fresh",
) -> DivisionProposal:
    """Run the division engine over the station's base units and keep the plan for review.

    ``mode`` "redivide" starts from the current grids (``division.redivide``) and also runs a
    fresh division of the same data, so that the page can show both. Either way, when the
    station has current grids, the proposal stores what it keeps of them: units, households,
    people assigned to the grids and placed records (``planning.kept_figures``).
    """
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}")
    rows, units = planning.station_units(station)
    if not units:
        raise PlanError(_("This station has no base units with shapes: import them first."))
    policy = policy or division.Policy()
    located = planning.locate_current(station, rows)
    if located is not None and not located.clusters:
        located = None
    fresh: division.Plan | None = None
    if mode == "redivide":
        if located is None:
            raise PlanError(
                _(
                    "This station has no current grids with all four levels holding its base "
                    "units: run a fresh division."
                )
            )
        plan = division.redivide(units, located.clusters, policy, seed=seed)
        fresh = division.divide(units, policy, seed=seed)
    else:
        plan = division.divide(units, policy, seed=seed)
    stored = planning.plan_to_json(
        plan, planning.compare_current(station, rows, units, plan.policy, located=located), rows
    )
    stored["mode"] = mode
    if located is not None:
        followers = planning.followers_of(station, rows, located)
        stored["records_since"] = followers.since
        stored["kept"] = planning.kept_figures(units, located, followers, plan.assignment["block"])
        if fresh is not None:
            stored["fresh"] = {
                "measures": fresh.measures["levels"]["block"],
                "kept": planning.kept_figures(units, located, followers, fresh.assignment["block"]),
                "violations": len(fresh.violations),
            }
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
            plan=stored,
            created_by=getattr(actor, "username", "") or "system",
        )
        detail: dict[str, Any] = {
            "mode": mode,
            "seed": seed,
            "units": len(units),
            "measures": _summary(plan),
        }
        if plan.data is not None:
            detail["data"] = {
                "looks_broken": plan.data.looks_broken,
                "refused": [code for code, _reason in plan.data.refused],
                "repaired": len(plan.data.repaired),
            }
        if stored.get("kept"):
            detail["units_kept"] = stored["kept"]["units_kept"]
        record(actor, "propose_division", proposal, station_id=station.id, detail=detail)
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
        stored = planning.plan_to_json(
            moved, current.plan.get("current"), rows, previous=current.plan
        )
        if current.plan.get("kept"):  # what the moved plan keeps of the current grids
            located = planning.locate_current(current.station, rows)
            if located is not None and located.clusters:
                followers = planning.followers_of(current.station, rows, located)
                stored["kept"] = planning.kept_figures(
                    units, located, followers, moved.assignment["block"]
                )
        current.plan = stored
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

    The lineage of the new grids is written and the registered followers re-place what was tied
    to the old grids (``jingwang.territory.lineage``), all in this transaction: people assigned
    to a grid whose ground survives follow it, the others are listed for review.
    """
    with transaction.atomic():
        current = DivisionProposal.objects.select_for_update().get(pk=proposal.pk)
        _check_editable(current, revision)
        station = current.station
        refused = (current.plan.get("data") or {}).get("refused") or []
        if refused:
            raise PlanError(
                _(
                    "This proposal cannot be applied: it leaves out base units that could not "
                    "be used (%(units)s). Fix them in the territory import and run the division "
                    "again."
                )
                % {
                    "units": "; ".join(
                        _("unit %(code)s: %(reason)s") % {"code": code, "reason": reason}
                        for code, reason in refused
                    )
                }
            )
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
        followed = lineage.follow(actor, old, version) if old is not None else {}
        current.status = DivisionProposal.Status.APPLIED
        current.applied_version = version
        current.save(update_fields=["status", "applied_version"])
        record(
            actor,
            "apply_grid_plan",
            current,
            station_id=station.id,
            detail={"version": version.number, "grids": len(grids), "followers": followed},
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


# ---------------------------------------------------------------------------------------------
# Bureaus and stations, made and renamed by the system admin. A code never changes once made:
# a station's grid codes begin with it, and pages, imports and other systems name it by it.

# Letters, digits and dashes, beginning and ending with a letter or digit; kept in capitals.
# 20 at most, so a grid code (station code + "-D01-S02-B03-C04") stays within its 48.
CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?", re.ASCII)
CODE_LENGTH = 20
NAME_LENGTH = 100


class Refused(ValueError):
    """Input the action does not take; ``field`` names the form field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


class StaleEdit(Exception):
    """Someone else saved this record since it was opened: nothing was written."""

    def __str__(self) -> str:
        return _(
            "Someone else changed this while you were editing. "
            "Reload the page to see their changes, then edit again."
        )


def _checked_code(value: str) -> str:
    code = value.strip().upper()
    if not code:
        raise Refused("code", _("The code is required."))
    if len(code) > CODE_LENGTH:
        raise Refused("code", _("The code has at most %(n)s characters.") % {"n": CODE_LENGTH})
    if not CODE.fullmatch(code):
        raise Refused(
            "code",
            _(
                "The code may hold only letters (A–Z), digits and dashes, and must begin and "
                "end with a letter or digit."
            ),
        )
    return code


def _checked_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise Refused("name", _("The name is required."))
    if len(name) > NAME_LENGTH:
        raise Refused("name", _("The name has at most %(n)s characters.") % {"n": NAME_LENGTH})
    return name


def create_bureau(actor: Any, *, code: str, name: str) -> Bureau:
    """A new county bureau. ``Refused`` (naming the field) for a bad or taken code, also when
    two requests race (the database constraint decides)."""
    code, name = _checked_code(code), _checked_name(name)
    try:
        with transaction.atomic():
            bureau = Bureau.objects.create(code=code, name=name)
            record(actor, "create_bureau", bureau, detail={"code": code, "name": name})
    except IntegrityError as exc:
        raise Refused(
            "code", _("A bureau with the code %(code)s already exists.") % {"code": code}
        ) from exc
    return bureau


_Named = TypeVar("_Named", Bureau, Station)


def _rename(actor: Any, row: _Named, name: str, version: int, action: str, **audit: Any) -> _Named:
    """Lock, check the version, save the new name with the version bumped, audit it."""
    name = _checked_name(name)
    with transaction.atomic():
        current = type(row).objects.select_for_update().get(pk=row.pk)
        if current.version != version:
            raise StaleEdit()
        if current.name != name:
            old, current.name = current.name, name
            current.version += 1
            current.save(update_fields=["name", "version"])
            record(actor, action, current, detail={"name": {"from": old, "to": name}}, **audit)
    return current


def rename_bureau(actor: Any, bureau: Bureau, *, name: str, version: int) -> Bureau:
    """Change a bureau's name (its code stays). A stale ``version`` raises StaleEdit."""
    return _rename(actor, bureau, name, version, "rename_bureau")


def create_station(actor: Any, bureau: Bureau, *, code: str, name: str) -> Station:
    """A new police station of ``bureau``; its code is checked as a bureau's is."""
    code, name = _checked_code(code), _checked_name(name)
    try:
        with transaction.atomic():
            station = Station.objects.create(bureau=bureau, code=code, name=name)
            record(
                actor,
                "create_station",
                station,
                station_id=station.pk,
                subject=bureau,
                detail={"bureau": bureau.code, "code": code, "name": name},
            )
    except IntegrityError as exc:
        raise Refused(
            "code", _("A station with the code %(code)s already exists.") % {"code": code}
        ) from exc
    return station


def rename_station(actor: Any, station: Station, *, name: str, version: int) -> Station:
    """Change a station's name (its code and bureau stay). A stale ``version`` raises StaleEdit."""
    return _rename(
        actor,
        station,
        name,
        version,
        "rename_station",
        station_id=station.pk,
        subject=station.bureau,
    )
