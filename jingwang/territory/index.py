"""The point → grid index of each station: an in-memory cache, rebuilt when grids change.

Nothing here is state that cannot be rebuilt: each process builds its own index lazily from the
database and drops it when the station's current grid version changes (checked per call by a
cheap query on the version row), so several app processes stay correct.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db.models import Count, Max

from jingwang.lib.locate import GridIndex
from jingwang.territory.models import Grid, GridVersion

_lock = threading.Lock()
_cache: dict[int, tuple[tuple[int, int, int], StationIndex]] = {}


@dataclass
class StationIndex:
    index: GridIndex
    grid_ids: list[int]  # position = key given to the index (grids sorted by code)


def _build(version: GridVersion) -> StationIndex:
    grids = list(
        Grid.objects.filter(version=version)
        .order_by("code")
        .only("id", "code", "geometry_wkt", "level", "parent_id")
    )
    # Locate among the finest grids: a grid with children is covered by them.
    parents = {grid.parent_id for grid in grids}
    leaves = [grid for grid in grids if grid.id not in parents]
    index = GridIndex([grid.geometry for grid in leaves], list(range(len(leaves))))
    return StationIndex(index, [grid.id for grid in leaves])


def station_index(station_id: int) -> StationIndex | None:
    # The stamp changes whenever the station's current grids do, in this process or another:
    # one query per call (the current version, its grids' count and last id).
    figures = Grid.objects.filter(station_id=station_id, version__is_current=True).aggregate(
        version=Max("version_id"), count=Count("id"), last=Max("id")
    )
    if figures["version"] is None:
        return None
    stamp = (figures["version"], figures["count"], figures["last"] or 0)
    cached = _cache.get(station_id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        built = _build(GridVersion.objects.get(pk=figures["version"]))
        _cache[station_id] = (stamp, built)
    return built


def locate(station_ids: list[int], lon: float, lat: float) -> Grid | None:
    """The finest current grid covering the point, searching the given stations in id order."""
    found = locate_id(station_ids, lon, lat)
    return Grid.objects.select_related("parent").get(id=found) if found is not None else None


def locate_id(station_ids: list[int], lon: float, lat: float) -> int | None:
    """The id of the finest current grid covering the point (no query beyond the index's)."""
    for station_id in sorted(station_ids):
        found = station_index(station_id)
        if found is None:
            continue
        key = found.index.locate(lon, lat)
        if key is not None:
            return found.grid_ids[key]
    return None


def forget(station_id: int) -> None:
    _cache.pop(station_id, None)
