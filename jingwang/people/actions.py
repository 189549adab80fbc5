"""Every change to people, assignments and committee posts; each writes its audit event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from jingwang.audit.actions import record
from jingwang.people.models import CommitteePost, GridAssignment, Person, Reassignment
from jingwang.territory.models import Community, Grid, GridVersion, Station


class StaleEdit(Exception):
    """Someone else saved this record since it was opened."""


def create_person(
    actor: Any,
    station: Station,
    *,
    name: str,
    kind: str,
    badge_number: str = "",
    id_number: str = "",
    phone: str = "",
    is_active: bool = True,
) -> Person:
    person = Person(
        station=station, name=name, kind=kind, badge_number=badge_number, is_active=is_active
    )
    person.set_id_number(id_number)
    person.set_phone(phone)
    with transaction.atomic():
        person.save()
        record(actor, "create_person", person, detail={"kind": kind})
    return person


def update_person(actor: Any, person: Person, *, version: int | None, **fields: Any) -> Person:
    """Save changed fields; a stale version raises StaleEdit and nothing is written."""
    with transaction.atomic():
        current = Person.objects.select_for_update().get(pk=person.pk)
        if version is not None and current.version != version:
            raise StaleEdit()
        changed = []
        for name in ("name", "kind", "badge_number", "is_active"):
            if name in fields and getattr(current, name) != fields[name]:
                setattr(current, name, fields[name])
                changed.append(name)
        if fields.get("id_number"):
            current.set_id_number(fields["id_number"])
            changed += ["id_number_encrypted", "id_number_hash"]
        if fields.get("phone"):
            current.set_phone(fields["phone"])
            changed += ["phone_encrypted", "phone_hash"]
        if changed:
            current.version += 1
            current.save(update_fields=[*changed, "version"])
            shown = sorted(
                {name.replace("_encrypted", "").replace("_hash", "") for name in changed}
            )
            record(actor, "update_person", current, detail={"fields": shown})
    return current


def unmask_person(actor: Any, person: Person) -> dict[str, str]:
    """Full ID and phone numbers, for roles allowed to see them; every unmasking is audited."""
    with transaction.atomic():
        record(actor, "unmask_person", person, detail={"fields": ["id_number", "phone"]})
    return {"id_number": person.id_number, "phone": person.phone}


def assign(actor: Any, person: Person, grid: Grid, role: str) -> GridAssignment:
    with transaction.atomic():
        assignment = GridAssignment.objects.create(person=person, grid=grid, role=role)
        record(
            actor,
            "assign_grid",
            assignment,
            station_id=grid.station_id,
            detail={"person": person.pk, "grid": grid.code, "role": role},
        )
    return assignment


def end_assignment(actor: Any, assignment: GridAssignment, on: date | None = None) -> None:
    with transaction.atomic():
        assignment.ended_at = on or timezone.localdate()
        assignment.save(update_fields=["ended_at"])
        record(
            actor,
            "end_assignment",
            assignment,
            station_id=assignment.grid.station_id,
            detail={"grid": assignment.grid.code, "role": assignment.role},
        )


def add_committee_post(
    actor: Any, person: Person, community: Community, title: str, since: date
) -> CommitteePost:
    with transaction.atomic():
        post = CommitteePost.objects.create(
            person=person, community=community, title=title, since=since
        )
        record(
            actor,
            "add_committee_post",
            post,
            station_id=person.station_id,
            detail={"community": community.code, "title": title},
        )
    return post


def end_committee_post(actor: Any, post: CommitteePost) -> None:
    with transaction.atomic():
        post.ended_at = timezone.localdate()
        post.save(update_fields=["ended_at"])
        record(actor, "end_committee_post", post, station_id=post.person.station_id)


def carry_assignments(actor: Any, old: GridVersion, new: GridVersion) -> tuple[int, int]:
    """Move open assignments of the old grids to the new version (see apply_grid_plan).

    Each old grid is matched with the new grid of its level covering most of its ground. When
    they overlap by at least KEEPS_GROUND (IoU), the person follows; otherwise the assignment is
    ended and listed for review, with the best match suggested. Returns (carried, to review).
    """
    from jingwang.territory.actions import KEEPS_GROUND
    from jingwang.territory.planning import Matcher

    matchers = {
        level: Matcher(list(Grid.objects.filter(version=new, level=level)))
        for level in Grid.LEVEL_ORDER
    }
    today = timezone.localdate()
    carried = review = 0
    open_ones = GridAssignment.objects.filter(
        grid__version=old, ended_at__isnull=True
    ).select_related("grid")
    matches: dict[int, tuple[Grid | None, float]] = {}
    for assignment in open_ones:
        grid = assignment.grid
        if grid.id not in matches:
            matches[grid.id] = matchers[grid.level].best(grid.geometry)
        target, score = matches[grid.id]
        assignment.ended_at = today
        assignment.save(update_fields=["ended_at"])
        if target is not None and score >= KEEPS_GROUND:
            GridAssignment.objects.create(
                person=assignment.person, grid=target, role=assignment.role
            )
            carried += 1
        else:
            Reassignment.objects.create(
                person=assignment.person,
                role=assignment.role,
                old_grid=grid,
                suggested_grid=target,
                overlap=round(score, 4),
                version=new,
            )
            review += 1
    return carried, review


def resolve_reassignment(actor: Any, item: Reassignment, *, assign_to: Grid | None) -> None:
    """Close a reassignment: assign the person to ``assign_to``, or decide none is needed."""
    with transaction.atomic():
        if (
            assign_to is not None
            and not GridAssignment.objects.filter(
                person=item.person, grid=assign_to, role=item.role, ended_at__isnull=True
            ).exists()
        ):
            GridAssignment.objects.create(person=item.person, grid=assign_to, role=item.role)
        item.resolved_at = timezone.now()
        item.save(update_fields=["resolved_at"])
        record(
            actor,
            "resolve_reassignment",
            item,
            station_id=item.person.station_id,
            detail={"assigned_to": assign_to.code if assign_to else None, "role": item.role},
        )
