"""Checks of the base units before dividing: polygons repaired or refused, borders diagnosed.

Real data is messy: polygons exported from different systems do not share exact edges, some
overlap, some are self-intersecting. `check_units` says so before the engine builds a plan on it
(docs/division.md, "Input checks"): which units it repaired or refused, which have no neighbour,
where neighbours leave gaps or overlap, a snapping tolerance that would join them, and whether
the data look broken.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import shapely

from jingwang.lib.graph import (
    EDGE_TOLERANCE,
    EXACT_TOLERANCE,
    near_lengths,
    rook_edges,
    tolerant_edges,
)

from .graph import Graph, edge_graph, unit_graph
from .model import KINDS, BaseUnit, DataReport, Policy, Violation

# A repair is safe when the repaired polygon's area is within this share of the original's
# (the absolute area of its rings, as drawn): a small twist or a doubled vertex, not a bow-tie
# whose lobes cancel out.
REPAIR_AREA_CHANGE = 0.01
# The snapping tolerances the checks try, in metres, to suggest one and to find gaps.
TOLERANCES_M: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0)
# An isolated unit with no other unit within this distance is an island (an exclave), not a
# border fault.
ISLAND_DISTANCE_M = TOLERANCES_M[-1]
# Two units overlap when their insides share more than this share of the smaller one's area
# and more than OVERLAP_MIN_M2 (less is a sliver of digitising noise); more than
# OVERLAP_GROSS of the smaller one is a gross overlap (a duplicate or misplaced polygon).
OVERLAP_SHARE = 0.001
OVERLAP_MIN_M2 = 1.0
OVERLAP_GROSS = 0.25
# The data look broken above these shares (and with at least two units concerned): of units
# isolated though another unit is near (a border fault), of islands, and of gaps or overlaps
# against the neighbour pairs found.
BROKEN_NEAR_MISS_SHARE = 0.01
BROKEN_ISLAND_SHARE = 0.05
BROKEN_PAIR_SHARE = 0.05
# A gap wider than this is checked for a unit lying in it (then it is no gap).
GAP_CHECK_M = 2.0
# A tolerance is suggested when it joins at least half of the isolated units (or closes half
# the gaps): the smallest of TOLERANCES_M that does 90% of what the largest does.
SUGGEST_SHARE = 0.5
SUGGEST_NEAR_BEST = 0.9
# Findings name at most this many units or places per kind; counts are for all.
NAMED = 10


def check_units(units: Sequence[BaseUnit], policy: Policy) -> tuple[list[BaseUnit], DataReport]:
    """The units fit to divide (input order kept, invalid polygons repaired), and the report.

    Raises ValueError, naming the unit, for a caller's error: a duplicate code, an unknown kind,
    negative households or population, a bad complexity. A unit whose geometry is empty, not a
    polygon, of zero area, or invalid beyond a safe repair is refused: left out and listed in
    `refused` with the reason. See docs/division.md, "Input checks", for the rules.
    """
    usable, report, _graph = inspect_units(units, policy)
    return usable, report


def inspect_units(
    units: Sequence[BaseUnit], policy: Policy
) -> tuple[list[BaseUnit], DataReport, Graph]:
    """`check_units`, and the graph of the usable units under the policy's tolerance (the one
    `unit_graph` builds, measured on the way): what `divide` starts from."""
    units = list(units)
    validate_units(units)
    usable, repaired, refused = _geometries(units)
    report, graph = _borders(usable, policy.snap_tolerance_m)
    report = dataclasses.replace(
        report,
        units=len(units),
        repaired=tuple(u for u, _ in repaired),
        refused=tuple(refused),
        looks_broken=report.looks_broken or bool(refused),
        findings=(
            *[_refusal(code, reason) for code, reason in refused[:NAMED]],
            *_more("refused_unit", len(refused), "units refused", [c for c, _ in refused]),
            *report.findings,
            *[finding for _, finding in repaired[:NAMED]],
            *_more(
                "repaired_polygon", len(repaired), "polygons repaired", [u for u, _ in repaired]
            ),
        ),
    )
    return usable, report, graph


def usable_units(units: Sequence[BaseUnit]) -> list[BaseUnit]:
    """The units `check_units` lets through (polygons repaired, refused ones left out), without
    the border diagnostics: what `move_unit` re-measures a plan with."""
    units = list(units)
    validate_units(units)
    return _geometries(units)[0]


def validate_units(units: Sequence[BaseUnit]) -> None:
    """Raise ValueError naming the unit for what only the caller can fix (see `check_units`)."""
    seen: set[str] = set()
    for u in units:
        if u.code in seen:
            raise ValueError(f"units: duplicate unit code {u.code}")
        seen.add(u.code)
        if u.kind not in KINDS:
            raise ValueError(f"{u.code}: kind must be one of {', '.join(KINDS)}")
        if u.households < 0 or u.population < 0:
            raise ValueError(f"{u.code}: households and population must not be negative")
        if not math.isfinite(u.complexity) or u.complexity < 0:
            raise ValueError(f"{u.code}: complexity must be a non-negative number")


def _geometries(
    units: list[BaseUnit],
) -> tuple[list[BaseUnit], list[tuple[str, Violation]], list[tuple[str, str]]]:
    usable: list[BaseUnit] = []
    repaired: list[tuple[str, Violation]] = []
    refused: list[tuple[str, str]] = []
    for u in units:
        geometry, note, reason = repair(u.geometry)
        if reason is not None:
            refused.append((u.code, reason))
            continue
        if note is not None:
            message = f"unit {u.code}: {note}"
            repaired.append(
                (u.code, Violation("repaired_polygon", message, (u.code,), None, "data"))
            )
            u = dataclasses.replace(u, geometry=geometry)
        usable.append(u)
    return usable, repaired, refused


def repair(
    geometry: shapely.Geometry | None,
) -> tuple[shapely.Geometry | None, str | None, str | None]:
    """(geometry to use, what was repaired, why it is refused) for one unit's geometry.

    A valid polygon of positive area is used as it is. An invalid one is made valid
    (`shapely.make_valid`, keeping its polygonal parts) when the repair is safe: the area
    changes by at most REPAIR_AREA_CHANGE of the original's absolute ring area. Anything else
    is refused: empty, not a polygon, non-finite coordinates, zero area, or an unsafe repair.
    """
    if geometry is None or geometry.is_empty:
        return None, None, "empty geometry"
    if not isinstance(geometry, shapely.Polygon | shapely.MultiPolygon):
        return None, None, f"not a polygon but a {geometry.geom_type}"
    if not np.isfinite(shapely.get_coordinates(geometry)).all():
        return None, None, "coordinates that are not finite numbers"
    if geometry.is_valid:
        if geometry.area <= 0:
            return None, None, "a polygon of zero area"
        return geometry, None, None
    why = shapely.is_valid_reason(geometry)
    before = float(geometry.area)
    fixed = _polygonal(shapely.make_valid(geometry))
    after = float(fixed.area) if fixed is not None else 0.0
    if fixed is None or after <= 0:
        return None, None, f"invalid polygon ({why}) with no area left once made valid"
    change = abs(after - before) / max(after, before)
    if change > REPAIR_AREA_CHANGE:
        return (
            None,
            None,
            f"invalid polygon ({why}) that cannot be repaired safely: making it valid changes "
            f"its area from {before:,.0f} m² to {after:,.0f} m²",
        )
    note = (
        f"invalid polygon ({why}) repaired: area {before:,.0f} m² → {after:,.0f} m² "
        f"({(after - before) / before if before else 0.0:+.2%})"
    )
    return fixed, note, None


def _polygonal(geometry: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons of a geometry (from a collection, lines and points dropped) or None."""
    polygons: list[shapely.Polygon] = []
    stack = [geometry]
    while stack:
        g = stack.pop()
        if isinstance(g, shapely.Polygon):
            if not g.is_empty:
                polygons.append(g)
        elif isinstance(g, shapely.MultiPolygon | shapely.GeometryCollection):
            stack.extend(g.geoms)
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons[::-1])


