"""Territory's demo data: the bureau, its stations, communities, base units and grids.

Django-free, like every demo generator (``jingwang.demo.registry``); ``load`` writes it. How the
map is made (per station, in a local kilometre frame centred on the town, from the station's own
seeded stream):

1. the station outline is a perturbed circle and the town a smaller perturbed circle inside it;
2. the town is cut into urban communities and the ring around it into villages by Lloyd-relaxed,
   seeded Voronoi tessellations clipped to the town disc and to the ring;
3. each community is cut into base units (buildings and compounds in the town, village groups
   社 in the villages) by a seeded Voronoi of its own, sized by its households;
4. the base units of the whole station are cleaned into an exact coverage (``coverage_clean``:
   shared edges have identical vertices), then projected to longitude/latitude and rounded to
   7 decimals (about 1 cm), the precision the database keeps;
5. the grid hierarchy is grown over shared-edge adjacency (``jingwang.lib.graph``): districts
   are groups of communities, sectors are communities (a big town community is two), blocks
   are contiguous groups of base units within a community, clusters are one base unit or two
   adjacent ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from jingwang.lib.graph import contiguous_parts, shared_edges
from jingwang.lib.numbers import cn_number

if TYPE_CHECKING:
    from jingwang.demo.generate import Context
    from jingwang.demo.load import Loading
    from jingwang.territory.models import Bureau, Shaped, Station

BUREAU_CODE = "ST"
BUREAU_NAME = "三台县公安局"
AREA_CODE = "510722"  # 三台县: community codes and the demo's ID numbers begin with it


# The local frame: kilometres east and north of the Tongchuan town centre.
LON0, LAT0 = 105.09, 31.09
KM_PER_DEG_LAT = 110.86
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(LAT0))
PRECISION = 7  # decimals of longitude/latitude kept (about 1 cm)

# Households per base unit and residents per household.
URBAN_UNIT_HOUSEHOLDS = (20, 50, 34)  # low, high, mode
RURAL_UNIT_HOUSEHOLDS = (25, 50, 38)
URBAN_RESIDENTS = (2.62, 2.88)
RURAL_RESIDENTS = (3.02, 3.38)
# Households per block (组) the grouping aims for, and the range it must stay in.
URBAN_BLOCK = (400, 300, 500)  # target, low, high
RURAL_BLOCK = (300, 200, 400)
CLUSTER_MAX = 50
# A town community with at least this many households is split into two sectors (片).
TWO_SECTORS_FROM = 4000

TYPE_COMPLEXITY = {
    "commercial": 0.62,
    "mixed": 0.48,
    "industrial": 0.45,
    "residential": 0.34,
    "campus": 0.30,
    "rural": 0.18,
}


# ── specifications ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    community_type: str
    hint: str = ""  # where in the town: C centre, E/W/N/S the side (urban only)


@dataclass(frozen=True)
class DistrictSpec:
    label: str  # shown after the district's number: 第一警务区（城东）
    kind: str  # "urban" or "village"
    side: str  # "all", "east"/"west" (urban), "north"/"south" (villages)


@dataclass(frozen=True)
class StationSpec:
    code: str
    name: str
    township: str  # 3-digit township part of the community codes
    centre: tuple[float, float]  # km east and north of the Tongchuan centre
    town_radius: float  # km
    outer_radius: float  # km
    urban: tuple[CommunitySpec, ...]
    villages: tuple[CommunitySpec, ...]
    districts: tuple[DistrictSpec, ...]


C = CommunitySpec
STATIONS: tuple[StationSpec, ...] = (
    StationSpec(
        code="TC",
        name="潼川派出所",
        township="101",
        centre=(0.0, 0.0),
        town_radius=1.45,
        outer_radius=5.9,
        urban=(
            C("梓州社区", "commercial", "C"),
            C("东街社区", "commercial", "E"),
            C("西街社区", "mixed", "W"),
            C("南街社区", "mixed", "S"),
            C("北坝社区", "residential", "N"),
            C("花园社区", "residential"),
            C("学府社区", "campus"),
            C("滨江社区", "residential"),
            C("云台社区", "mixed"),
            C("金鼓社区", "residential"),
        ),
        villages=(
            C("石板村", "rural"),
            C("罗家湾村", "rural"),
            C("柏林村", "rural"),
            C("青龙村", "rural"),
            C("白鹤村", "rural"),
            C("双河村", "industrial"),
            C("桃花村", "rural"),
            C("金石村", "industrial"),
            C("高峰村", "rural"),
            C("马鞍村", "rural"),
            C("龙井村", "rural"),
            C("永安村", "rural"),
            C("新华村", "rural"),
        ),
        districts=(
            DistrictSpec("城东", "urban", "east"),
            DistrictSpec("城西", "urban", "west"),
            DistrictSpec("北部", "village", "north"),
            DistrictSpec("南部", "village", "south"),
        ),
    ),
    StationSpec(
        code="LX",
        name="芦溪派出所",
        township="102",
        centre=(-5.0, -17.0),
        town_radius=0.6,
        outer_radius=3.3,
        urban=(C("芦溪社区", "mixed", "C"),),
        villages=(C("明星村", "rural"), C("红豆村", "rural"), C("黄泥村", "industrial")),
        districts=(DistrictSpec("场镇", "urban", "all"), DistrictSpec("乡村", "village", "all")),
    ),
    StationSpec(
        code="XD",
        name="新德派出所",
        township="103",
        centre=(6.0, 17.5),
        town_radius=0.75,
        outer_radius=3.4,
        urban=(C("新德社区", "mixed", "E"), C("文昌社区", "residential", "W")),
        villages=(C("大石村", "rural"), C("杨柳村", "rural"), C("古井村", "rural")),
        districts=(DistrictSpec("场镇", "urban", "all"), DistrictSpec("乡村", "village", "all")),
    ),
)


# ── output ──────────────────────────────────────────────────────────────────────────────────


@dataclass
class CommunityData:
    code: str
    name: str
    kind: str  # village / urban
    community_type: str
    geometry: shapely.Geometry
    households: int = 0
    population: int = 0
    complexity: float = 0.0


@dataclass
class UnitData:
    code: str
    name: str
    kind: str  # urban / rural
    community: str  # community code
    geometry: shapely.Geometry
    households: int
    population: int
    complexity: float


@dataclass
class GridData:
    code: str
    name: str
    level: str
    parent: str | None  # parent grid code
    community: str | None  # community code (sectors, blocks, clusters)
    geometry: shapely.Geometry
    households: int
    population: int
    complexity: float
    units: tuple[str, ...]  # base unit codes inside


@dataclass
class StationTerritory:
    code: str
    name: str
    communities: list[CommunityData]
    units: list[UnitData]
    grids: list[GridData]


def _wkt(geometry: shapely.Geometry) -> str:
    return shapely.to_wkt(geometry, rounding_precision=PRECISION)


@dataclass
class TerritoryDemo:
    bureau_code: str
    bureau_name: str
    area_code: str
    stations: list[StationTerritory]

    def station(self, code: str) -> StationTerritory:
        return next(station for station in self.stations if station.code == code)

    def counts(self) -> dict[str, int]:
        levels: dict[str, int] = {}
        for station in self.stations:
            for grid in station.grids:
                levels[grid.level] = levels.get(grid.level, 0) + 1
        return {
            "stations": len(self.stations),
            "communities": sum(len(s.communities) for s in self.stations),
            "base_units": sum(len(s.units) for s in self.stations),
            "grids": sum(len(s.grids) for s in self.stations),
            **{f"{level}s": n for level, n in sorted(levels.items())},
        }

    def fingerprint(self) -> Iterator[Sequence[object]]:
        yield self.bureau_code, self.bureau_name, self.area_code
        for s in self.stations:
            yield "station", s.code, s.name
            for c in s.communities:
                yield c.code, c.name, c.kind, c.community_type, c.households, c.population
                yield c.complexity, _wkt(c.geometry)
            for u in s.units:
                yield u.code, u.name, u.kind, u.community, u.households, u.population, u.complexity
                yield (_wkt(u.geometry),)
            for g in s.grids:
                yield g.code, g.name, g.level, g.parent, g.community, g.households, g.population
                yield g.complexity, ",".join(g.units), _wkt(g.geometry)


# ── the generator and the loader (jingwang.demo.registry) ───────────────────────────────────


def generate(ctx: Context) -> TerritoryDemo:
    """The bureau and the stations asked for, each from its own stream ``"{seed}:{code}"``."""
    codes = {spec.code for spec in STATIONS}
    unknown = set(ctx.stations or ()) - codes
    if unknown:
        raise ValueError(f"no demo station {', '.join(sorted(unknown))}")
    stations = [
        _build_station(spec, ctx.random(spec.code)) for spec in STATIONS if ctx.wants(spec.code)
    ]
    return TerritoryDemo(BUREAU_CODE, BUREAU_NAME, AREA_CODE, stations)


@dataclass
class TerritoryRows:
    """What the territory loader wrote, for the parts loaded after it (codes are unique in the
    demo: community codes carry the township, grid codes the station)."""

    bureau: Bureau
    stations: dict[str, Station]
    community_ids: dict[str, int]
    grid_ids: dict[str, int]


def conflicts(part: TerritoryDemo) -> list[str]:
    """Station codes of the demo already taken in the database."""
    from jingwang.territory.models import Station

    codes = [station.code for station in part.stations]
    return sorted(Station.objects.filter(code__in=codes).values_list("code", flat=True))


def load(part: TerritoryDemo, loading: Loading) -> TerritoryRows:
    from jingwang.territory.models import BaseUnit, Bureau, Community, Grid, GridVersion, Station

    bureau = Bureau.objects.create(code=part.bureau_code, name=part.bureau_name)
    rows = TerritoryRows(bureau, {}, {}, {})
    for data in part.stations:
        station = Station.objects.create(bureau=bureau, code=data.code, name=data.name)
        rows.stations[data.code] = station
        communities = Community.objects.bulk_create(
            _shaped(
                Community(
                    station=station,
                    code=c.code,
                    name=c.name,
                    kind=c.kind,
                    community_type=c.community_type,
                ),
                c,
            )
            for c in data.communities
        )
        rows.community_ids.update((c.code, c.pk) for c in communities)
        BaseUnit.objects.bulk_create(
            (
                _shaped(
                    BaseUnit(
                        station=station,
                        community_id=rows.community_ids[u.community],
                        code=u.code,
                        name=u.name,
                        kind=u.kind,
                    ),
                    u,
                )
                for u in data.units
            ),
            batch_size=500,
        )
        version = GridVersion.objects.create(
            station=station, number=1, is_current=True, note="演示数据 (demo)"
        )
        for level in Grid.LEVEL_ORDER:
            grids = Grid.objects.bulk_create(
                (
                    _shaped(
                        Grid(
                            station=station,
                            version=version,
                            parent_id=rows.grid_ids[g.parent] if g.parent else None,
                            community_id=rows.community_ids[g.community] if g.community else None,
                            level=g.level,
                            code=g.code,
                            name=g.name,
                        ),
                        g,
                    )
                    for g in data.grids
                    if g.level == level
                ),
                batch_size=500,
            )
            rows.grid_ids.update((grid.code, grid.pk) for grid in grids)
    return rows


def _shaped(row: Any, data: CommunityData | UnitData | GridData) -> Any:
    shaped: Shaped = row
    shaped.set_geometry(data.geometry)
    shaped.households = data.households
    shaped.population = data.population
    shaped.complexity = data.complexity
    return row


# ── geometry helpers (kilometre frame) ──────────────────────────────────────────────────────


def _perturbed_circle(
    cx: float, cy: float, radius: float, rng: random.Random, amplitude: float, n: int = 120
) -> shapely.Polygon:
    waves = [(k, rng.uniform(0, 2 * math.pi), amplitude / k**0.7) for k in (2, 3, 5, 7)]
    points = []
    for i in range(n):
        theta = 2 * math.pi * i / n
        r = radius * (1 + sum(a * math.sin(k * theta + phase) for k, phase, a in waves) / 2)
        points.append((cx + r * math.cos(theta), cy + r * math.sin(theta)))
    return shapely.Polygon(points)


def _sample_in(polygon: shapely.Geometry, n: int, rng: random.Random) -> np.ndarray:
    x0, y0, x1, y1 = polygon.bounds
    shapely.prepare(polygon)
    points: list[tuple[float, float]] = []
    while len(points) < n:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(polygon, x, y):
            points.append((x, y))
    return np.array(points)


def _cells(polygon: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """The Voronoi cells of the seeds (in seed order), clipped to the polygon."""
    if len(seeds) == 1:
        return [polygon]
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=polygon, ordered=True)
    return list(shapely.intersection(np.array(diagram.geoms), polygon))


def _lloyd(polygon: shapely.Geometry, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """Move each seed to its cell's centroid a few times: more even, rounder cells."""
    for _ in range(iterations):
        if len(seeds) == 1:
            break
        cells = _cells(polygon, seeds)
        moved = []
        for seed, cell in zip(seeds, cells, strict=True):
            if cell.is_empty:
                moved.append(tuple(seed))
                continue
            centre = cell.centroid
            if not polygon.contains(centre):
                centre = cell.point_on_surface()
            moved.append((centre.x, centre.y))
        seeds = np.array(moved)
    return seeds


