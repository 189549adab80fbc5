"""Reads of people, assignments and coverage, within the user's scope."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import grid_ids, station_ids
from jingwang.people.models import GridAssignment, Person
from jingwang.territory.models import Grid, Station

# 全覆盖: every block has an officer, an auxiliary and a grid worker (on it or above it).
COVERAGE_ROLES = ("community_officer", "auxiliary", "grid_worker")


def people_visible_to(user: Any) -> QuerySet[Person]:
    if not has_perm(user, Perm.PEOPLE_VIEW):
        return Person.objects.none()
    people = Person.objects.filter(station_id__in=station_ids(user))
    limited = grid_ids(user)
    if limited is not None:
        people = people.filter(assignments__grid_id__in=limited, assignments__ended_at__isnull=True)
        people = people.distinct()
    return people


def access_person(user: Any, person_id: int, *, write: bool = False) -> Person:
    if write and not has_perm(user, Perm.PEOPLE_MANAGE):
        raise Http404()
    person = people_visible_to(user).filter(id=person_id).select_related("station", "user").first()
    if person is None:
        raise Http404()
    return person


def open_assignments(grids: QuerySet[Grid]) -> QuerySet[GridAssignment]:
    return GridAssignment.objects.filter(grid__in=grids, ended_at__isnull=True).select_related(
        "person", "grid"
    )


@dataclass
class Gap:
    grid: Grid
    missing: list[str] = field(default_factory=list)


def coverage_gaps(user: Any, station: Station) -> list[Gap]:
    """Blocks of the station's current grids lacking an officer, an auxiliary or a grid worker.

    An assignment on a sector or district covers every block below it.
    """
    from jingwang.territory.queries import grids_visible_to

    visible = set(grids_visible_to(user).filter(station=station).values_list("id", flat=True))
    grids = list(
        # Clusters never hold what a block's coverage depends on: skip their shapes.
        Grid.objects.filter(station=station, version__is_current=True)
        .exclude(level=Grid.Level.CLUSTER)
        .only(
            "id", "parent_id", "level", "code", "name", "geometry_wkt", "households", "population"
        )
    )
    by_id = {grid.id: grid for grid in grids}
    roles: dict[int, set[str]] = defaultdict(set)
    for grid_id, role in GridAssignment.objects.filter(
        grid__station=station, grid__version__is_current=True, ended_at__isnull=True
    ).values_list("grid_id", "role"):
        roles[grid_id].add(role)
    gaps = []
    for grid in grids:
        if grid.level != Grid.Level.BLOCK or grid.id not in visible:
            continue
        held: set[str] = set()
        node: Grid | None = grid
        while node is not None:
            held |= roles.get(node.id, set())
            node = by_id.get(node.parent_id) if node.parent_id else None
        missing = [role for role in COVERAGE_ROLES if role not in held]
        if missing:
            gaps.append(Gap(grid, missing))
    gaps.sort(key=lambda gap: gap.grid.code)
    return gaps
