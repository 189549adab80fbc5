from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.models import User
from jingwang.core.personal import ID_NUMBER, PHONE, PersonalFormField
from jingwang.people.models import CommitteePost, GridAssignment, Person
from jingwang.territory.models import Community, Grid


class PersonForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    kind = forms.ChoiceField(label=_("Kind"), choices=Person.Kind.choices)
    badge_number = forms.CharField(label=_("Badge number"), max_length=20, required=False)
    id_number = PersonalFormField(
        ID_NUMBER,
        label=_("ID number"),
        required=False,
        help_text=_("18-digit resident ID number; leave empty to keep the current one."),
    )
    phone = PersonalFormField(
        PHONE,
        label=_("Mobile phone"),
        required=False,
        help_text=_("Leave empty to keep the current one."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    # The version the editor saw: required when editing, so a stale edit cannot skip the check.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("A name is required."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.editing:
            data.pop("version", None)
        elif data.get("version") is None:
            raise forms.ValidationError(
                _("This form is out of date: reload the page and make the change again.")
            )
        return data


class GridChoiceField(forms.ModelChoiceField):
    """Grids labelled with their code, name and level."""

    def label_from_instance(self, obj: Grid) -> str:
        return f"{obj.code} {obj.name} ({obj.get_level_display()})"


class AssignmentForm(forms.Form):
    grid = GridChoiceField(label=_("Grid"), queryset=None)
    role = forms.ChoiceField(label=_("Role"), choices=GridAssignment.Role.choices)

    def __init__(self, *args: Any, grids: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        field = self.fields["grid"]  # a deep copy of the class attribute above
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = grids

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role = data.get("role")
        if role and self.person.kind not in GridAssignment.ALLOWED_KINDS[role]:
            self.add_error(
                "role",
                _("A %(kind)s cannot be assigned as %(role)s.")
                % {
                    "kind": self.person.get_kind_display(),
                    "role": GridAssignment.Role(role).label,
                },
            )
        grid = data.get("grid")
        if (
            grid
            and role
            and GridAssignment.objects.filter(
                person=self.person, grid=grid, role=role, ended_at__isnull=True
            ).exists()
        ):
            self.add_error("grid", _("This person already holds this role in this grid."))
        return data


class CommitteePostForm(forms.Form):
    community: forms.ModelChoiceField[Community] = forms.ModelChoiceField(
        label=_("Village or community"), queryset=None
    )
    title = forms.CharField(
        label=_("Post"), max_length=50, help_text=_("For example: deputy secretary")
    )
    since = forms.DateField(label=_("Since"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, communities: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        field = self.fields["community"]  # a deep copy of the class attribute above
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = communities

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.person.kind != Person.Kind.OFFICER:
            raise forms.ValidationError(_("Only police officers hold committee posts."))
        if (
            data.get("community")
            and CommitteePost.objects.filter(
                person=self.person, community=data["community"], ended_at__isnull=True
            ).exists()
        ):
            self.add_error("community", _("This officer already holds a post in this community."))
        return data


class AccountChoiceField(forms.ModelChoiceField):
    """Accounts labelled with their user name, full name and role."""

    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        shown = f"{obj.username} ({name})" if name and name != obj.username else obj.username
        return f"{shown} · {obj.get_role_display()}"


class AccountLinkForm(forms.Form):
    """The login account of a person (empty: none). Any account of the person's station is
    accepted here and the action says why one does not fit; only the fitting ones are offered."""

    user = AccountChoiceField(
        label=_("Account"),
        queryset=None,
        required=False,
        empty_label=_("No account"),
        error_messages={"invalid_choice": _("Choose an account of this person's station.")},
    )
    # The version the editor saw: a stale link is refused like a stale edit.
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": _("This form is out of date: reload the page and make the change again."),
            "invalid": _("This form is out of date: reload the page and make the change again."),
            "min_value": _("This form is out of date: reload the page and make the change again."),
        },
    )

    def __init__(self, *args: Any, person: Person, offered: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]  # a deep copy of the class attribute above
        assert isinstance(field, AccountChoiceField)
        field.queryset = User.objects.filter(station_id=person.station_id)
        # Only the accounts that fit are offered (setting the queryset reset the choices), and
        # the one linked now, even if it no longer fits, so that it shows as chosen.
        accounts = list(offered)
        if person.user is not None and person.user not in accounts:
            accounts.insert(0, person.user)
        field.widget.choices = [("", field.empty_label)] + [
            (account.pk, field.label_from_instance(account)) for account in accounts
        ]
