"""Territory: the bureau, its stations, communities, base units and the four-level grids.

Shapes are stored as WKT in WGS-84 longitude/latitude (no GIS extension needed on either
database); ``bbox`` columns let a page ask for what lies in view without parsing shapes.
"""

from __future__ import annotations

from functools import cached_property

import shapely
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Bureau(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("county bureau")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="stations")
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)

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

    class Meta:
        abstract = True

    @cached_property
    def geometry(self) -> shapely.Geometry:
        return shapely.from_wkt(self.geometry_wkt)

    def set_geometry(self, geometry: shapely.Geometry) -> None:
        from jingwang.lib.geo import area_km2

        self.geometry_wkt = shapely.to_wkt(geometry, rounding_precision=7)
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = geometry.bounds
        self.area_km2 = round(area_km2(geometry), 6)
        self.__dict__.pop("geometry", None)

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
