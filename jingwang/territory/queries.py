"""Reads of the territory, always within the user's scope.

What a reader sees of a grid: a grid they may open, everything; a grid above one they may open
(an ancestor outside their scope), only its label (code, name, level), so the hierarchy reads
but none of its figures or people leak (``GridLabel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from jingwang.accounts import scope
from jingwang.accounts.roles import Perm
from jingwang.core.params import key_or_code
from jingwang.territory.models import (
    BaseUnit,
    Bureau,
    Community,
    DivisionProposal,
    Grid,
    Station,
)


def stations_visible_to(user: Any, *, perm: str = Perm.TERRITORY_VIEW) -> QuerySet[Station]:
    return scope.visible(
        user,
        Station.objects.select_related("bureau"),
        perm=perm,
        station="id",
        grid=lambda _grids: Q(),  # a grid worker sees the station their grids are in
    )


def grids_visible_to(user: Any, *, current: bool = True) -> QuerySet[Grid]:
    """Grids of the user's stations (of the current version unless asked otherwise)."""
    grids = Grid.objects.filter(version__is_current=True) if current else Grid.objects.all()
    return scope.visible(user, grids, perm=Perm.TERRITORY_VIEW, grid="id")


def communities_visible_to(user: Any) -> QuerySet[Community]:
    return scope.visible(
        user,
        Community.objects.all(),
        perm=Perm.TERRITORY_VIEW,
        grid=lambda grids: Q(id__in=Grid.objects.filter(id__in=grids).values("community_id")),
    )


def base_units_visible_to(user: Any) -> QuerySet[BaseUnit]:
    """Base units: station-wide readers only (a grid worker's grids are made of them, but the
    division is a station's business)."""
    return scope.visible(user, BaseUnit.objects.all(), perm=Perm.TERRITORY_VIEW)


def access_base_unit(user: Any, unit_id: Any) -> BaseUnit:
    """One base unit within scope; 404 alike for missing and not yours."""
    return scope.access(
        user, base_units_visible_to(user).select_related("station", "community"), unit_id
    )


def proposals_visible_to(user: Any) -> QuerySet[DivisionProposal]:
    return scope.visible(user, DivisionProposal.objects.all(), perm=Perm.TERRITORY_DIVIDE)


def access_proposal(user: Any, proposal_id: Any, *, write: bool = False) -> DivisionProposal:
    return scope.access(
        user,
        proposals_visible_to(user).select_related("station", "applied_version"),
        proposal_id,
        write=write,
        write_perm=Perm.TERRITORY_DIVIDE,
    )


def access_station(
    user: Any, station_id_or_code: int | str, *, perm: str = Perm.TERRITORY_VIEW
) -> Station:
    """One station within scope, by code or id; 404 alike for missing and not yours."""
    stations = stations_visible_to(user, perm=perm)
    key, code = key_or_code(station_id_or_code)
    found = stations.filter(code=code).first() if code else None
    if found is None and key is not None:
        found = stations.filter(id=key).first()
    if found is None:
        scope.deny(user, "territory.station", str(station_id_or_code)[:64], mode="read", perm=perm)
    assert found is not None
    return found


def access_grid(user: Any, grid_id: Any) -> Grid:
    """One grid within scope (any version); 404 alike for missing and not yours."""
    return scope.access(
        user,
        grids_visible_to(user, current=False).select_related(
            "parent", "version", "community", "station"
        ),
        grid_id,
    )


@dataclass(frozen=True)
class GridLabel:
    """What anyone who sees a grid may see of the grids above it."""

    id: int
    code: str
    name: str
    level: str
    open: bool  # the reader may open it

    @property
    def level_label(self) -> str:
        return str(Grid.Level(self.level).label)


def ancestors(user: Any, grid: Grid) -> list[GridLabel]:
    """The grids above ``grid``, largest first, as labels (``open`` when the reader may)."""
    chain: list[Grid] = []
    parent_id = grid.parent_id
    while parent_id is not None:
        parent = Grid.objects.only("id", "code", "name", "level", "parent_id").get(id=parent_id)
        chain.append(parent)
        parent_id = parent.parent_id
    chain.reverse()
    openable = set(
        grids_visible_to(user, current=False)
        .filter(id__in=[g.id for g in chain])
        .values_list("id", flat=True)
    )
    return [GridLabel(g.id, g.code, g.name, g.level, g.id in openable) for g in chain]


# ---------------------------------------------------------------------------------------------
# The configuration's doors: whoever manages it (the system admin) reaches every bureau and
# station, but only as codes and names; none of these doors leads to case data.

EVERY_ROW = Q(pk__isnull=False)


def config_bureaus(user: Any) -> QuerySet[Bureau]:
    return scope.visible(
        user, Bureau.objects.all(), perm=Perm.SYSTEM_CONFIGURE, station=None, also=EVERY_ROW
    )


def config_stations(user: Any) -> QuerySet[Station]:
    return scope.visible(
        user,
        Station.objects.select_related("bureau"),
        perm=Perm.SYSTEM_CONFIGURE,
        station=None,
        also=EVERY_ROW,
    )


def access_config_bureau(user: Any, bureau_id: Any, *, write: bool = False) -> Bureau:
    """One bureau for the configuration pages; 404 alike for missing and not yours."""
    return scope.access(
        user, config_bureaus(user), bureau_id, write=write, write_perm=Perm.SYSTEM_CONFIGURE
    )


def access_config_station(
    user: Any, bureau: Bureau, station_id: Any, *, write: bool = False
) -> Station:
    """One station of ``bureau`` for the configuration pages; 404 alike for missing, of another
    bureau, and not yours."""
    return scope.access(
        user,
        config_stations(user).filter(bureau=bureau),
        station_id,
        write=write,
        write_perm=Perm.SYSTEM_CONFIGURE,
    )