@dataclasses.dataclass
class _Pairs:
    """Pairs of units that are not neighbours under the policy's tolerance but whose borders
    come within the largest tolerance tried, measured under each tolerance tried."""

    left: np.ndarray
    right: np.ndarray
    linked: dict[float, np.ndarray]  # tolerance -> neighbours under it (boolean per pair)
    near: dict[float, np.ndarray]  # tolerance -> (2, pairs) lengths within it


def _borders(units: list[BaseUnit], tolerance: float) -> tuple[DataReport, Graph]:
    """Isolated units, gaps, overlaps and a suggested tolerance (the `DataReport` without the
    repairs and refusals), and the graph under the tolerance."""
    n = len(units)
    geoms = np.asarray([u.geometry for u in units], dtype=object)
    if n < 2:
        return DataReport(units=n, tolerance_m=tolerance), unit_graph(list(geoms), tolerance)
    codes = [u.code for u in units]
    scale = max(float(np.median(shapely.length(geoms))), 1e-12)
    epsilon = EDGE_TOLERANCE * scale
    # First the graph under the policy's tolerance (as unit_graph builds it) ...
    radii = [EXACT_TOLERANCE * scale, *([tolerance] if tolerance > 0 else [])]
    left, right, near = near_lengths(geoms, radii)
    if tolerance > 0:
        linked, length = tolerant_edges(near[0], near[1], tolerance, epsilon)
        graph = edge_graph(geoms, left[linked], right[linked], length[linked])
    else:  # rook_edges' own exact rule: borders that cross are no edge
        rook_left, rook_right, rook_length = rook_edges(geoms)
        linked = np.isin(left * n + right, rook_left * n + rook_right)
        graph = edge_graph(geoms, rook_left, rook_right, rook_length)
    has_neighbour = np.zeros(n, dtype=bool)
    has_neighbour[left[linked]] = True
    has_neighbour[right[linked]] = True
    isolated = np.flatnonzero(~has_neighbour)
    islands = _islands(geoms, isolated)
    touching = near[0].max(axis=0) > 0
    overlap_pairs, overlap_area = _overlaps(geoms, left[touching], right[touching])
    # ... then the other pairs under every larger tolerance tried.
    later = [t for t in TOLERANCES_M if t > tolerance]
    bridged = left[linked] * n + right[linked]
    pairs = _measure(geoms, later, bridged, epsilon)
    gap = np.zeros(len(pairs.left), dtype=bool)
    closes_at = np.full(len(pairs.left), np.inf)
    for t in reversed(later):
        closes_at = np.where(pairs.linked[t], t, closes_at)
        gap |= pairs.linked[t]
    gap &= ~np.isin(pairs.left * n + pairs.right, overlap_pairs[0] * n + overlap_pairs[1])
    gap &= ~_filled(geoms, pairs, gap & (closes_at >= GAP_CHECK_M), closes_at)
    edges = int(linked.sum())
    many_gaps = int(gap.sum()) > BROKEN_PAIR_SHARE * max(edges, 1)
    suggested, isolated_note = _suggest(pairs, isolated, islands, later, gap, many_gaps, edges)
    findings: list[Violation] = []
    if len(isolated):
        findings.append(_isolated_finding(codes, isolated, islands, n, isolated_note))
    findings += _overlap_findings(codes, geoms, overlap_pairs, overlap_area)
    findings += _gap_findings(codes, geoms, pairs, np.flatnonzero(gap), closes_at)
    near_misses = len(isolated) - len(islands)
    unbridged = int((~np.isin(overlap_pairs[0] * n + overlap_pairs[1], bridged)).sum())
    looks_broken = (
        (near_misses >= 2 and near_misses > BROKEN_NEAR_MISS_SHARE * n)
        or (len(islands) >= 2 and len(islands) > BROKEN_ISLAND_SHARE * n)
        or many_gaps
        # Overlaps the tolerance makes neighbours are what it is for: listed, not broken.
        or unbridged > BROKEN_PAIR_SHARE * max(edges, 1)
        or bool((overlap_area[1] > OVERLAP_GROSS).any())
    )
    report = DataReport(
        units=n,
        isolated=tuple(codes[i] for i in isolated),
        gaps=int(gap.sum()),
        overlaps=len(overlap_area[0]),
        suggested_tolerance_m=suggested,
        looks_broken=bool(looks_broken),
        findings=tuple(findings),
        islands=tuple(codes[i] for i in islands),
        tolerance_m=tolerance,
    )
    return report, graph


