from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.models import User
from jingwang.accounts.roles import BUREAU_ROLES, THREE_ADMINS, Role
from jingwang.territory.models import Bureau, Station


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("zh-hans", "中文"), ("en", "English")])
    next = forms.CharField(required=False)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


NOTE = forms.CharField(
    label=_("Why (shown to the approver)"),
    max_length=500,
    required=False,
    widget=forms.TextInput,
)


class PlacementForm(forms.Form):
    """A role and where it applies: a bureau for a bureau admin, a station for station roles."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    bureau = forms.ModelChoiceField(
        label=_("Bureau"), queryset=Bureau.objects.all(), required=False
    )
    station = forms.ModelChoiceField(
        label=_("Station"), queryset=Station.objects.all(), required=False
    )
    note = NOTE

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role = data.get("role")
        if role in BUREAU_ROLES and not data.get("bureau"):
            self.add_error("bureau", _("A bureau admin needs a bureau."))
        elif (
            role
            and role not in BUREAU_ROLES
            and role not in THREE_ADMINS
            and not data.get("station")
        ):
            self.add_error("station", _("This role needs a station."))
        return data


class UserForm(PlacementForm):
    """A new account. Its first password is made by the server and shown once."""

    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[A-Za-z0-9_.-]{3,150}$",
        error_messages={
            "invalid": _("Use 3 or more letters, digits, dots, dashes or underscores.")
        },
    )
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    field_order = ["username", "full_name", "role", "bureau", "station", "note"]

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username


class NoteForm(forms.Form):
    note = NOTE


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("Reason for refusing"), max_length=500)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class PasswordChangeForm(forms.Form):
    current = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "At least 8 characters mixing at least 3 of: lower-case letters, upper-case "
            "letters, digits and symbols; not a common password."
        ),
    )
    again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new") and data.get("again") and data["new"] != data["again"]:
            self.add_error("again", _("The two new passwords differ."))
        return data
