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

    RANGE_FIELDS = {
        "urban": ("urban_households_min", "urban_households_target", "urban_households_max"),
        "rural": ("rural_households_min", "rural_households_target", "rural_households_max"),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
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
        values = {name: value for name, value in self.cleaned_data.items() if name != "seed"}
        return division.Policy.from_dict({**DEFAULTS.to_dict(), **values})

    @staticmethod
    def initial_for(station: Station) -> dict[str, Any]:
        """Where the form starts: seed 0 and the division defaults of the station's bureau."""
        return {"seed": 0, **settings_for(station.bureau_id, DivisionSettings).values()}


class DivisionSettingsForm(DivisionForm):
    """A bureau's division defaults (the configuration section "division"): the division form
    without its seed, with the same checks."""

    seed = None  # type: ignore[assignment]


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
