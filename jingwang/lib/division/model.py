"""Plain data of the division engine: base units, the policy, violations, regions and plans."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import shapely

# The four grid levels, largest first (GLOSSARY: 区 · 片 · 组 · 群).
LEVELS: tuple[str, ...] = ("district", "sector", "block", "cluster")
KINDS: tuple[str, ...] = ("urban", "rural")
ISLAND_POLICIES: tuple[str, ...] = ("own_block", "merge")


@dataclass(frozen=True)
class BaseUnit:
    """A building, compound or village group: the atom the engine divides.

    `geometry` must be in a planar, metric CRS (see `project_lonlat`) so that lengths and areas,
    and therefore adjacency and compactness, mean something.
    """

    code: str
    community: str
    kind: str
    households: int
    population: int
    complexity: float
    geometry: shapely.Geometry


@dataclass(frozen=True)
class Policy:
    """How a station wants its territory divided. Stored as JSON (`to_dict` / `from_dict`)."""

    # Blocks (组) in urban units: households range and target, and a population ceiling.
    urban_households_min: int = 300
    urban_households_max: int = 500
    urban_households_target: int = 400
    urban_population_max: int | None = 2500
    # Blocks in rural units: "about 300 households".
    rural_households_min: int = 200
    rural_households_max: int = 400
    rural_households_target: int = 300
    rural_population_max: int | None = None
    # Workload = households x (1 + alpha x min(complexity, cap) / cap).
    complexity_alpha: float = 0.5
    complexity_cap: float = 1.0
    # Sectors (片) are built from blocks, districts (区) from sectors: either a target size
    # (children per region) or, when set, a fixed total count.
    sector_blocks: float = 6.0
    sector_count: int | None = None
    district_sectors: float = 4.0
    district_count: int | None = None
    sectors_cross_communities: bool = True
    districts_cross_communities: bool = True
    # Clusters (群): 10-50 households; a base unit above the maximum is atomic.
    cluster_households_min: int = 10
    cluster_households_max: int = 50
    cluster_households_target: int = 30
    # A piece of a community too small for a block: keep it as its own (small) block, or merge
    # it into the adjacent block of another community with which it shares the longest edge.
    island_policy: str = "own_block"
    # Local search: weight of the shared-edge (compactness) term against balance, the number
    # of improving moves allowed per unit, and rounds of perturbation (iterated local search).
    compactness_weight: float = 0.02
    moves_per_unit: int = 40
    perturbation_rounds: int = 6
    # Several starts (docs/division.md, "Several starts"): the engine tries as many seeds per
    # community piece as this budget buys by a fixed cost model (not a clock, so a given seed and
    # budget always give the same plan) and keeps each piece's best by the objective.
    search_seconds: float = 3.0
    # Real borders do not match exactly: units whose borders run within this many metres of each
    # other, along more than a corner, count as neighbours. 0 = only exactly shared edges.
    snap_tolerance_m: float = 0.0
    # Re-division (`redivide`): the cost of moving a unit out of its current block, against the
    # balance term (0 = moves are free, as in a fresh plan), and at most how many units may move
    # (None = no limit; units must still move where a block is out of range or in pieces).
    keep_weight: float = 1.0
    max_moved_units: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from JSON-like data; missing fields take their defaults.

        Raises ValueError naming the first bad field.
        """
        if not isinstance(data, Mapping):
            raise ValueError("policy: expected an object of field → value")
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ValueError(f"{key}: unknown policy field")
        values = {key: _coerce(key, known[key].type, value) for key, value in data.items()}
        policy = cls(**values)
        policy.validate()
        return policy

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        """Raise ValueError naming the field when the policy cannot be used."""
        for kind in KINDS:
            lo = getattr(self, f"{kind}_households_min")
            hi = getattr(self, f"{kind}_households_max")
            target = getattr(self, f"{kind}_households_target")
            _check(lo > 0, f"{kind}_households_min", "must be positive")
            _check(hi >= lo, f"{kind}_households_max", f"must be at least {kind}_households_min")
            _check(lo <= target <= hi, f"{kind}_households_target", "must lie within min..max")
            pop = getattr(self, f"{kind}_population_max")
            _check(pop is None or pop > 0, f"{kind}_population_max", "must be positive or null")
        _check(self.complexity_alpha >= 0, "complexity_alpha", "must not be negative")
        _check(self.complexity_cap > 0, "complexity_cap", "must be positive")
        _check(self.sector_blocks >= 1, "sector_blocks", "must be at least 1")
        _check(self.district_sectors >= 1, "district_sectors", "must be at least 1")
        for name in ("sector_count", "district_count"):
            value = getattr(self, name)
            _check(value is None or value >= 1, name, "must be at least 1 or null")
        lo, hi = self.cluster_households_min, self.cluster_households_max
        _check(lo > 0, "cluster_households_min", "must be positive")
        _check(hi >= lo, "cluster_households_max", "must be at least cluster_households_min")
        _check(
            lo <= self.cluster_households_target <= hi,
            "cluster_households_target",
            "must lie within min..max",
        )
        _check(
            self.island_policy in ISLAND_POLICIES,
            "island_policy",
            f"must be one of {', '.join(ISLAND_POLICIES)}",
        )
        _check(
            self.districts_cross_communities or not self.sectors_cross_communities,
            "sectors_cross_communities",
            "cannot be true when districts_cross_communities is false (sectors nest in districts)",
        )
        _check(self.compactness_weight >= 0, "compactness_weight", "must not be negative")
        _check(self.moves_per_unit >= 0, "moves_per_unit", "must not be negative")
        _check(self.perturbation_rounds >= 0, "perturbation_rounds", "must not be negative")
        _check(0 <= self.search_seconds <= 3600, "search_seconds", "must lie within 0..3600")
        _check(0 <= self.snap_tolerance_m <= 50, "snap_tolerance_m", "must lie within 0..50")
        _check(self.keep_weight >= 0, "keep_weight", "must not be negative")
        _check(
            self.max_moved_units is None or self.max_moved_units >= 0,
            "max_moved_units",
            "must not be negative, or null for no limit",
        )

    def block_range(self, kind: str) -> tuple[int, int, int, int | None]:
        """(min, target, max households, max population) of a block of this kind."""
        return (
            getattr(self, f"{kind}_households_min"),
            getattr(self, f"{kind}_households_target"),
            getattr(self, f"{kind}_households_max"),
            getattr(self, f"{kind}_population_max"),
        )

    def workload(self, households: float, complexity: float) -> float:
        """Households weighted by public-security complexity (see docs/division.md)."""
        normalised = min(max(complexity, 0.0), self.complexity_cap) / self.complexity_cap
        return households * (1.0 + self.complexity_alpha * normalised)


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {message}")


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Check one JSON value against the field's annotation (a string, from __future__)."""
    text = str(annotation)
    if value is None:
        if "None" in text:
            return None
        raise ValueError(f"{name}: must not be null")
    if text.startswith("bool"):
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false")
        return value
    if text.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name}: expected an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{name}: expected an integer")
        return int(value)
    if text.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name}: expected a number")
        if not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number")
        return float(value)
    if text.startswith("str"):
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected a string")
        return value
    raise ValueError(f"{name}: unsupported field type")  # pragma: no cover


