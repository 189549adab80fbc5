from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from jingwang.core.config import settings_for
from jingwang.lib import division
from jingwang.territory.models import DivisionSettings, Station

DEFAULTS = division.Policy()


class DivisionForm(forms.Form):
    """The policy fields a chief sets most often; the rest keep the engine's defaults."""

    seed = forms.IntegerField(
        label=_("Seed"),
        initial=0,
        min_value=0,
        max_value=2**31 - 1,
        help_text=_("The same seed gives the same proposal."),
    )
    MODES = (
        ("fresh", _("Fresh division")),
        ("redivide", _("Re-division keeping the current grids")),
    )
    mode = forms.ChoiceField(
        label=_("Kind of division"),
        choices=MODES,
        initial="fresh",
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "A re-division moves as few base units as it can to bring every block back into "
            "range and in one piece."
        ),
    )
    urban_households_min = forms.IntegerField(
        label=_("Urban block: fewest households"),
        min_value=1,
        initial=DEFAULTS.urban_households_min,
    )
    urban_households_target = forms.IntegerField(
        label=_("Urban block: target households"),
        min_value=1,
        initial=DEFAULTS.urban_households_target,
    )
    urban_households_max = forms.IntegerField(
        label=_("Urban block: most households"), min_value=1, initial=DEFAULTS.urban_households_max
    )
    urban_population_max = forms.IntegerField(
        label=_("Urban block: most residents"),
        min_value=1,
        initial=DEFAULTS.urban_population_max,
        required=False,
    )
    rural_households_min = forms.IntegerField(
        label=_("Rural block: fewest households"),
        min_value=1,
        initial=DEFAULTS.rural_households_min,
    )
    rural_households_target = forms.IntegerField(
        label=_("Rural block: target households"),
        min_value=1,
        initial=DEFAULTS.rural_households_target,
    )
    rural_households_max = forms.IntegerField(
        label=_("Rural block: most households"), min_value=1, initial=DEFAULTS.rural_households_max
    )
    complexity_alpha = forms.FloatField(
        label=_("Weight of complexity in workload"),
        min_value=0,
        max_value=10,
        initial=DEFAULTS.complexity_alpha,
        help_text=_("Workload = households × (1 + weight × complexity)."),
    )
    sector_blocks = forms.FloatField(
        label=_("Blocks per sector"), min_value=1, max_value=100, initial=DEFAULTS.sector_blocks
    )
    district_sectors = forms.FloatField(
        label=_("Sectors per district"),
        min_value=1,
        max_value=100,
        initial=DEFAULTS.district_sectors,
    )
    # Left blank, these four take the engine's defaults (a form sent without them still works).
    snap_tolerance_m = forms.FloatField(
        label=_("Snapping tolerance (m)"),
        min_value=0,
        max_value=50,
        initial=DEFAULTS.snap_tolerance_m,
        required=False,
        help_text=_(
            "Base units whose borders run within this distance of each other count as "
            "neighbours (0: only borders drawn exactly alike). Use the tolerance a proposal "
            "suggests when the borders of the imported units do not match."
        ),
    )
    search_seconds = forms.FloatField(
        label=_("Search time budget (s)"),
        min_value=0,
        max_value=3600,
        initial=DEFAULTS.search_seconds,
        required=False,
        help_text=_(
            "More time tries more starting points; the same seed still gives the same proposal."
        ),
    )
    keep_weight = forms.FloatField(
        label=_("Re-division: cost of moving a base unit"),
        min_value=0,
        max_value=1000,
        initial=DEFAULTS.keep_weight,
        required=False,
        help_text=_(
            "0: units move as freely as in a fresh division; higher keeps more of the current grids."
        ),
    )
    max_moved_units = forms.IntegerField(
        label=_("Re-division: most base units moved"),
        min_value=0,
        initial=DEFAULTS.max_moved_units,
        required=False,
        help_text=_("Blank: no limit."),
    )

    # A blank optional field means the engine's default (max_moved_units: blank is no limit).
    BLANK_IS_DEFAULT = ("snap_tolerance_m", "search_seconds", "keep_weight")
    # Not policy fields.
    RUN_FIELDS = ("seed", "mode")

    def __init__(self, *args: Any, can_redivide: bool = False, **kwargs: Any) -> None:
        """``can_redivide``: the station has current grids with all four levels."""
        super().__init__(*args, **kwargs)
        self.can_redivide = can_redivide
        field = self.fields.get("mode")
        if isinstance(field, forms.ChoiceField) and not can_redivide:
            field.widget.choices = list(self.MODES[:1])
            field.help_text = _(
                "Re-division needs current grids with all four levels (district, sector, "
                "block, cluster); this station has none, so only a fresh division is offered."
            )

    def clean_mode(self) -> str:
        mode = self.cleaned_data.get("mode") or "fresh"
        if mode == "redivide" and not self.can_redivide:
            raise forms.ValidationError(
                _(
                    "This station has no current grids with all four levels (district, sector, "
                    "block, cluster) to keep: run a fresh division."
                )
            )
        return str(mode)

    RANGE_FIELDS = {
        "urban": ("urban_households_min", "urban_households_target", "urban_households_max"),
        "rural": ("rural_households_min", "rural_households_target", "rural_households_max"),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.BLANK_IS_DEFAULT:
            if name in self.fields and data.get(name) is None and name not in self.errors:
                data[name] = getattr(DEFAULTS, name)
        for low, target, high in self.RANGE_FIELDS.values():
            if all(data.get(name) is not None for name in (low, target, high)):
                if data[high] < data[low]:
                    self.add_error(high, _("The most must not be fewer than the fewest."))
                elif not data[low] <= data[target] <= data[high]:
                    self.add_error(
                        target, _("The target must lie between the fewest and the most.")
                    )
        if not self.errors:  # the engine's own checks last, so the form cannot accept more
            try:
                self.policy()
            except ValueError as error:
                field, _sep, reason = str(error).partition(": ")
                self.add_error(
                    field if field in self.fields else None,
                    _("The division engine refuses this value: %(reason)s")
                    % {"reason": reason or error},
                )
        return data

    def policy(self) -> division.Policy:
        values = {
            name: value for name, value in self.cleaned_data.items() if name not in self.RUN_FIELDS
        }
        return division.Policy.from_dict({**DEFAULTS.to_dict(), **values})

    @staticmethod
    def initial_for(station: Station) -> dict[str, Any]:
        """Where the form starts: seed 0 and the division defaults of the station's bureau."""
        return {"seed": 0, **settings_for(station.bureau_id, DivisionSettings).values()}


class DivisionSettingsForm(DivisionForm):
    """A bureau's division defaults (the configuration section "division"): the division form
    without its seed and mode, with the same checks."""

    seed = None  # type: ignore[assignment]
    mode = None  # type: ignore[assignment]


class MoveForm(forms.Form):
    unit = forms.CharField(label=_("Base unit"), max_length=32)
    block = forms.ChoiceField(label=_("Into block"))
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, units: set[str], blocks: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = units
        field = self.fields["block"]  # a deep copy of the class attribute above
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(block, block) for block in blocks]

    def clean_unit(self) -> str:
        code = self.cleaned_data["unit"].strip()
        if code not in self.units:
            raise forms.ValidationError(
                _("There is no base unit with code “%(code)s” in this station."),
                params={"code": code},
            )
        return code


# ---------------------------------------------------------------------------------------------
# Bureaus and stations (the system admin's pages). The codes are checked by the actions.


class BureauForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_(
            "Letters, digits and dashes, kept in capitals; it cannot be changed once created."
        ),
    )
    name = forms.CharField(label=pgettext_lazy("organisation", "Name"), max_length=100)


class StationForm(BureauForm):
    """A new station of a bureau: its code begins the codes of its grids."""


class RenameForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("organisation", "Name"), max_length=100)
    # The version the editor saw: required, so a stale rename cannot skip the check.
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": _("This form is out of date: reload the page and make the change again.")
        },
    )
