from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.models import User
from jingwang.accounts.roles import BUREAU_ROLES, THREE_ADMINS, Role
from jingwang.territory.models import Bureau, Station


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("zh-hans", "中文"), ("en", "English")])
    next = forms.CharField(required=False)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


class UserForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[A-Za-z0-9_.-]{3,150}$",
        error_messages={
            "invalid": _("Use 3 or more letters, digits, dots, dashes or underscores.")
        },
    )
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    bureau = forms.ModelChoiceField(
        label=_("Bureau"), queryset=Bureau.objects.all(), required=False
    )
    station = forms.ModelChoiceField(
        label=_("Station"), queryset=Station.objects.all(), required=False
    )
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

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
        if data.get("password"):
            probe = User(username=self.data.get("username", ""))
            try:
                password_validation.validate_password(data["password"], probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class PasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)
