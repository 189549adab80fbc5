"""Records placed in grids: one pattern for any record with a point (incidents, disputes, places,
patrol reports).

A model with a point subclasses ``Placed``. It then has

- ``lon``/``lat``: the point, WGS-84 (``None`` when the record has no point yet);
- ``grid``: the finest *current* grid covering the point. Scope and figures read this one, so a
  grid worker keeps seeing the records of their ground after a re-division;
- ``grid_at_time``: the grid the record was first placed in, kept for history (never moved by a
  new grid version);
- ``placed_by_hand``: an officer chose the grid (a record without a point, or a point outside
  every grid); a record placed by hand keeps its grid's successor when the grids change.

On write, an action calls ``place(record)`` (the point index of ``jingwang.territory.index``
answers in microseconds). When a station gets a new grid version, the follower made by
``follow(Model, name)`` re-places the station's records in bulk, in the plan's transaction: the
points through one index lookup (``GridIndex.locate_many``: a million points in a second or
two), the records placed by hand through the lineage (the new grid covering most of the old
one's ground). Register it from the app's ``AppConfig.ready()``::

    from jingwang.territory import placement
    placement.follow(Incident, "incidents.incidents")
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from jingwang.territory import index, lineage

if TYPE_CHECKING:
    from jingwang.territory.lineage import Lineage
    from jingwang.territory.models import GridVersion

# Rows written per UPDATE statement when re-placing in bulk.
BATCH = 5000


class Placed(models.Model):
    """A record with a point, placed in the finest current grid of its station (see module)."""

    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    grid = models.ForeignKey(
        "territory.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    grid_at_time = models.ForeignKey(
        "territory.Grid",
        verbose_name=_("grid at the time"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    placed_by_hand = models.BooleanField(_("placed by hand"), default=False)

    class Meta:
        abstract = True

    @property
    def has_point(self) -> bool:
        return self.lon is not None and self.lat is not None


def place(record: Placed, station_id: int | None = None) -> bool:
    """Set ``record.grid`` from its point (unsaved); True when a grid covers it.

    A record without a point, or outside every grid, keeps a grid placed by hand and otherwise
    has none (it is listed until an officer places it).
    """
    station_id = station_id if station_id is not None else record.station_id  # type: ignore[attr-defined]
    if record.has_point:
        found = index.locate_id([station_id], float(record.lon), float(record.lat))  # type: ignore[arg-type]
        if found is not None:
            record.grid_id = found
            record.placed_by_hand = False
            if record.grid_at_time_id is None:
                record.grid_at_time_id = found
            return True
    if not record.placed_by_hand:
        record.grid = None
    return record.grid_id is not None


def place_by_hand(record: Placed, grid: Any) -> None:
    """An officer puts the record in ``grid`` (one of its station's current grids; unsaved)."""
    record.grid = grid
    record.placed_by_hand = True
    if record.grid_at_time_id is None:
        record.grid_at_time = grid


def replace_station(
    model: type[Placed], station_id: int, found: Lineage | None = None
) -> dict[str, int]:
    """Re-place every record of ``model`` in the station on its current grids, in bulk.

    Records with a point go to the grid covering it (none when no grid does, unless placed by
    hand); records placed by hand without a point follow the lineage. Returns the figures:
    ``placed``, ``unplaced``, ``moved``.
    """
    rows = model.objects.filter(station_id=station_id)  # type: ignore[attr-defined]
    built = index.station_index(station_id)
    figures = {"placed": 0, "unplaced": 0, "moved": 0}
    targets: dict[int, list[np.ndarray]] = defaultdict(list)  # new grid (-1: none) -> ids
    points = list(
        rows.filter(lon__isnull=False, lat__isnull=False).values_list(
            "id", "lon", "lat", "grid_id", "placed_by_hand"
        )
    )
    if points:
        ids = np.fromiter((row[0] for row in points), np.int64, len(points))
        lons = np.fromiter((row[1] for row in points), np.float64, len(points))
        lats = np.fromiter((row[2] for row in points), np.float64, len(points))
        old = np.fromiter((row[3] or -1 for row in points), np.int64, len(points))
        by_hand = np.fromiter((row[4] for row in points), bool, len(points))
        del points
        new = np.full(len(ids), -1, dtype=np.int64)
        if built is not None:
            keys = np.asarray(built.index.locate_many(lons, lats), dtype=np.int64)
            grid_ids = np.asarray(built.grid_ids, dtype=np.int64)
            hit = keys >= 0
            new[hit] = grid_ids[keys[hit]]
        # Placed by hand (outside every grid): the old grid's successor.
        lost = (new < 0) & by_hand & (old >= 0)
        if lost.any():
            successors = {o: _successor(o, found) or -1 for o in np.unique(old[lost]).tolist()}
            new[lost] = [successors[o] for o in old[lost].tolist()]
        _collect(targets, figures, ids, old, new)
    hand = list(
        rows.filter(models.Q(lon__isnull=True) | models.Q(lat__isnull=True))
        .filter(grid__isnull=False)
        .values_list("id", "grid_id")
    )
    if hand:
        ids = np.array([row[0] for row in hand], dtype=np.int64)
        old = np.array([row[1] for row in hand], dtype=np.int64)
        successors = {o: _successor(o, found) or -1 for o in np.unique(old).tolist()}
        new = np.array([successors[o] for o in old.tolist()], dtype=np.int64)
        _collect(targets, figures, ids, old, new)
    if targets:
        _write(model, targets)
    return figures


def _write(model: type[Placed], targets: dict[int, list[np.ndarray]]) -> None:
    """Set the new grids in one statement: the moves go to a temporary table (COPY on
    PostgreSQL), then one UPDATE joins it. The table is made and dropped in the caller's
    transaction: a failure rolls it back with the rest."""
    moves = [
        (record, target if target >= 0 else None)
        for target, chunks in targets.items()
        for chunk in chunks
        for record in chunk.tolist()
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE placement_moves (id bigint PRIMARY KEY, grid_id bigint)"
        )
        if connection.vendor == "postgresql":
            with cursor.cursor.copy("COPY placement_moves (id, grid_id) FROM STDIN") as copy:
                for move in moves:
                    copy.write_row(move)
        else:
            for start in range(0, len(moves), BATCH * 10):
                cursor.executemany(
                    "INSERT INTO placement_moves (id, grid_id) VALUES (%s, %s)",
                    moves[start : start + BATCH * 10],
                )
        cursor.execute(
            f"UPDATE {table} SET grid_id = placement_moves.grid_id FROM placement_moves "
            f"WHERE {table}.id = placement_moves.id"
        )
        cursor.execute("DROP TABLE placement_moves")


def _collect(
    targets: dict[int, list[np.ndarray]],
    figures: dict[str, int],
    ids: np.ndarray,
    old: np.ndarray,
    new: np.ndarray,
) -> None:
    placed = int((new >= 0).sum())
    figures["placed"] += placed
    figures["unplaced"] += len(new) - placed
    moved = new != old
    figures["moved"] += int(moved.sum())
    if not moved.any():
        return
    moved_ids, moved_new = ids[moved], new[moved]
    order = np.argsort(moved_new, kind="stable")
    grids, starts = np.unique(moved_new[order], return_index=True)
    for target, members in zip(grids.tolist(), np.split(moved_ids[order], starts[1:]), strict=True):
        targets[int(target)].append(members)


def _successor(old_grid_id: Any, found: Lineage | None) -> int | None:
    if old_grid_id is None or found is None:
        return None
    new, _overlap = found.best(int(old_grid_id))
    return new


# The models that follow the grids, by follower name (``follow``): what a division proposal
# counts as the records that keep or change their block.
_placed: dict[str, type[Placed]] = {}


def placed_models() -> dict[str, type[Placed]]:
    """Every model registered with ``follow``, by its follower name."""
    return dict(_placed)


def follow(model: type[Placed], name: str) -> None:
    """Re-place ``model``'s records whenever a station gets a new grid version."""
    _placed[name] = model

    def follower(actor: Any, old: GridVersion, new: GridVersion, found: Lineage) -> dict[str, Any]:
        # The index notices the new version by itself (its stamp: the current version, its
        # grids' count and last id), so the followers of one apply share one build.
        return replace_station(model, new.station_id, found)

    lineage.register(name, follower)


__all__ = ["Placed", "follow", "place", "place_by_hand", "placed_models", "replace_station"]
