"""Territory: the bureau, its stations, communities, base units and the four-level grids.

Shapes are stored as WKT in WGS-84 longitude/latitude (no GIS extension needed on either
database); ``bbox`` columns let a page ask for what lies in view without parsing shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import shapely
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.core.config import BureauSettings
from jingwang.lib import division


class Bureau(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(default=1)  # the stale-edit check of a rename

    class Meta:
        verbose_name = _("county bureau")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="stations")
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(default=1)  # the stale-edit check of a rename

    class Meta:
        verbose_name = _("police station")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def current_version(self) -> GridVersion | None:
        return self.grid_versions.filter(is_current=True).first()


class Shaped(models.Model):
    """A row with a shape, its bounding box and its figures."""

    geometry_wkt = models.TextField(_("shape (WKT, WGS-84)"))
    min_lon = models.FloatField(default=0)
    min_lat = models.FloatField(default=0)
    max_lon = models.FloatField(default=0)
    max_lat = models.FloatField(default=0)
    area_km2 = models.FloatField(_("area (km²)"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    households = models.PositiveIntegerField(_("households"), default=0)
    complexity = models.FloatField(_("complexity"), default=0)
    # The shape as maps draw it (GeoJSON, simplified to a metre), computed when it is written.
    map_geojson = models.TextField(blank=True, editable=False)

    class Meta:
        abstract = True

    @cached_property
    def geometry(self) -> shapely.Geometry:
        return shapely.from_wkt(self.geometry_wkt)

    def set_geometry(self, geometry: shapely.Geometry) -> None:
        from jingwang.lib.geo import area_km2, map_shape

        self.geometry_wkt = shapely.to_wkt(geometry, rounding_precision=7)
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = geometry.bounds
        self.area_km2 = round(area_km2(geometry), 6)
        self.map_geojson = map_shape(geometry)
        self.__dict__.pop("geometry", None)

    @property
    def map_shape(self) -> dict[str, Any]:
        """The shape for a map (see ``map_geojson``)."""
        if not self.map_geojson:  # a row written before shapes were kept simplified
            from jingwang.lib.geo import map_shape

            self.map_geojson = map_shape(self.geometry)
        loaded: dict[str, Any] = json.loads(self.map_geojson)
        return loaded

    @property
    def density(self) -> float:
        """Residents per km² (人口密度)."""
        return self.population / self.area_km2 if self.area_km2 else 0.0


class Community(Shaped):
    class Kind(models.TextChoices):
        VILLAGE = "village", _("Village")
        URBAN = "urban", _("Urban community")

    class Type(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential")
        RURAL = "rural", _("Rural")
        COMMERCIAL = "commercial", _("Commercial")
        CAMPUS = "campus", _("Campus")
        INDUSTRIAL = "industrial", _("Industrial")
        MIXED = "mixed", _("Mixed")

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="communities")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    community_type = models.CharField(
        _("community type"), max_length=16, choices=Type.choices, default=Type.RESIDENTIAL
    )

    class Meta:
        verbose_name = _("village or community")
        ordering = ["station", "code"]
        constraints = [
            models.UniqueConstraint(fields=["station", "code"], name="community_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class BaseUnit(Shaped):
    """A building, compound or village group: the smallest piece grids are built from."""

    class Kind(models.TextChoices):
        URBAN = "urban", _("Urban")
        RURAL = "rural", _("Rural")

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="base_units")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="base_units")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # People living there without being registered residents (流动人口); None: not known.
    floating_population = models.PositiveIntegerField(
        _("floating population"), null=True, blank=True
    )
    # What the last complexity computed from records used (territory.complexity): the counts,
    # residents, floating population, period, weights and when; None: never computed.
    complexity_inputs = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("base unit")
        ordering = ["station", "code"]
        constraints = [
            models.UniqueConstraint(fields=["station", "code"], name="base_unit_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class GridVersion(models.Model):
    """One applied grid hierarchy of a station. Old versions stay readable."""

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="grid_versions")
    number = models.PositiveIntegerField(_("version"))
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("grid version")
        ordering = ["station", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["station", "number"], name="grid_version_unique"),
            models.UniqueConstraint(
                fields=["station"],
                condition=models.Q(is_current=True),
                name="one_current_grid_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station} v{self.number}"


class Grid(Shaped):
    class Level(models.TextChoices):
        DISTRICT = "district", _("District")
        SECTOR = "sector", _("Sector")
        BLOCK = "block", _("Block")
        CLUSTER = "cluster", _("Cluster")

    LEVEL_ORDER = ["district", "sector", "block", "cluster"]

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="grids")
    version = models.ForeignKey(GridVersion, on_delete=models.PROTECT, related_name="grids")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    community = models.ForeignKey(
        Community, null=True, blank=True, on_delete=models.PROTECT, related_name="grids"
    )
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    code = models.CharField(_("code"), max_length=48)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("grid")
        ordering = ["station", "code"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="grid_code_unique")]
        indexes = [models.Index(fields=["station", "level"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def depth(self) -> int:
        return self.LEVEL_ORDER.index(self.level)

    @classmethod
    def with_descendants(cls, grid_ids: Iterable[int]) -> set[int]:
        """The grids given and every grid below them (one query per level)."""
        seen: set[int] = set()
        frontier = set(grid_ids)
        while frontier:
            seen |= frontier
            frontier = (
                set(
                    cls.objects.filter(parent_id__in=frontier)
                    .order_by()
                    .values_list("id", flat=True)
                )
                - seen
            )
        return seen


class GridLineage(models.Model):
    """How a grid of a new version relates to the grids it replaced: each pair that overlaps,
    with the share of each one's area that they have in common (written when a plan is
    applied; followers such as assignments use it to re-place their records)."""

    new_grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="lineage_from")
    old_grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="lineage_to")
    share_of_new = models.FloatField(_("share of the new grid"))
    share_of_old = models.FloatField(_("share of the old grid"))

    class Meta:
        verbose_name = _("grid lineage")
        constraints = [
            models.UniqueConstraint(fields=["new_grid", "old_grid"], name="grid_lineage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.old_grid_id} → {self.new_grid_id}"

    @property
    def overlap(self) -> float:
        """Intersection over union of the two grids (1 = the same ground)."""
        if self.share_of_new <= 0 or self.share_of_old <= 0:
            return 0.0
        return 1 / (1 / self.share_of_new + 1 / self.share_of_old - 1)


class DivisionProposal(models.Model):
    """A proposed four-level division of a station's base units, reviewed before it is applied.

    The plan is kept as the engine gives it (JSON): per level, base unit code → region id, its
    measures and the constraints it could not meet. Hand edits bump ``revision``.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPLIED = "applied", _("Applied")
        DISCARDED = "discarded", _("Discarded")

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="proposals")
    number = models.PositiveIntegerField(_("number"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED
    )
    seed = models.IntegerField(_("seed"), default=0)
    policy = models.JSONField(_("policy"))
    plan = models.JSONField(_("plan"))
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True)
    applied_version = models.OneToOneField(
        GridVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="proposal"
    )

    class Meta:
        verbose_name = _("division proposal")
        ordering = ["station", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["station", "number"], name="proposal_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.station} #{self.number}"


DIVISION_DEFAULTS = division.Policy()


class DivisionSettings(BureauSettings):
    """A bureau's defaults for grid division (a configuration section, ``jingwang.core.config``):
    the division form of its stations starts from them and ``jingwang divide`` uses them. The
    checks are the engine's own (``Policy.validate``, through ``forms.DivisionSettingsForm``)."""

    urban_households_min = models.PositiveIntegerField(
        _("Urban block: fewest households"), default=DIVISION_DEFAULTS.urban_households_min
    )
    urban_households_target = models.PositiveIntegerField(
        _("Urban block: target households"), default=DIVISION_DEFAULTS.urban_households_target
    )
    urban_households_max = models.PositiveIntegerField(
        _("Urban block: most households"), default=DIVISION_DEFAULTS.urban_households_max
    )
    urban_population_max = models.PositiveIntegerField(
        _("Urban block: most residents"),
        null=True,
        blank=True,
        default=DIVISION_DEFAULTS.urban_population_max,
    )
    rural_households_min = models.PositiveIntegerField(
        _("Rural block: fewest households"), default=DIVISION_DEFAULTS.rural_households_min
    )
    rural_households_target = models.PositiveIntegerField(
        _("Rural block: target households"), default=DIVISION_DEFAULTS.rural_households_target
    )
    rural_households_max = models.PositiveIntegerField(
        _("Rural block: most households"), default=DIVISION_DEFAULTS.rural_households_max
    )
    complexity_alpha = models.FloatField(
        _("Weight of complexity in workload"), default=DIVISION_DEFAULTS.complexity_alpha
    )
    sector_blocks = models.FloatField(
        _("Blocks per sector"), default=DIVISION_DEFAULTS.sector_blocks
    )
    district_sectors = models.FloatField(
        _("Sectors per district"), default=DIVISION_DEFAULTS.district_sectors
    )
    snap_tolerance_m = models.FloatField(
        _("Snapping tolerance (m)"), default=DIVISION_DEFAULTS.snap_tolerance_m
    )
    search_seconds = models.FloatField(
        _("Search time budget (s)"), default=DIVISION_DEFAULTS.search_seconds
    )
    keep_weight = models.FloatField(
        _("Re-division: cost of moving a base unit"), default=DIVISION_DEFAULTS.keep_weight
    )
    max_moved_units = models.PositiveIntegerField(
        _("Re-division: most base units moved"),
        null=True,
        blank=True,
        default=DIVISION_DEFAULTS.max_moved_units,
    )

    class Meta:
        verbose_name = _("grid division defaults")

    def policy(self) -> division.Policy:
        """The division policy these defaults give (the engine's defaults for the rest)."""
        return division.Policy.from_dict(self.values())
