"""The complexity of base units from a year of records (治安复杂程度, ``lib/division/complexity``).

Other apps own the records; they register a **source** for the score's inputs (incidents,
disputes, key places) from their ``AppConfig.ready()``, as followers register in ``lineage``::

    from jingwang.territory import complexity
    complexity.register_source("incidents", complexity.placed_points(Incident, "received_at"))

A source is ``counter(station_id, start, end) -> iterable of (lon, lat)``: the WGS-84 points of
the station's records of that kind dated in [start, end]. Records without a point cannot be put
in a base unit and are not counted. An input nobody registered counts 0 (key places, until an
app records them).

``recompute_station`` locates every point in the station's base-unit polygons at once (one
``GridIndex`` over the units), scores each unit with ``complexity.score`` over the last 12
months, and stores the score in ``BaseUnit.complexity`` and its inputs in
``BaseUnit.complexity_inputs`` (one prepared UPDATE run for every unit: Django's ``bulk_update``
took 40 s for 10,000 units), in one transaction with one audit event. The station's current
grids then take the household-weighted mean of their units' scores (a unit belongs to the finest
grid holding a point inside it), as a newly applied plan gives them. A station
that has no record of any source in the period and was never computed from records is left as
imported. The nightly job (``tasks.py``), ``jingwang complexity`` and the button of the
division page run it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from django.db import models, transaction
from django.utils import timezone

from jingwang.audit.actions import record
from jingwang.core.imports import update_many
from jingwang.lib.division import complexity
from jingwang.lib.locate import GridIndex
from jingwang.territory import index
from jingwang.territory.models import BaseUnit, Grid, Station

# The inputs of complexity.score that come from records, in the order pages list them.
INPUTS = ("incidents", "disputes", "key_places")
Counter = Callable[[int, datetime, datetime], Iterable[tuple[float, float]]]
_sources: dict[str, Counter] = {}


def register_source(name: str, counter: Counter) -> None:
    """Count ``counter``'s points as the input ``name`` (one of ``INPUTS``) of every unit."""
    if name not in INPUTS:
        raise ValueError(f"{name}: not an input of the complexity score ({', '.join(INPUTS)})")
    _sources[name] = counter


def sources() -> dict[str, Counter]:
    return dict(_sources)


def placed_points(model: type[models.Model], dated: str) -> Counter:
    """A source over a model with a point (``placement.Placed``) dated by the field ``dated``."""

    def counter(station_id: int, start: datetime, end: datetime) -> Iterable[tuple[float, float]]:
        rows = model.objects.filter(  # type: ignore[attr-defined]
            station_id=station_id,
            lon__isnull=False,
            lat__isnull=False,
            **{f"{dated}__gte": start, f"{dated}__lte": end},
        )
        return rows.order_by().values_list("lon", "lat").iterator(chunk_size=10_000)

    return counter