# Why a constraint is not met: the data force it (a unit alone above the maximum, an island
# too small for a block, a pocket that can only join one block), or the search did not find
# better within its budget.
CAUSES: tuple[str, ...] = ("data", "search")


@dataclass(frozen=True)
class Violation:
    """A constraint the plan does not meet, and why. `ids` are region ids and/or unit codes.

    `cause` is one of CAUSES where the engine can tell, else None (for instance a hand-edited
    plan's broken contiguity, which is the editor's choice).
    """

    code: str
    message: str
    ids: tuple[str, ...] = ()
    level: str | None = None
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "ids": list(self.ids),
            "level": self.level,
            "cause": self.cause,
        }


@dataclass(frozen=True)
class DataReport:
    """What the checks of the input found before dividing (`checks.check_units`).

    `findings` are readable, worst first: code (e.g. "isolated_units", "gap", "overlap",
    "repaired", "refused"), message naming the units and the place, and the unit codes in
    `ids`. `looks_broken` is what puts a warning at the top of a proposal and in the CLI.
    """

    units: int
    isolated: tuple[str, ...] = ()  # units with no neighbour at all (after snapping)
    gaps: int = 0  # pairs of units within the tolerance of each other but not touching
    overlaps: int = 0  # pairs of units whose insides overlap
    repaired: tuple[str, ...] = ()  # invalid polygons made valid (safely) and used
    refused: tuple[tuple[str, str], ...] = ()  # (unit code, reason): left out of the plan
    suggested_tolerance_m: float | None = None  # a snapping tolerance that would join them
    looks_broken: bool = False
    findings: tuple[Violation, ...] = ()
    islands: tuple[str, ...] = ()  # isolated units far from every other unit (not a border fault)
    tolerance_m: float = 0.0  # the snapping tolerance the checks (and the plan) used

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "islands": list(self.islands),
            "tolerance_m": self.tolerance_m,
            "isolated": list(self.isolated),
            "gaps": self.gaps,
            "overlaps": self.overlaps,
            "repaired": list(self.repaired),
            "refused": [list(r) for r in self.refused],
            "suggested_tolerance_m": self.suggested_tolerance_m,
            "looks_broken": self.looks_broken,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Region:
    """One grid of a plan with its measures."""

    id: str
    level: str
    units: tuple[str, ...]
    households: int
    population: int
    workload: float
    kind: str
    communities: tuple[str, ...]
    pieces: int
    area: float
    perimeter: float
    polsby_popper: float
    in_range: bool | None  # blocks and clusters only: households within the policy's range

    @property
    def contiguous(self) -> bool:
        return self.pieces == 1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["units"] = list(self.units)
        data["communities"] = list(self.communities)
        data["contiguous"] = self.contiguous
        return data


