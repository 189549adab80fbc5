from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingwang.core.personal import ADDRESS, PHONE, PersonalFormField
from jingwang.incidents import categories
from jingwang.incidents.actions import GCJ02, WGS84
from jingwang.incidents.models import Category, Incident

MOMENT = "%Y-%m-%dT%H:%M"
CRS_CHOICES = (
    (WGS84, _("WGS-84 (GPS, this phone's location)")),
    (GCJ02, _("GCJ-02 (Amap, Tencent and other Chinese map apps)")),
)


def moment_field(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DateTimeField:
    """A date and time picked on a phone (``datetime-local``), in the server's time zone."""
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MOMENT),
        input_formats=[MOMENT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


class OfficerField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        badge = f" {obj.badge_number}" if obj.badge_number else ""
        return f"{obj.name}{badge} ({obj.get_kind_display()})"


class IncidentForm(forms.Form):
    """Recording or editing an incident (the page; the API has its schema)."""

    number = forms.CharField(
        label=_("Incident number"),
        max_length=32,
        help_text=_("As the 110 command system numbers it; unique in the station."),
    )
    received_at = moment_field(_("Received"), required=True)
    source = forms.ChoiceField(label=_("Source"), choices=Incident.Source.choices)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, choices=())
    summary = forms.CharField(
        label=_("What happened"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    address = PersonalFormField(ADDRESS, label=_("Address"), required=False)
    lon = forms.FloatField(
        label=_("Longitude"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lat = forms.FloatField(
        label=_("Latitude"),
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=CRS_CHOICES, initial=WGS84)
    caller_name = forms.CharField(label=_("Caller's name"), max_length=50, required=False)
    caller_phone = PersonalFormField(PHONE, label=_("Caller's phone"), required=False)
    officer = OfficerField(label=_("Handling officer"), queryset=None, required=False)
    dispatched_at = moment_field(_("Dispatched"))
    arrived_at = moment_field(_("Arrived"))
    closed_at = moment_field(_("Closed"))
    result = forms.CharField(
        label=_("Result"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # The version the editor saw: required when editing, so a stale edit cannot skip the check.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(
        self,
        *args: Any,
        bureau_id: int,
        officers: Any,
        editing: bool = False,
        current: Category | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        grouped = categories.choices(bureau_id)
        if current is not None and not current.is_active:
            grouped.append((current.id, current.label))  # kept by an incident that has it
        field = self.fields["category"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—"), *grouped]
        self.known = {c.id: c for c in categories.categories_of(bureau_id, active=None)}
        officer = self.fields["officer"]
        assert isinstance(officer, forms.ModelChoiceField)
        officer.queryset = officers
        if editing:
            for name in ("address", "caller_phone"):
                self.fields[name].help_text = _(
                    "Shown masked; leave empty to keep the current one."
                )

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        if not number:
            raise forms.ValidationError(_("This field is required."))
        return number

    def clean_category(self) -> Category:
        value = self.cleaned_data["category"]
        found = self.known.get(value)
        if found is None:
            raise forms.ValidationError(_("Choose a category."))
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lon") is None) != (data.get("lat") is None):
            missing = "lat" if data.get("lat") is None else "lon"
            if missing not in self.errors:
                self.add_error(missing, _("Give both longitude and latitude, or neither."))
        if not self.editing:
            data.pop("version", None)
        elif data.get("version") is None:
            raise forms.ValidationError(
                _("This form is out of date: reload the page and make the change again.")
            )
        return data


class StepForm(forms.Form):
    """Dispatch, arrival or close: when (empty: now), with the version the officer saw."""

    at = moment_field(_("When"), help_text=_("Leave empty for now."))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class DispatchForm(StepForm):
    officer = OfficerField(label=_("Handling officer"), queryset=None, required=False)

    def __init__(self, *args: Any, officers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["officer"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = officers


class CloseForm(StepForm):
    result = forms.CharField(
        label=_("Result"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class GridField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.name} ({obj.get_level_display()})"


class PlaceForm(forms.Form):
    grid = GridField(label=_("Grid"), queryset=None)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, grids: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["grid"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = grids


class CategoryForm(forms.Form):
    """Adding a category (code and parent) or changing one (names, officer-only, in use)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("Lower-case letters, digits and _; never changes once made."),
    )
    parent: forms.ModelChoiceField[Category] = forms.ModelChoiceField(
        label=_("Under"), queryset=None, required=False, empty_label=_("— top level —")
    )
    name = forms.CharField(label=_("Name"), max_length=50)
    name_en = forms.CharField(label=_("English name"), max_length=80, required=False)
    officer_only = forms.BooleanField(
        label=_("Callback by an officer only, never by SMS"), required=False
    )
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, tops: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            del self.fields["code"]
            del self.fields["parent"]
        else:
            del self.fields["is_active"]
            field = self.fields["parent"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = tops

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.editing and data.get("version") is None:
            raise forms.ValidationError(
                _("This form is out of date: reload the page and make the change again.")
            )
        return data


class IncidentSettingsForm(forms.Form):
    """The bureau's settings of the incident loop (``IncidentSettings``; core.config)."""

    callback_due_days = forms.IntegerField(
        label=_("callback due after (working days)"), min_value=1, max_value=10
    )
    callback_attempts = forms.IntegerField(
        label=_("failed attempts before a callback closes as unreachable"),
        min_value=1,
        max_value=10,
    )
    callback_attempt_days = forms.IntegerField(
        label=_("working days the failed attempts must span"), min_value=1, max_value=10
    )
    rectification_days = forms.IntegerField(
        label=_("rectification deadline (working days)"), min_value=1, max_value=60
    )
    survey_hours = forms.IntegerField(
        label=_("SMS survey link valid (hours)"), min_value=1, max_value=720
    )