def _measure(geoms: np.ndarray, tried: list[float], linked: np.ndarray, epsilon: float) -> _Pairs:
    """The pairs not `linked` (keys i * n + j) measured in one pass under every tolerance tried
    (those neighbours already are no gap, whatever the tolerance)."""
    if not tried:
        empty = np.zeros(0, dtype=np.int64)
        return _Pairs(empty, empty, {}, {})
    scale = epsilon / EDGE_TOLERANCE
    left, right, near = near_lengths(geoms, [EXACT_TOLERANCE * scale, *tried], skip=linked)
    linked_at = {t: tolerant_edges(near[0], near[k], t, epsilon)[0] for k, t in enumerate(tried, 1)}
    return _Pairs(left, right, linked_at, {t: near[k] for k, t in enumerate(tried, 1)})


def _filled(
    geoms: np.ndarray, pairs: _Pairs, which: np.ndarray, closes_at: np.ndarray
) -> np.ndarray:
    """Of the pairs picked by `which`, those with another unit lying between them (halfway
    from a point of the one's border near the other to the other): a narrow unit, not a gap."""
    filled = np.zeros(len(pairs.left), dtype=bool)
    picked = np.flatnonzero(which)
    if not len(picked):
        return filled
    a, b = pairs.left[picked], pairs.right[picked]
    stretch = shapely.intersection(
        shapely.boundary(geoms[a]), shapely.buffer(geoms[b], closes_at[picked])
    )
    middles = np.array([_middle(s) for s in stretch], dtype=object)
    halfway = shapely.line_interpolate_point(
        shapely.shortest_line(middles, geoms[b]), 0.5, normalized=True
    )
    hit, unit = shapely.STRtree(geoms).query(halfway, predicate="within")
    other = (unit != a[hit]) & (unit != b[hit])
    filled[picked[hit[other]]] = True
    return filled