@dataclass(frozen=True)
class Evaluation:
    """What `evaluate` returns: overall measures, regions per level, violations."""

    measures: dict[str, Any]
    regions: dict[str, list[Region]]
    violations: list[Violation]


@dataclass
class Plan:
    """A four-level division: per level, unit code → region id, plus measures and violations."""

    assignment: dict[str, dict[str, str]]
    policy: Policy
    seed: int
    evaluation: Evaluation
    notes: list[Violation] = field(default_factory=list)
    # What the input checks found (None for a plan re-measured from storage or edited by hand).
    data: DataReport | None = None
    # How the search went: starts tried per piece, the budget, the seeds kept (docs/division.md).
    search: dict[str, Any] = field(default_factory=dict)
    # Re-division only: how much of the current grids the plan keeps (`continuity`).
    kept: dict[str, Any] | None = None

    @property
    def measures(self) -> dict[str, Any]:
        return self.evaluation.measures

    @property
    def violations(self) -> list[Violation]:
        """Engine notes (e.g. a merged island) followed by what the measuring found."""
        return [*self.notes, *self.evaluation.violations]

    def regions(self, level: str) -> list[Region]:
        if level not in LEVELS:
            raise ValueError(f"level: must be one of {', '.join(LEVELS)}")
        return self.evaluation.regions[level]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "policy": self.policy.to_dict(),
            "assignment": {level: dict(self.assignment[level]) for level in LEVELS},
            "measures": self.measures,
            "regions": {
                level: [r.to_dict() for r in self.evaluation.regions[level]] for level in LEVELS
            },
            "violations": [v.to_dict() for v in self.violations],
            "data": self.data.to_dict() if self.data else None,
            "search": dict(self.search),
            "kept": self.kept,
        }
