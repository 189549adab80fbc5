"""Reads of people, assignments and coverage, within the user's scope."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from jingwang.accounts import scope
from jingwang.accounts.models import User
from jingwang.accounts.roles import Perm
from jingwang.people.actions import ACCOUNT_ROLES
from jingwang.people.models import CommitteePost, GridAssignment, Person, Reassignment
from jingwang.territory.models import Grid, Station

# 全覆盖: every block has an officer, an auxiliary and a grid worker (on it or above it).
COVERAGE_ROLES = ("community_officer", "auxiliary", "grid_worker")


def people_visible_to(user: Any) -> QuerySet[Person]:
    """People of the user's stations; for a grid worker, those working in their grids."""
    return scope.visible(
        user,
        Person.objects.all(),
        perm=Perm.PEOPLE_VIEW,
        grid=lambda grids: Q(
            id__in=GridAssignment.objects.filter(grid_id__in=grids, ended_at__isnull=True).values(
                "person_id"
            )
        ),
    )


def access_person(user: Any, person_id: Any, *, write: bool = False) -> Person:
    return scope.access(
        user,
        people_visible_to(user).select_related("station", "user"),
        person_id,
        write=write,
        write_perm=Perm.PEOPLE_MANAGE,
    )


def accounts_to_link(person: Person) -> QuerySet[User]:
    """The accounts that may be linked to ``person``: active, of the person's station, of a
    role that fits the person's kind, and linked to no one else (the person's own included).

    For a reader already given write access to the person (``access_person(write=True)``).
    """
    return (
        User.objects.filter(
            is_active=True,
            station_id=person.station_id,
            role__in=ACCOUNT_ROLES.get(person.kind, frozenset()),
        )
        .filter(Q(person__isnull=True) | Q(person=person))
        .order_by("username", "id")
    )


def assignments_visible_to(user: Any) -> QuerySet[GridAssignment]:
    """Assignments to grids the user may see, of people the user may see."""
    return scope.visible(
        user,
        GridAssignment.objects.filter(person__in=people_visible_to(user)),
        perm=Perm.PEOPLE_VIEW,
        station="grid__station_id",
        grid="grid_id",
    )


def access_assignment(
    user: Any, person: Person, assignment_id: Any, *, write: bool = False
) -> GridAssignment:
    """One open assignment of ``person``."""
    return scope.access(
        user,
        assignments_visible_to(user)
        .filter(person=person, ended_at__isnull=True)
        .select_related("grid"),
        assignment_id,
        write=write,
        write_perm=Perm.PEOPLE_MANAGE,
    )


def posts_visible_to(user: Any) -> QuerySet[CommitteePost]:
    return scope.visible(
        user,
        CommitteePost.objects.filter(person__in=people_visible_to(user)),
        perm=Perm.PEOPLE_VIEW,
        station="community__station_id",
        grid=lambda grids: Q(community__grids__id__in=grids),
    ).distinct()


def access_post(user: Any, person: Person, post_id: Any, *, write: bool = False) -> CommitteePost:
    """One current committee post of ``person``."""
    return scope.access(
        user,
        posts_visible_to(user).filter(person=person, ended_at__isnull=True),
        post_id,
        write=write,
        write_perm=Perm.PEOPLE_MANAGE,
    )


def reassignments_visible_to(user: Any) -> QuerySet[Reassignment]:
    """Assignments left for review by a new grid version (station-wide readers only)."""
    return scope.visible(
        user,
        Reassignment.objects.all(),
        perm=Perm.PEOPLE_VIEW,
        station="version__station_id",
    )


def access_reassignment(user: Any, item_id: Any) -> Reassignment:
    """One open reassignment, to resolve (needs people.manage)."""
    return scope.access(
        user,
        reassignments_visible_to(user)
        .filter(resolved_at__isnull=True)
        .select_related("person", "person__station", "suggested_grid"),
        item_id,
        write=True,
        write_perm=Perm.PEOPLE_MANAGE,
    )


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
        .only("id", "parent_id", "level", "code", "name", "map_geojson", "households", "population")
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


def coverage_of(grid: Grid) -> dict[str, str]:
    """Which coverage roles a grid has, held on the grid itself ("own") or above it ("above").

    A fact about the grid, shown to whoever sees the grid, without saying who holds the role.
    """
    chain = [grid.id]
    parent_id = grid.parent_id
    while parent_id is not None:
        chain.append(parent_id)
        parent_id = Grid.objects.filter(id=parent_id).values_list("parent_id", flat=True).first()
    held: dict[str, str] = {}
    for grid_id, role in GridAssignment.objects.filter(
        grid_id__in=chain, ended_at__isnull=True
    ).values_list("grid_id", "role"):
        where = "own" if grid_id == grid.id else "above"
        if held.get(role) != "own":
            held[role] = where
    return held
