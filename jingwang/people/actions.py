"""Every change to people, assignments and committee posts; each writes its audit event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.models import User
from jingwang.accounts.roles import BUREAU_ROLES, THREE_ADMINS, Role
from jingwang.audit.actions import record, record_many
from jingwang.core import bulk
from jingwang.core.personal import personal_fields
from jingwang.people.models import CommitteePost, GridAssignment, Person, Reassignment
from jingwang.territory.lineage import KEEPS_GROUND, Lineage
from jingwang.territory.models import Community, Grid, GridVersion, Station


class StaleEdit(Exception):
    """Someone else saved this record since it was opened."""


class DuplicatePerson(Exception):
    """Another person of the station already has this ID number."""

    field = "id_number"

    def __str__(self) -> str:
        return str(_("A person with this ID number already exists in this station."))


def _taken(station_id: int, id_number: str, exclude: int | None = None) -> bool:
    rows = Person.objects.filter(
        station_id=station_id, id_number_hash=Person.id_number.hash(id_number)
    )
    return rows.exclude(pk=exclude).exists() if exclude else rows.exists()


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
    """Add a person. One ID number per station: DuplicatePerson when it is taken, also when
    two requests race (the database constraint decides)."""
    person = Person(
        station=station, name=name, kind=kind, badge_number=badge_number, is_active=is_active
    )
    person.id_number = id_number
    person.phone = phone
    try:
        with transaction.atomic():
            if id_number and _taken(station.pk, id_number):
                raise DuplicatePerson()
            person.save()
            record(actor, "create_person", person, detail={"kind": kind})
    except IntegrityError as exc:
        if id_number and _taken(station.pk, id_number):
            raise DuplicatePerson() from exc
        raise
    return person


EDITABLE = ("name", "kind", "badge_number", "is_active")


def update_person(actor: Any, person: Person, *, version: int, **fields: Any) -> Person:
    """Save changed fields; a stale ``version`` raises StaleEdit and nothing is written.

    ID and phone numbers change only when a new value is given (empty keeps the old one).
    """
    try:
        with transaction.atomic():
            current = Person.objects.select_for_update().get(pk=person.pk)
            if current.version != version:
                raise StaleEdit()
            changed: list[str] = []
            for name in EDITABLE:
                if name in fields and getattr(current, name) != fields[name]:
                    setattr(current, name, fields[name])
                    changed.append(name)
            shown = list(changed)
            for name in ("id_number", "phone"):
                value = fields.get(name)
                if value and getattr(current, name) != value:
                    if name == "id_number" and _taken(current.station_id, value, current.pk):
                        raise DuplicatePerson()
                    setattr(current, name, value)
                    changed += personal_fields(Person)[name].columns()
                    shown.append(name)
            if changed:
                current.version += 1
                current.save(update_fields=[*changed, "version"])
                record(actor, "update_person", current, detail={"fields": sorted(shown)})
    except IntegrityError as exc:
        if fields.get("id_number") and _taken(person.station_id, fields["id_number"], person.pk):
            raise DuplicatePerson() from exc
        raise
    return current


# Which account roles fit a person of each kind: linking gives the account its scope (a grid
# worker's or volunteer's grids, a member's disputes), so the account must be of that kind's role.
ACCOUNT_ROLES: dict[str, frozenset[str]] = {
    Person.Kind.OFFICER: frozenset({Role.OFFICER, Role.STATION_CHIEF}),
    Person.Kind.AUXILIARY: frozenset({Role.AUXILIARY}),
    Person.Kind.GRID_WORKER: frozenset({Role.GRID_WORKER}),
    Person.Kind.MEDIATOR: frozenset({Role.MEDIATOR}),
    Person.Kind.DEPUTY: frozenset({Role.MEDIATION_MEMBER}),
    Person.Kind.CPPCC_MEMBER: frozenset({Role.MEDIATION_MEMBER}),
    Person.Kind.CONDUCT_SUPERVISOR: frozenset({Role.MEDIATION_MEMBER}),
    Person.Kind.JUDICIAL_OFFICE: frozenset({Role.MEDIATION_MEMBER}),
    Person.Kind.LAW_ENFORCEMENT: frozenset({Role.MEDIATION_MEMBER}),
    Person.Kind.VOLUNTEER: frozenset({Role.VOLUNTEER}),
}


class AccountRefused(Exception):
    """The account cannot be linked to this person; the message says why."""

    field = "user"

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _linked_elsewhere(user_id: int, person_id: int) -> bool:
    return Person.objects.filter(user_id=user_id).exclude(pk=person_id).exists()


def _check_account(person: Person, user: Any) -> None:
    if not user.is_active:
        raise AccountRefused(_("This account is disabled."))
    if user.role in THREE_ADMINS or user.role in BUREAU_ROLES:
        raise AccountRefused(
            _(
                "An account of the security, system or audit admins or a bureau admin is never "
                "linked to a person."
            )
        )
    if user.station_id != person.station_id:
        raise AccountRefused(_("Choose an account of this person's station."))
    if user.role not in ACCOUNT_ROLES.get(person.kind, frozenset()):
        raise AccountRefused(
            _("A %(kind)s cannot be linked to an account with the role %(role)s.")
            % {"kind": person.get_kind_display(), "role": user.get_role_display()}
        )
    if _linked_elsewhere(user.pk, person.pk):
        raise AccountRefused(_("This account is already linked to another person."))


def link_account(actor: Any, person: Person, *, version: int, user: Any | None) -> Person:
    """Link ``person`` to their login account (``user=None`` unlinks it).

    The account must be active, of the person's station, and of a role that fits the person's
    kind (ACCOUNT_ROLES); one account, one person (the database constraint decides a race).
    A stale ``version`` raises StaleEdit; a refused account raises AccountRefused (field
    ``user``); either way nothing is written.
    """
    try:
        with transaction.atomic():
            current = Person.objects.select_for_update().get(pk=person.pk)
            if current.version != version:
                raise StaleEdit()
            if current.user_id == (user.pk if user is not None else None):
                return current  # nothing to change
            account = None
            if user is not None:
                # The account as it is now (its role or state may have changed since the form).
                account = User.objects.select_for_update().filter(pk=user.pk).first()
                if account is None:
                    raise AccountRefused(_("Choose an account of this person's station."))
                _check_account(current, account)
            previous = current.user
            current.user = account
            current.version += 1
            current.save(update_fields=["user", "version"])
            record(
                actor,
                "link_account",
                current,
                detail={
                    "account": account.username if account else None,
                    "previous": previous.username if previous else None,
                },
            )
    except IntegrityError as exc:
        if user is not None and _linked_elsewhere(user.pk, person.pk):
            raise AccountRefused(_("This account is already linked to another person.")) from exc
        raise
    return current


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


def carry_assignments(
    actor: Any, old: GridVersion, new: GridVersion, lineage: Lineage
) -> dict[str, int]:
    """Follower of a new grid version (registered in PeopleConfig.ready): move the open
    assignments of the old grids, in bulk.

    Each old grid goes to the new grid of its level that covers most of its ground. When they
    overlap by at least KEEPS_GROUND (IoU), the person follows; otherwise the assignment ends
    and is listed for review, with the best match suggested. Every move is audited.
    """
    today = timezone.localdate()
    open_ones = list(
        GridAssignment.objects.filter(grid__version=old, ended_at__isnull=True).select_related(
            "grid", "person"
        )
    )
    if not open_ones:
        return {"assignments_carried": 0, "assignments_to_review": 0}
    targets = {
        grid.id: grid
        for grid in Grid.objects.filter(version=new).only("id", "code", "station_id", "level")
    }
    GridAssignment.objects.filter(grid__version=old, ended_at__isnull=True).update(ended_at=today)
    carried: list[tuple[GridAssignment, GridAssignment, float]] = []
    review: list[tuple[GridAssignment, Reassignment]] = []
    for assignment in open_ones:
        target_id, score = lineage.best(assignment.grid_id)
        target = targets.get(target_id) if target_id is not None else None
        if target is not None and score >= KEEPS_GROUND:
            moved = GridAssignment(
                person=assignment.person, grid=target, role=assignment.role, since=today
            )
            carried.append((assignment, moved, score))
        else:
            item = Reassignment(
                person=assignment.person,
                role=assignment.role,
                old_grid=assignment.grid,
                suggested_grid=target,
                overlap=round(score, 4),
                version=new,
            )
            review.append((assignment, item))
    bulk.create(GridAssignment, [moved for _old, moved, _score in carried])
    bulk.create(Reassignment, [item for _old, item in review])
    moves = {id(moved): (before, score) for before, moved, score in carried}
    record_many(
        actor,
        "carry_assignment",
        [moved for _before, moved, _score in carried],
        station_id=new.station_id,
        subject=lambda moved: moved.person,
        detail=lambda moved: {
            "person": moved.person_id,
            "role": moved.role,
            "from": moves[id(moved)][0].grid.code,
            "to": moved.grid.code,
            "overlap": round(moves[id(moved)][1], 4),
        },
    )
    olds = {id(item): before for before, item in review}
    record_many(
        actor,
        "review_assignment",
        [item for _before, item in review],
        station_id=new.station_id,
        subject=lambda item: item.person,
        detail=lambda item: {
            "person": item.person_id,
            "role": item.role,
            "from": olds[id(item)].grid.code,
            "suggested": item.suggested_grid.code if item.suggested_grid else None,
            "overlap": item.overlap,
        },
    )
    return {"assignments_carried": len(carried), "assignments_to_review": len(review)}


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