def period(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last 12 months up to ``now``: the same moment a year earlier (28 Feb for 29 Feb)."""
    end = now or timezone.now()
    try:
        start = end.replace(year=end.year - 1)
    except ValueError:
        start = end.replace(year=end.year - 1, day=28)
    return start, end


def _points(counter: Counter, station_id: int, start: datetime, end: datetime) -> np.ndarray:
    flat = np.fromiter(
        (value for point in counter(station_id, start, end) for value in point), np.float64
    )
    return flat.reshape(-1, 2)


def recompute_station(actor: Any, station: Station, now: datetime | None = None) -> dict[str, Any]:
    """Score every base unit of ``station`` from its records of the last 12 months.

    Returns the figures of the audit event: ``units``, ``changed`` (units whose score moved),
    ``period`` (from, to), ``located`` and ``outside`` (points per input in a unit / in none),
    ``skipped`` (True when the station had no record and was never computed from records).
    """
    start, end = period(now)
    found = sources()
    units = list(
        BaseUnit.objects.filter(station=station)
        .order_by("id")
        .only("id", "geometry_wkt", "population", "households", "floating_population", "complexity")
    )
    figures: dict[str, Any] = {
        "units": len(units),
        "changed": 0,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "located": {},
        "outside": {},
        "skipped": False,
    }
    counts = {name: np.zeros(len(units), dtype=np.int64) for name in INPUTS}
    shaped = [
        i
        for i, unit in enumerate(units)
        if unit.geometry.geom_type in {"Polygon", "MultiPolygon"}
        and not unit.geometry.is_empty
        and shapely.is_valid(unit.geometry)
    ]
    by_unit = GridIndex([units[i].geometry for i in shaped], shaped) if shaped else None
    total = 0
    for name in INPUTS:
        if name not in found:
            continue
        points = _points(found[name], station.id, start, end)
        total += len(points)
        keys = (
            by_unit.locate_many(points[:, 0], points[:, 1])
            if by_unit is not None
            else np.full(len(points), -1, dtype=np.int64)
        )
        inside = keys[keys >= 0]
        counts[name] = np.bincount(inside, minlength=len(units)).astype(np.int64)
        figures["located"][name] = len(inside)
        figures["outside"][name] = len(points) - len(inside)
    if (
        total == 0
        and not BaseUnit.objects.filter(station=station, complexity_inputs__isnull=False).exists()
    ):
        figures["skipped"] = True
        return figures
    computed_at = timezone.now().isoformat()
    weights = dict(complexity.DEFAULT_WEIGHTS)
    usable = set(shaped)
    for i, unit in enumerate(units):
        values = {name: int(counts[name][i]) for name in INPUTS}
        floating = unit.floating_population
        score = complexity.score(
            values["incidents"],
            values["disputes"],
            values["key_places"],
            float(floating or 0),
            residents=float(unit.population),
            weights=weights,
        )
        if score != unit.complexity:
            figures["changed"] += 1
        unit.complexity = score
        unit.complexity_inputs = {
            **values,
            "residents": unit.population,
            "floating_population": floating,
            "sources": sorted(found),
            "located": i in usable,
            "period_from": start.isoformat(),
            "period_to": end.isoformat(),
            "computed_at": computed_at,
            "weights": weights,
            "score": score,
        }
    with transaction.atomic():
        update_many(BaseUnit, units, ["complexity", "complexity_inputs"])
        figures["grids"] = _grid_complexity(station, units, shaped)
        record(actor, "recompute_complexity", station, station_id=station.id, detail=figures)
    return figures


def _grid_complexity(station: Station, units: list[BaseUnit], shaped: list[int]) -> int:
    """Give the current grids the household-weighted mean complexity of their units; the number
    of grids whose complexity changed. Units are placed with the station's point index."""
    found = index.station_index(station.id)
    if found is None or not shaped:
        return 0
    grids = {
        g.id: g
        for g in Grid.objects.filter(station=station, version__is_current=True).only(
            "id", "parent_id", "complexity"
        )
    }
    points = shapely.point_on_surface(np.asarray([units[i].geometry for i in shaped], dtype=object))
    keys = found.index.locate_many(shapely.get_x(points), shapely.get_y(points))
    weighted: dict[int, float] = {}
    households: dict[int, float] = {}
    for i, key in zip(shaped, keys.tolist(), strict=True):
        if key < 0:
            continue
        grid_id: int | None = found.grid_ids[key]
        while grid_id is not None:  # the unit counts in its leaf and every grid above it
            weighted[grid_id] = (
                weighted.get(grid_id, 0.0) + units[i].households * units[i].complexity
            )
            households[grid_id] = households.get(grid_id, 0.0) + units[i].households
            grid_id = grids[grid_id].parent_id
    changed = []
    for grid_id, total in households.items():
        value = weighted[grid_id] / total if total else 0.0
        grid = grids[grid_id]
        if abs(grid.complexity - value) > 1e-12:
            grid.complexity = value
            changed.append(grid)
    update_many(Grid, changed, ["complexity"])
    return len(changed)


def recompute(actor: Any = None, stations: Iterable[Station] | None = None) -> dict[str, Any]:
    """``recompute_station`` for each station (every station by default): code → figures."""
    chosen = Station.objects.order_by("code") if stations is None else stations
    return {station.code: recompute_station(actor, station) for station in chosen}


def shown_inputs(unit: BaseUnit) -> list[dict[str, Any]]:
    """The rows of a unit page's table: each input's count, its rate per 1,000 people present,
    the reference rate and the weight (empty when the score was never computed from records)."""
    inputs = unit.complexity_inputs
    if not inputs:
        return []
    floating = inputs.get("floating_population") or 0
    people = max(float(inputs.get("residents", 0)) + floating, complexity.MIN_PEOPLE)
    weights = inputs.get("weights") or complexity.DEFAULT_WEIGHTS
    rows = []
    for name in (*INPUTS, "floating_population"):
        count = floating if name == "floating_population" else inputs.get(name, 0)
        rate = 1000.0 * count / people
        reference = complexity.REFERENCE_PER_1000[name]
        rows.append(
            {
                "name": name,
                "count": count,
                "rate": rate,
                "reference": reference,
                "weight": weights.get(name, 0.0),
                "term": weights.get(name, 0.0) * rate / reference,
                "registered": name == "floating_population"
                or name in inputs.get("sources", INPUTS),
            }
        )
    return rows


__all__ = [
    "INPUTS",
    "period",
    "placed_points",
    "recompute",
    "recompute_station",
    "register_source",
    "shown_inputs",
    "sources",
]
