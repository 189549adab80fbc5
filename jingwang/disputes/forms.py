"""The forms of the dispute pages: registering and editing a dispute (with its party rows), and
the small forms of each mediation step on a dispute's page."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.core.personal import ADDRESS, ID_NUMBER, PHONE, PersonalFormField
from jingwang.disputes.models import (
    Agreement,
    Category,
    Dispute,
    FollowUp,
    Member,
    Party,
    Referral,
    Session,
    Tier,
)

MOMENT = "%Y-%m-%dT%H:%M"
WGS84, GCJ02 = "wgs84", "gcj02"
COORDS_CHOICES = (
    (WGS84, _("WGS-84 (GPS, this phone's location)")),
    (GCJ02, _("GCJ-02 (Amap, Tencent and other Chinese map apps)")),
)
RISK_CHOICES = [
    (name, getattr(Dispute._meta.get_field(name), "verbose_name", name)) for name in Dispute.RISKS
]
PARTY_FIELDS = (
    "role",
    "kind",
    "name",
    "id_number",
    "phone",
    "age",
    "guardian_name",
    "guardian_phone",
)
OUT_OF_DATE = _("This form is out of date: reload the page and make the change again.")


def moment_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DateTimeField:
    """A date and time picked on a phone (``datetime-local``), in the server's time zone."""
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MOMENT),
        input_formats=[MOMENT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


def day_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def text_area(label: Any, max_length: int, *, required: bool = True, rows: int = 3) -> Any:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class CategoryField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.label)


class MemberField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return member_label(obj)


class MembersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return member_label(obj)


def member_label(member: Member) -> str:
    department = f" · {member.department}" if member.department else ""
    return f"{member.person.name} ({member.get_role_display()}{department})"


# ---------------------------------------------------------------------------------------------
# Registering and editing


