"""The bureau's settings of the dispute loop (``DisputeSettings``; core.config)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class DisputeSettingsForm(forms.Form):
    """Triage thresholds and mediation deadlines, as the system admin edits them."""

    tier2_people = forms.IntegerField(
        label=_("people involved for tier 2"), min_value=2, max_value=10000
    )
    tier3_people = forms.IntegerField(
        label=_("people involved for tier 3"), min_value=2, max_value=10000
    )
    tier2_amount = forms.IntegerField(
        label=_("amount at stake for tier 2 (yuan)"), min_value=0, max_value=1_000_000_000
    )
    tier3_amount = forms.IntegerField(
        label=_("amount at stake for tier 3 (yuan)"), min_value=0, max_value=1_000_000_000
    )
    repeat_complaints = forms.IntegerField(
        label=_("complaints by one party that make a repeat complainant"),
        min_value=2,
        max_value=50,
    )
    repeat_months = forms.IntegerField(
        label=_("months over which repeat complaints count"), min_value=1, max_value=24
    )
    tier3_departments = forms.IntegerField(
        label=_("departments involved for tier 3"), min_value=2, max_value=20
    )
    police_days = forms.IntegerField(
        label=_("police mediation: done within (working days)"), min_value=1, max_value=30
    )
    police_second_days = forms.IntegerField(
        label=_("police mediation: a further session within (working days)"),
        min_value=1,
        max_value=30,
    )
    people_months = forms.IntegerField(
        label=_("people's mediation: closed within (months)"), min_value=1, max_value=12
    )
    followup_days = forms.IntegerField(
        label=_("follow-up visit due after the performance date (working days)"),
        min_value=1,
        max_value=60,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pairs = (("tier2_people", "tier3_people"), ("tier2_amount", "tier3_amount"))
        for lower, upper in pairs:
            if (
                data.get(lower) is not None
                and data.get(upper) is not None
                and data[upper] <= data[lower]
            ):
                self.add_error(upper, _("The tier 3 threshold must be above the tier 2 threshold."))
        return data