def _islands(geoms: np.ndarray, isolated: np.ndarray) -> np.ndarray:
    """The isolated units with no other unit within ISLAND_DISTANCE_M."""
    if not len(isolated):
        return isolated
    tree = shapely.STRtree(geoms)
    found, _ = tree.query(geoms[isolated], predicate="dwithin", distance=ISLAND_DISTANCE_M)
    counts = np.bincount(found, minlength=len(isolated))  # each finds itself
    return isolated[counts <= 1]


def _overlaps(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Of pairs whose borders touch (and units inside others), those whose insides overlap
    beyond a sliver, worst (largest area) first: ([left, right], [area, share of the smaller])."""
    # A unit inside another touches no boundary: find those by containment.
    inner_a, inner_b = shapely.STRtree(geoms).query(geoms, predicate="contains_properly")
    left = np.concatenate([left, np.minimum(inner_a, inner_b)])
    right = np.concatenate([right, np.maximum(inner_a, inner_b)])
    crossing = ~shapely.touches(geoms[left], geoms[right])
    left, right = left[crossing], right[crossing]
    area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    share = area / smaller
    keep = (area > OVERLAP_MIN_M2) & (share > OVERLAP_SHARE)
    order = np.argsort(-area[keep], kind="stable")
    return (
        np.array([left[keep][order], right[keep][order]]),
        np.array([area[keep][order], share[keep][order]]),
    )


def _suggest(
    pairs: _Pairs,
    isolated: np.ndarray,
    islands: np.ndarray,
    later: list[float],
    gap: np.ndarray,
    many_gaps: bool,
    edges: int,
) -> tuple[float | None, str]:
    """The tolerance to suggest (or None) and the sentence saying why.

    Where units are isolated, the smallest tolerance tried that joins nearly as many of them as
    the largest does and leaves few gaps open (no more than BROKEN_PAIR_SHARE of the neighbour
    pairs it makes): a tolerance that joins each unit to one neighbour but leaves short shared
    borders apart would still look broken."""
    if not later:
        return None, ""
    border = np.setdiff1d(isolated, islands)
    if len(border) >= 2:
        joined, still_open = {}, {}
        for t in later:
            linked = pairs.linked[t]
            ends = np.concatenate([pairs.left[linked], pairs.right[linked]])
            joined[t] = int(np.isin(border, ends).sum())
            made = edges + int((gap & linked).sum())
            still_open[t] = int((gap & ~linked).sum()) > BROKEN_PAIR_SHARE * max(made, 1)
        best = joined[later[-1]]
        if best >= SUGGEST_SHARE * len(isolated):
            enough = [t for t in later if joined[t] >= SUGGEST_NEAR_BEST * best]
            t = next((t for t in enough if not still_open[t]), enough[-1])
            share = joined[t] / len(isolated)
            return t, (
                f"{share:.0%} of them come within {_metres(t)} of another unit: "
                f"set snap_tolerance_m to {_metres(t, unit=False)}"
            )
        return None, ""
    if many_gaps and gap.any():
        closed = {t: int((gap & pairs.linked[t]).sum()) for t in later}
        t = next(t for t in later if closed[t] >= SUGGEST_NEAR_BEST * closed[later[-1]])
        return t, f"set snap_tolerance_m to {_metres(t, unit=False)} to close the gaps"
    return None, ""


def _isolated_finding(
    codes: list[str], isolated: np.ndarray, islands: np.ndarray, n: int, note: str
) -> Violation:
    share = len(isolated) / n
    message = (
        f"{share:.0%} of units ({len(isolated):,} of {n:,}) have no neighbour"
        if len(isolated) > 1
        else f"unit {codes[isolated[0]]} has no neighbour"
    )
    if len(islands):
        far = "all of them are" if len(islands) == len(isolated) > 1 else f"{len(islands):,} are"
        if len(isolated) == 1:
            far = "it is"
        message += (
            f"; {far} more than {_metres(ISLAND_DISTANCE_M)} from any other unit "
            "(islands, divided on their own)"
        )
    if note:
        message += f"; {note}"
    island_set = set(islands.tolist())
    named = sorted(isolated.tolist(), key=lambda i: (i in island_set, codes[i]))[:NAMED]
    return Violation("isolated_units", message, tuple(codes[i] for i in named), None, "data")


def _overlap_findings(
    codes: list[str], geoms: np.ndarray, which: np.ndarray, area: np.ndarray
) -> list[Violation]:
    count = which.shape[1] if which.size else 0
    if not count:
        return []
    findings = [
        Violation(
            "overlaps",
            f"{count:,} pairs of units overlap; the {min(count, NAMED)} largest follow",
            tuple(dict.fromkeys(codes[i] for i in which[:, :NAMED].T.ravel())),
            None,
            "data",
        )
    ]
    for k in range(min(count, NAMED)):
        a, b = int(which[0, k]), int(which[1, k])
        place = shapely.point_on_surface(shapely.intersection(geoms[a], geoms[b]))
        findings.append(
            Violation(
                "overlaps",
                f"units {codes[a]} and {codes[b]} overlap by {area[0, k]:,.0f} m² "
                f"({area[1, k]:.1%} of the smaller) near {_place(place)}",
                (codes[a], codes[b]),
                None,
                "data",
            )
        )
    return findings


def _gap_findings(
    codes: list[str],
    geoms: np.ndarray,
    pairs: _Pairs,
    gaps: np.ndarray,
    closes_at: np.ndarray,
) -> list[Violation]:
    if not len(gaps):
        return []
    # Worst first: the longest border run side by side without an edge.
    along = np.array([_alongside(pairs, g, closes_at[g]) for g in gaps])
    order = gaps[np.argsort(-along, kind="stable")]
    findings = [
        Violation(
            "gaps",
            f"{len(gaps):,} pairs of units run side by side within {_metres(TOLERANCES_M[-1])} "
            f"without sharing an edge; the {min(len(gaps), NAMED)} longest follow",
            tuple(
                dict.fromkeys(
                    codes[i] for g in order[:NAMED] for i in (pairs.left[g], pairs.right[g])
                )
            ),
            None,
            "data",
        )
    ]
    for g in order[:NAMED]:
        a, b, t = int(pairs.left[g]), int(pairs.right[g]), float(closes_at[g])
        place = _middle(shapely.intersection(geoms[a].boundary, shapely.buffer(geoms[b], t)))
        apart = shapely.distance(place, geoms[b])
        findings.append(
            Violation(
                "gaps",
                f"units {codes[a]} and {codes[b]} run side by side for "
                f"{_alongside(pairs, g, t):,.0f} m, about {apart:.2f} m apart, without "
                f"sharing an edge, near {_place(place)} (a tolerance of {_metres(t)} joins them)",
                (codes[a], codes[b]),
                None,
                "data",
            )
        )
    return findings


def _middle(stretch: shapely.Geometry) -> shapely.Geometry:
    """The middle of the longest line of a stretch of border (a point of it if no line)."""
    lines = [g for g in shapely.get_parts(shapely.line_merge(stretch)) if g.length > 0]
    if not lines:
        return shapely.point_on_surface(stretch)
    return shapely.line_interpolate_point(max(lines, key=lambda g: g.length), 0.5, normalized=True)


def _alongside(pairs: _Pairs, pair: int, t: float) -> float:
    """How long two units' borders run side by side within t (less the overrun at the ends)."""
    return max(float(pairs.near[t][:, pair].mean()) - 2.0 * t, 0.0)


def _refusal(code: str, reason: str) -> Violation:
    return Violation("refused_unit", f"unit {code} left out: {reason}", (code,), None, "data")


def _more(code: str, count: int, what: str, ids: list[str]) -> list[Violation]:
    """A closing finding when more than NAMED were found."""
    if count <= NAMED:
        return []
    return [
        Violation(
            code, f"{count:,} {what} in all; the first {NAMED} are listed", tuple(ids), None, "data"
        )
    ]


def _place(point: shapely.Geometry) -> str:
    return f"({point.x:,.1f}, {point.y:,.1f})"


def _metres(t: float, unit: bool = True) -> str:
    text = f"{t:g}"
    return f"{text} m" if unit else text
