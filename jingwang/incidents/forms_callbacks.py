from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingwang.incidents.models import CallbackAttempt, Category, Rating

STALE = _("This form is out of date: reload the page and make the change again.")


class Versioned(forms.Form):
    # The version the editor saw: required, so a stale edit cannot skip the check.
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={
            "required": STALE,
            "invalid": STALE,
            "min_value": STALE,
        },
    )


def _rating(label: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=Rating.choices, widget=forms.RadioSelect)


class AnswersForm(forms.Form):
    """The three questions and the suggestions: the phone callback and the SMS survey."""

    speed = _rating(_("How quickly did the police respond?"))
    attitude = _rating(_("How was the officers' attitude?"))
    handling = _rating(_("How was the matter handled?"))
    suggestions = forms.CharField(
        label=_("Suggestions"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CallbackForm(AnswersForm, Versioned):
    pass


class AttemptForm(Versioned):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=CallbackAttempt.Outcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RectificationForm(Versioned):
    findings = forms.CharField(
        label=_("Findings"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    actions_taken = forms.CharField(
        label=_("Actions taken"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class CloseRectificationForm(Versioned):
    closing_rating = forms.ChoiceField(
        label=_("The caller's rating at the closing callback"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
    )
    closing_note = forms.CharField(
        label=_("Closing callback notes"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CategoryChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        if obj.parent_id is not None and obj.parent is not None:
            return f"{obj.parent.label} › {obj.label}"
        return obj.label


class StationCallbackSettingsForm(Versioned):
    sms_survey = forms.BooleanField(
        label=_("Send callers an SMS survey link"),
        required=False,
        help_text=_(
            "The day a callback is due, the caller gets a text with a one-time link to three "
            "questions. Never for officer-only categories."
        ),
    )
    officer_only_categories = CategoryChoiceField(
        label=_("Further categories called only by an officer"),
        queryset=Category.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Categories flagged by the bureau (domestic violence, sexual assault, ...) are always "
            "officer-only; mark here any other where contact could endanger the caller."
        ),
    )

    def __init__(self, *args: Any, categories: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["officer_only_categories"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = categories
