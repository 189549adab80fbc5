"""Reads of incidents, callbacks and rectifications, within the user's scope.

Grid workers see the incidents of their grids (``scope.visible`` limits them). Auxiliaries,
whose scope is otherwise their station, see the incidents of the grids they are assigned to
(and the grids below): the callback queue is theirs by grid too.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jingwang.accounts import scope
from jingwang.accounts.roles import Perm, Role
from jingwang.incidents.models import Callback, Incident, Rectification


def _auxiliary_limit(user: Any, grid_lookup: str) -> Q | None:
    if getattr(user, "role", None) != Role.AUXILIARY:
        return None
    # Their grids, and the station's incidents not yet placed in any grid (placing them is
    # everyone's work: one an auxiliary records without a point stays in their view).
    return Q(**{f"{grid_lookup}__in": scope.assigned_grids(user)}) | Q(
        **{f"{grid_lookup}__isnull": True}
    )


def incidents_visible_to(user: Any) -> QuerySet[Incident]:
    rows = scope.visible(user, Incident.objects.all(), perm=Perm.INCIDENTS_VIEW, grid="grid_id")
    limit = _auxiliary_limit(user, "grid_id")
    return rows.filter(limit) if limit is not None else rows


def access_incident(user: Any, incident_id: Any, *, write: bool = False) -> Incident:
    return scope.access(
        user,
        incidents_visible_to(user).select_related("category", "officer", "grid", "station"),
        incident_id,
        write=write,
        write_perm=Perm.INCIDENTS_RECORD,
    )


def callbacks_visible_to(user: Any) -> QuerySet[Callback]:
    return Callback.objects.filter(incident__in=incidents_visible_to(user))


def rectifications_visible_to(user: Any) -> QuerySet[Rectification]:
    return Rectification.objects.filter(incident__in=incidents_visible_to(user))


# ---------------------------------------------------------------------------------------------
# Recording and working incidents (the pages, the API and the 110 import)


def officers_of(user: Any, station: Any) -> QuerySet[Any]:
    """The active police and auxiliary officers of a station whom the user may see (the
    handling officer of an incident is one of them)."""
    from jingwang.people.models import Person
    from jingwang.people.queries import people_visible_to

    return (
        people_visible_to(user)
        .filter(
            station=station, is_active=True, kind__in=[Person.Kind.OFFICER, Person.Kind.AUXILIARY]
        )
        .order_by("kind", "name", "id")
    )


def officer_names(station: Any) -> dict[str, Any]:
    """A station's active officers by name and by badge number (the 110 import names them so;
    a name two officers share is left out: the file must give the badge number)."""
    from jingwang.people.models import Person

    found: dict[str, Any] = {}
    shared: set[str] = set()
    rows = Person.objects.filter(
        station=station, is_active=True, kind__in=[Person.Kind.OFFICER, Person.Kind.AUXILIARY]
    )
    for person in rows:
        if person.name in found:
            shared.add(person.name)
        found[person.name] = person
    for name in shared:
        del found[name]
    for person in rows:
        if person.badge_number:
            found[person.badge_number] = person
    return found


def access_station_grid(user: Any, incident: Incident, grid_id: Any) -> Any:
    """A current grid of the incident's station that the user may see, or the 404 door."""
    from jingwang.territory.queries import grids_visible_to

    return scope.access(
        user,
        grids_visible_to(user).filter(station_id=incident.station_id).select_related("version"),
        grid_id,
    )