def _parts(geometry: shapely.Geometry) -> list[shapely.Geometry]:
    return list(geometry.geoms) if hasattr(geometry, "geoms") else [geometry]


def _to_lonlat(geoms: list[shapely.Geometry]) -> list[shapely.Geometry]:
    def project(xy: np.ndarray) -> np.ndarray:
        lon = np.round(LON0 + xy[:, 0] / KM_PER_DEG_LON, PRECISION)
        lat = np.round(LAT0 + xy[:, 1] / KM_PER_DEG_LAT, PRECISION)
        return np.column_stack([lon, lat])

    return list(shapely.transform(np.array(geoms, dtype=object), project))


def _union(geoms: list[shapely.Geometry]) -> shapely.Geometry:
    merged = geoms[0] if len(geoms) == 1 else shapely.coverage_union_all(geoms)
    return shapely.normalize(merged)


# ── names and numbering ─────────────────────────────────────────────────────────────────────


def _sweep_key(xy: tuple[float, float], band: float) -> tuple[int, float]:
    """North to south in bands, west to east within a band: how codes are numbered."""
    return (-math.floor(xy[1] / band), xy[0])


def _short(name: str) -> str:
    for suffix in ("社区", "村"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


COMPOUNDS = (
    "锦绣苑 金桂园 翠湖花园 滨江苑 梓州花园 学府苑 阳光小区 康乐小区 "
    "幸福家园 丽景华庭 城南新居 盛世华庭 书香苑 桂花园 银河小区 凤凰城 "
    "紫荆苑 水岸名居 和平小区 粮站宿舍 文化苑 万福苑 龙泉花园 嘉禾苑 "
    "锦江花园 香樟苑 南山小区 民生小区 涪城名邸 琴泉苑 东湖花园 百合苑"
).split()
COMMERCIAL_COMPOUNDS = ("商贸城", "步行街", "百货大楼", "农贸市场", "汽车站片", "金街")


# ── one station ─────────────────────────────────────────────────────────────────────────────


@dataclass
class _Unit:
    community: int  # index into the station's communities
    cell: shapely.Geometry  # km frame
    households: int = 0
    population: int = 0
    complexity: float = 0.0
    xy: tuple[float, float] = (0.0, 0.0)
    code: str = ""
    name: str = ""


@dataclass
class _Community:
    spec: CommunitySpec
    kind: str  # urban / village
    cell: shapely.Geometry  # km frame, before the units are cleaned
    units: list[int] = field(default_factory=list)
    code: str = ""


def _build_station(spec: StationSpec, rng: random.Random) -> StationTerritory:
    cx, cy = spec.centre
    outer = _perturbed_circle(cx, cy, spec.outer_radius, rng, 0.22)
    town = _perturbed_circle(
        cx + rng.uniform(-0.1, 0.1), cy + rng.uniform(-0.1, 0.1), spec.town_radius, rng, 0.12
    )
    ring = outer.difference(town)

    # Communities: the town cut into urban communities, the ring into villages.
    town_seeds = _lloyd(town, _sample_in(town, len(spec.urban), rng), 12)
    town_cells = _cells(town, town_seeds)
    n_villages = len(spec.villages)
    mid = (spec.town_radius + spec.outer_radius) / 2
    phase = rng.uniform(0, 2 * math.pi)
    ring_seeds = []
    for i in range(n_villages):
        angle = phase + 2 * math.pi * (i + rng.uniform(-0.2, 0.2)) / n_villages
        r = mid * rng.uniform(0.9, 1.1)
        ring_seeds.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    ring_cells = _cells(ring, _lloyd(ring, np.array(ring_seeds), 4))

    communities: list[_Community] = []
    for cs, cell in zip(spec.urban, _name_town_cells(spec, town_cells, (cx, cy)), strict=True):
        communities.append(_Community(cs, "urban", cell))

    # Villages in clockwise order from north.
    def bearing(cell: shapely.Geometry) -> float:
        c = cell.centroid
        return (math.degrees(math.atan2(c.x - cx, c.y - cy)) + 360) % 360

    for cs, cell in zip(spec.villages, sorted(ring_cells, key=bearing), strict=True):
        communities.append(_Community(cs, "village", cell))
    for i, community in enumerate(communities):
        if community.kind == "urban":
            community.code = f"{AREA_CODE}{spec.township}{i + 1:03d}"
        else:
            community.code = f"{AREA_CODE}{spec.township}{200 + i - len(spec.urban) + 1:03d}"

    # Base units: each community cut into as many cells as its households need.
    units: list[_Unit] = []
    for index, community in enumerate(communities):
        urban = community.kind == "urban"
        low, high, mode = URBAN_UNIT_HOUSEHOLDS if urban else RURAL_UNIT_HOUSEHOLDS
        target = rng.randint(2300, 4700) if urban else rng.randint(480, 1120)
        n = max(1, round(target / ((low + high + mode) / 3)))
        seeds = _lloyd(community.cell, _sample_in(community.cell, n, rng), 3 if urban else 2)
        for cell in _cells(community.cell, seeds):
            units.append(_Unit(index, cell))

    # One exact coverage for the whole station; fragments go to the neighbour of the same
    # community with the longest shared edge.
    cleaned = list(shapely.coverage_clean(np.array([u.cell for u in units]), gap_width=0.001))
    for unit, cell in zip(units, cleaned, strict=True):
        unit.cell = cell
    _mend_fragments(units)
    units = [u for u in units if not u.cell.is_empty]
    adj = shared_edges([u.cell for u in units])

    # Figures of each unit.
    town_centre = town.centroid
    for community_index, community in enumerate(communities):
        urban = community.kind == "urban"
        low, high, mode = URBAN_UNIT_HOUSEHOLDS if urban else RURAL_UNIT_HOUSEHOLDS
        residents = rng.uniform(*(URBAN_RESIDENTS if urban else RURAL_RESIDENTS))
        base = TYPE_COMPLEXITY[community.spec.community_type]
        members = [i for i, u in enumerate(units) if u.community == community_index]
        members.sort(key=lambda i: _sweep_key(_xy(units[i].cell), 0.12 if urban else 0.8))
        community.units = members
        for i in members:
            unit = units[i]
            unit.xy = _xy(unit.cell)
            unit.households = round(rng.triangular(low, high, mode))
            per = min(max(residents + rng.gauss(0, 0.12), residents - 0.25), residents + 0.25)
            unit.population = round(unit.households * per)
            bonus = 0.0
            if urban:
                d = math.dist(unit.xy, (town_centre.x, town_centre.y))
                bonus = 0.22 * math.exp(-((d / 0.9) ** 2))
            unit.complexity = round(min(max(base + bonus + rng.gauss(0, 0.08), 0.02), 0.98), 3)
        # Bring the community's residents per household to exactly its drawn ratio.
        short = round(residents * sum(units[i].households for i in members)) - sum(
            units[i].population for i in members
        )
        by_size = sorted(members, key=lambda i: (-units[i].households, i))
        for n in range(abs(short)):
            units[by_size[n % len(by_size)]].population += 1 if short > 0 else -1
        _name_units(community, units, rng)

    # Longitude/latitude, rounded; then communities as the union of their units.
    lonlat = _to_lonlat([u.cell for u in units])
    community_data = []
    unit_data = []
    for community in communities:
        members = community.units
        geometry = _union([lonlat[i] for i in members])
        households = sum(units[i].households for i in members)
        community_data.append(
            CommunityData(
                code=community.code,
                name=community.spec.name,
                kind=community.kind,
                community_type=community.spec.community_type,
                geometry=geometry,
                households=households,
                population=sum(units[i].population for i in members),
                complexity=_weighted([units[i] for i in members]),
            )
        )
        for i in members:
            u = units[i]
            unit_data.append(
                UnitData(
                    code=u.code,
                    name=u.name,
                    kind="urban" if community.kind == "urban" else "rural",
                    community=community.code,
                    geometry=shapely.normalize(lonlat[i]),
                    households=u.households,
                    population=u.population,
                    complexity=u.complexity,
                )
            )

    grids = _build_grids(spec, communities, units, lonlat, adj, (cx, cy))
    return StationTerritory(
        code=spec.code,
        name=spec.name,
        communities=community_data,
        units=unit_data,
        grids=grids,
    )


def _xy(geometry: shapely.Geometry) -> tuple[float, float]:
    point = geometry.centroid
    if not geometry.contains(point):
        point = geometry.point_on_surface()
    return (point.x, point.y)


def _weighted(units: Iterable[_Unit]) -> float:
    units = list(units)
    households = sum(u.households for u in units)
    return round(sum(u.complexity * u.households for u in units) / households, 4)


def _name_town_cells(
    spec: StationSpec, cells: list[shapely.Geometry], centre: tuple[float, float]
) -> list[shapely.Geometry]:
    """Give each town community the cell its hint asks for (东街 on the east side, ...)."""
    free = list(range(len(cells)))
    chosen: list[int | None] = [None] * len(spec.urban)
    xy = [(c.centroid.x - centre[0], c.centroid.y - centre[1]) for c in cells]
    score = {
        "C": lambda p: -math.hypot(*p),
        "E": lambda p: p[0],
        "W": lambda p: -p[0],
        "N": lambda p: p[1],
        "S": lambda p: -p[1],
    }
    for position, cs in enumerate(spec.urban):
        if cs.hint:
            best = max(free, key=lambda i: (score[cs.hint](xy[i]), -i))
            chosen[position] = best
            free.remove(best)
    free.sort(key=lambda i: (math.atan2(xy[i][0], xy[i][1]) + 2 * math.pi) % (2 * math.pi))
    for position in range(len(spec.urban)):
        if chosen[position] is None:
            chosen[position] = free.pop(0)
    return [cells[i] for i in chosen if i is not None]


def _mend_fragments(units: list[_Unit]) -> None:
    """Give every detached piece of a unit to its neighbour (same community) with most border."""
    for _ in range(5):
        pieces: list[tuple[int, shapely.Geometry]] = []
        for i, unit in enumerate(units):
            parts = [p for p in _parts(unit.cell) if not p.is_empty]
            if len(parts) > 1:
                parts.sort(key=lambda p: p.area, reverse=True)
                unit.cell = parts[0]
                pieces.extend((i, p) for p in parts[1:])
        if not pieces:
            return
        cells = np.array([u.cell for u in units], dtype=object)
        tree = shapely.STRtree(cells)
        for owner, piece in pieces:
            near = tree.query(piece, predicate="intersects")
            best, best_length = None, 0.0
            for j in sorted(near.tolist()):
                if units[j].community != units[owner].community:
                    continue
                length = shapely.length(shapely.intersection(piece, units[j].cell))
                if length > best_length:
                    best, best_length = j, length
            if best is None:
                best = owner  # nowhere better: keep it (it stays a second part)
            merged = shapely.coverage_union_all([units[best].cell, piece])
            units[best].cell = merged
            cells[best] = merged


def _name_units(community: _Community, units: list[_Unit], rng: random.Random) -> None:
    if community.kind == "village":
        for n, i in enumerate(community.units, start=1):
            units[i].code = f"{community.code}-{n:03d}"
            units[i].name = f"{community.spec.name}{cn_number(n)}社"
        return
    names = list(COMPOUNDS)
    rng.shuffle(names)
    if community.spec.community_type == "commercial":
        names = list(COMMERCIAL_COMPOUNDS) + names
    compound, building, size = 0, 0, rng.randint(3, 7)
    for n, i in enumerate(community.units, start=1):
        if building >= size:
            compound, building, size = compound + 1, 0, rng.randint(3, 7)
        building += 1
        base = names[compound % len(names)]
        if compound >= len(names):
            base += cn_number(compound // len(names) + 1) + "期"
        units[i].code = f"{community.code}-{n:03d}"
        units[i].name = f"{base}{building}栋"


def _build_grids(
    spec: StationSpec,
    communities: list[_Community],
    units: list[_Unit],
    lonlat: list[shapely.Geometry],
    adj: dict[int, set[int]],
    centre: tuple[float, float],
) -> list[GridData]:
    grids: list[GridData] = []

    def make(
        code: str,
        name: str,
        level: str,
        parent: str | None,
        community: str | None,
        members: list[int],
    ) -> GridData:
        grid = GridData(
            code=code,
            name=name,
            level=level,
            parent=parent,
            community=community,
            geometry=_union([lonlat[i] for i in members]),
            households=sum(units[i].households for i in members),
            population=sum(units[i].population for i in members),
            complexity=_weighted(units[i] for i in members),
            units=tuple(units[i].code for i in members),
        )
        grids.append(grid)
        return grid

    def community_xy(c: _Community) -> tuple[float, float]:
        members = c.units
        total = sum(units[i].households for i in members)
        return (
            sum(units[i].xy[0] * units[i].households for i in members) / total - centre[0],
            sum(units[i].xy[1] * units[i].households for i in members) / total - centre[1],
        )

    # Districts: groups of communities.
    groups: list[list[_Community]] = []
    for district in spec.districts:
        pool = [c for c in communities if c.kind == district.kind]
        if district.side == "all":
            groups.append(pool)
            continue
        if district.kind == "urban":
            pool.sort(key=lambda c: community_xy(c)[0], reverse=district.side == "east")
            groups.append(sorted(pool[: len(pool) // 2], key=lambda c: c.code))
        else:
            # Villages come clockwise from north; the northern arc starts due west.
            def from_west(c: _Community) -> float:
                x, y = community_xy(c)
                return (math.degrees(math.atan2(x, y)) + 90) % 360

            pool.sort(key=from_west)
            cut = (len(pool) + 1) // 2
            groups.append(pool[:cut] if district.side == "north" else pool[cut:])

    for d, (district, members) in enumerate(zip(spec.districts, groups, strict=True), start=1):
        d_code = f"{spec.code}-D{d:02d}"
        make(
            d_code,
            f"第{cn_number(d)}警务区（{district.label}）",
            "district",
            None,
            None,
            [i for c in members for i in c.units],
        )
        s_number = 0
        for community in members:
            urban = community.kind == "urban"
            weight = {i: units[i].households for i in community.units}
            xy = {i: units[i].xy for i in community.units}
            households = sum(weight.values())
            if urban and households >= TWO_SECTORS_FROM:
                halves = contiguous_parts(community.units, weight, adj, xy, 2)
                halves = [sorted(h, key=community.units.index) for h in halves]
                names = _half_names(community, halves, xy)
            else:
                halves = [community.units]
                names = [_short(community.spec.name) + "片"]
            target, _low, _high = URBAN_BLOCK if urban else RURAL_BLOCK
            b_name = 0
            for half, s_name in zip(halves, names, strict=True):
                s_number += 1
                s_code = f"{d_code}-S{s_number:02d}"
                make(s_code, s_name, "sector", d_code, community.code, half)
                h_total = sum(weight[i] for i in half)
                k = max(1, round(h_total / target))
                blocks = contiguous_parts(half, weight, adj, xy, k)
                band = 0.12 if urban else 0.8
                blocks.sort(key=lambda b: _sweep_key(_mean_xy(b, xy), band))
                for b_number, block in enumerate(blocks, start=1):
                    b_name += 1
                    b_code = f"{s_code}-B{b_number:02d}"
                    block_label = f"{_short(community.spec.name)}{cn_number(b_name)}组"
                    make(
                        b_code,
                        block_label,
                        "block",
                        s_code,
                        community.code,
                        sorted(block, key=community.units.index),
                    )
                    for c_number, cluster in enumerate(
                        _clusters(block, units, adj, xy, band), start=1
                    ):
                        make(
                            f"{b_code}-C{c_number:02d}",
                            f"{block_label}第{c_number}群",
                            "cluster",
                            b_code,
                            community.code,
                            cluster,
                        )
    return grids


def _mean_xy(members: list[int], xy: dict[int, tuple[float, float]]) -> tuple[float, float]:
    return (
        sum(xy[i][0] for i in members) / len(members),
        sum(xy[i][1] for i in members) / len(members),
    )


def _half_names(
    community: _Community, halves: list[list[int]], xy: dict[int, tuple[float, float]]
) -> list[str]:
    """东街东片 / 东街西片, or 北片 / 南片, by where the two halves lie."""
    (ax, ay), (bx, by) = (_mean_xy(h, xy) for h in halves)
    if abs(ax - bx) >= abs(ay - by):
        sides = ("东", "西") if ax > bx else ("西", "东")
    else:
        sides = ("北", "南") if ay > by else ("南", "北")
    return [f"{_short(community.spec.name)}{side}片" for side in sides]


def _clusters(
    members: list[int],
    units: list[_Unit],
    adj: dict[int, set[int]],
    xy: dict[int, tuple[float, float]],
    band: float,
) -> list[list[int]]:
    """One unit, or two adjacent ones whose households together stay within CLUSTER_MAX."""
    inside = set(members)
    used: set[int] = set()
    clusters = []
    for i in sorted(members, key=lambda i: _sweep_key(xy[i], band)):
        if i in used:
            continue
        used.add(i)
        partners = [
            j
            for j in adj[i]
            if j in inside
            and j not in used
            and units[i].households + units[j].households <= CLUSTER_MAX
        ]
        if partners:
            j = min(partners, key=lambda j: (units[j].households, _sweep_key(xy[j], band)))
            used.add(j)
            clusters.append([i, j])
        else:
            clusters.append([i])
    return clusters