class DisputeForm(forms.Form):
    """A dispute's facts (the party rows are ``PartyRows``)."""

    category = CategoryField(label=_("Category"), queryset=Category.objects.none())
    source = forms.ChoiceField(label=_("Source"), choices=Dispute.Source.choices)
    facts = text_area(_("Facts"), 4000, rows=4)
    amount = forms.DecimalField(
        label=_("Amount at stake (yuan)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    people_involved = forms.IntegerField(
        label=_("People involved"),
        required=False,
        min_value=1,
        max_value=100000,
        help_text=_("Leave empty to count the persons among the parties."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    departments = forms.IntegerField(
        label=_("Departments involved"),
        min_value=1,
        max_value=50,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    risks = forms.MultipleChoiceField(
        label=_("Risks"),
        required=False,
        choices=RISK_CHOICES,
        widget=forms.CheckboxSelectMultiple,
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
    coords = forms.ChoiceField(label=_("Coordinate system"), choices=COORDS_CHOICES, initial=WGS84)
    # The version the editor saw: required when editing, so a stale edit cannot skip the check.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, categories: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = categories
        if editing:
            del self.fields["source"]
            self.fields["address"].help_text = _(
                "Shown masked; leave empty to keep the current one."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lon") is None) != (data.get("lat") is None):
            missing = "lat" if data.get("lat") is None else "lon"
            if missing not in self.errors:
                self.add_error(missing, _("Give both longitude and latitude, or neither."))
        if not self.editing:
            data.pop("version", None)
        elif data.get("version") is None:
            raise forms.ValidationError(OUT_OF_DATE)
        return data


class PartyForm(forms.Form):
    """One party row: ``parties-<i>-<field>``."""

    role = forms.ChoiceField(label=_("Role"), choices=Party.Role.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=Party.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=80, required=False)
    id_number = PersonalFormField(ID_NUMBER, label=_("ID number"), required=False)
    phone = PersonalFormField(PHONE, label=_("Phone"), required=False)
    age = forms.IntegerField(
        label=_("Age"),
        required=False,
        min_value=0,
        max_value=130,
        help_text=_("When there is no ID number: under 16 needs a guardian."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    guardian_name = forms.CharField(label=_("Guardian"), max_length=50, required=False)
    guardian_phone = PersonalFormField(PHONE, label=_("Guardian's phone"), required=False)
    # The party row being edited (its ID and phone are kept when left empty).
    party = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    # The incident's caller (their phone, not shown in full, is kept when left empty).
    caller = forms.BooleanField(widget=forms.HiddenInput, required=False)

    TYPED = ("name", "id_number", "phone", "age", "guardian_name", "guardian_phone")

    def is_blank(self) -> bool:
        """Nothing typed into the row (its role and kind alone say nothing)."""
        if self.is_bound:
            return not any(str(self.data.get(self.add_prefix(n), "")).strip() for n in self.TYPED)
        return not any(self.initial.get(n) for n in self.TYPED)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not self.is_blank()
            and not (data.get("name") or "").strip()
            and "name" not in self.errors
        ):
            self.add_error("name", _("Give the party's name."))
        return data


class PartyRows:
    """The repeatable party rows of the form, ``parties-<n>-...`` counted by ``parties-count``.

    At least ``MIN`` are shown. ``SPARE`` more are on the page but hidden: "Add a party" shows
    the next one, so that the browser's draft (drafts.js, which keeps the fields the page had
    when it loaded) keeps them too; past those the page's script copies a blank row."""

    PREFIX = "parties"
    MIN = 2
    SPARE = 4
    MAX = 50

    def __init__(
        self,
        data: Any = None,
        initial: Iterable[dict[str, Any]] = (),
        *,
        editing: bool = False,
        caller_phone: str = "",
    ) -> None:
        self.is_bound = data is not None
        self.editing = editing
        self.error = ""
        rows = list(initial)
        if self.is_bound:
            count = self._count(data)
            self.forms = [PartyForm(data, prefix=f"{self.PREFIX}-{i}") for i in range(count)]
            shown = self.MIN
        else:
            shown = max(len(rows), self.MIN)
            self.forms = [
                PartyForm(
                    prefix=f"{self.PREFIX}-{i}",
                    initial=rows[i] if i < len(rows) else {"role": self._role(i)},
                )
                for i in range(shown + self.SPARE)
            ]
        # Rows past the first ones with nothing typed in are hidden until "Add a party".
        self.hidden = [i >= shown and form.is_blank() for i, form in enumerate(self.forms)]
        if editing:
            for form in self.forms:
                for name in ("id_number", "phone", "guardian_phone"):
                    form.fields[name].help_text = _("Leave empty to keep the current one.")
        if caller_phone:
            for form in self.forms:
                if form.initial.get("caller") or form.data.get(form.add_prefix("caller")):
                    form.fields["phone"].help_text = _(
                        "The caller's phone from the incident (%(phone)s) is kept when this "
                        "is left empty."
                    ) % {"phone": caller_phone}
        # The form row of each party handed to the action (blank rows are skipped).
        self.used: list[int] = []

    @staticmethod
    def _role(i: int) -> str:
        return Party.Role.APPLICANT if i == 0 else Party.Role.RESPONDENT

    def _count(self, data: Any) -> int:
        raw = str(data.get(f"{self.PREFIX}-count", "")).strip()
        count = int(raw) if raw.isascii() and raw.isdigit() else self.MIN
        return min(max(count, self.MIN), self.MAX)

    @property
    def count(self) -> int:
        return len(self.forms)

    @property
    def rows(self) -> list[tuple[int, PartyForm, bool]]:
        """(number from 1, form, hidden) of each row, for the page."""
        return [(i + 1, form, self.hidden[i]) for i, form in enumerate(self.forms)]

    def empty_form(self) -> PartyForm:
        """The row the script copies for "Add a party" (prefix ``parties-__n__``)."""
        return PartyForm(prefix=f"{self.PREFIX}-__n__", initial={"role": Party.Role.RESPONDENT})

    def is_valid(self) -> bool:
        ok = True
        self.used = []
        for i, form in enumerate(self.forms):
            if form.is_blank():
                continue
            self.used.append(i)
            ok = form.is_valid() and ok
        if not self.used:
            self.error = str(_("Give at least one party."))
            ok = False
        return ok

    def cleaned(self) -> list[dict[str, Any]]:
        return [self.forms[i].cleaned_data for i in self.used]

    def add_error(self, index: int, field: str, message: str) -> bool:
        """Put an action's error on ``parties.<index>.<field>``; False when it has no place."""
        if not 0 <= index < len(self.used):
            return False
        form = self.forms[self.used[index]]
        form.add_error(field if field in form.fields else None, message)
        return True

    @property
    def errors(self) -> bool:
        return bool(self.error) or any(f.is_bound and f.errors for f in self.forms)


# ---------------------------------------------------------------------------------------------
# The steps on a dispute's page: each carries the dispute's version.


class StepForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "version" in self.errors:
            del self.errors["version"]
            raise forms.ValidationError(OUT_OF_DATE)
        return data


class TierForm(StepForm):
    """Override the tier, or escalate/de-escalate: the new tier and why."""

    tier = forms.TypedChoiceField(label=_("Tier"), choices=Tier.choices, coerce=int)
    reason = text_area(_("Reason"), 1000, rows=2)


class CallForm(StepForm):
    member = MemberField(label=_("Member"), queryset=Member.objects.none())

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["member"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = members


class LeadForm(CallForm):
    pass


class TrackForm(StepForm):
    track = forms.ChoiceField(
        label=_("Legal track"),
        choices=[c for c in Dispute.Track.choices if c[0]],
        widget=forms.RadioSelect,
    )
    exclusions = forms.MultipleChoiceField(
        label=_("Police mediation is excluded when"),
        required=False,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick what applies: police mediation then is refused."),
    )
    accepted_on = day_field(_("Accepted on"), required=False, help_text=_("Leave empty for today."))

    def __init__(
        self, *args: Any, exclusions: Iterable[tuple[str, Any]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["exclusions"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(exclusions)


class ExtendForm(StepForm):
    reason = text_area(_("Both parties agreed to extend because"), 1000, rows=2)


class SessionForm(StepForm):
    held_at = moment_field(_("Held"))
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    participants = MembersField(
        label=_("Members taking part"),
        queryset=Member.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    others = forms.CharField(label=_("Others taking part"), max_length=500, required=False)
    said = text_area(_("What was said"), 4000, required=False)
    offered = text_area(_("What was offered"), 4000, required=False)
    result = forms.ChoiceField(label=_("Result"), choices=Session.Result.choices)

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["participants"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = members

    def clean_held_at(self) -> Any:
        held = self.cleaned_data["held_at"]
        if held is not None and held > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(_("A session cannot be held in the future."))
        return held


class AgreementForm(StepForm):
    form = forms.ChoiceField(
        label=_("Form"), choices=Agreement.Form.choices, widget=forms.RadioSelect
    )
    facts = text_area(_("Facts and issues"), 4000)
    terms = text_area(_("Terms agreed"), 4000)
    performance = text_area(_("How it is carried out"), 2000, rows=2)
    perform_by = day_field(_("Carried out by"))
    signed_on = day_field(_("Signed on"))
    signatories = forms.MultipleChoiceField(
        label=_("Signed by"), choices=(), widget=forms.CheckboxSelectMultiple
    )
    copies = forms.IntegerField(label=_("Copies"), min_value=0, max_value=20, initial=3)

    def __init__(self, *args: Any, names: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["signatories"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(name, name) for name in dict.fromkeys(names)]


class FollowUpForm(StepForm):
    visited_at = moment_field(_("Visited"))
    method = forms.ChoiceField(label=_("How"), choices=FollowUp.Method.choices)
    result = forms.ChoiceField(label=_("Result"), choices=FollowUp.Result.choices)
    notes = text_area(_("Notes"), 2000, required=False, rows=2)


class ReferForm(StepForm):
    to = forms.ChoiceField(label=_("Referred to"), choices=Referral.To.choices)
    department = forms.CharField(label=_("Department"), max_length=80, required=False)
    told = text_area(_("What the parties were told"), 2000)


class WithdrawForm(StepForm):
    reason = text_area(_("Reason"), 1000, rows=2)
