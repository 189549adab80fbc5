"""The choice lists of the system admin (``jingwang.core.choicelists``): every registered list ×
every bureau, and one bureau's list with its entries (add, rename, reorder, take out of use)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.core import choicelists
from jingwang.core.choicelists import ChoiceList
from jingwang.territory.queries import access_config_bureau, config_bureaus


class AddForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        help_text=gettext_lazy("Lower-case letters, digits and _; never changes once made."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=80, required=False)
    order = forms.IntegerField(
        label=gettext_lazy("Order"),
        min_value=0,
        max_value=choicelists.MAX_ORDER,
        required=False,
        help_text=gettext_lazy("Smaller first; empty: after the others."),
    )


class EditForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=80, required=False)
    order = forms.IntegerField(
        label=gettext_lazy("Order"), min_value=0, max_value=choicelists.MAX_ORDER
    )
    is_active = forms.BooleanField(label=gettext_lazy("In use"), required=False)
    # Required: a form without the version it was opened at cannot skip the stale check.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "version" in self.errors:
            del self.errors["version"]
            raise forms.ValidationError(
                _("This form is out of date: reload the page and make the change again.")
            )
        return data


def _list(name: str) -> ChoiceList:
    found = choicelists.named(name)
    if found is None:
        raise Http404()
    return found


def lists_view(request: HttpRequest) -> HttpResponse:
    """A table: a row per bureau, a column per list, each cell how many entries are in use."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    bureaus = list(config_bureaus(request.user).order_by("code"))
    lists = choicelists.registered()
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for choice_list in lists:
        rows = (
            choice_list.model._default_manager.filter(bureau__in=bureaus)
            .values("bureau")
            .annotate(total=Count("id"), in_use=Count("id", filter=Q(is_active=True)))
        )
        for row in rows:
            counts[(choice_list.name, row["bureau"])] = row
    rows_out = [
        (
            bureau,
            [(choice_list, counts.get((choice_list.name, bureau.pk))) for choice_list in lists],
        )
        for bureau in bureaus
    ]
    return render(request, "core/lists.html", {"lists": lists, "rows": rows_out})


def list_view(request: HttpRequest, name: str, bureau_id: int) -> HttpResponse:
    """One bureau's list: its entries, each with its edit form, and adding an entry (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id, write=posted)
    choice_list = _list(name)
    form = AddForm(request.POST if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            made = choicelists.add_choice(
                request.user,
                choice_list.model,
                bureau,
                code=data["code"],
                name=data["name"],
                name_en=data["name_en"],
                order=data["order"],
            )
        except choicelists.ChoiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("“%(name)s” was added.") % {"name": made.name})
            return redirect("config:list", name=choice_list.name, bureau_id=bureau.pk)
    return _list_page(request, choice_list, bureau, form)


def _list_page(
    request: HttpRequest,
    choice_list: ChoiceList,
    bureau: Any,
    form: AddForm,
    failed: tuple[int, EditForm] | None = None,
) -> HttpResponse:
    rows = []
    for entry in choicelists.entries(choice_list.model, bureau.pk):
        if failed is not None and failed[0] == entry.pk:
            edit = failed[1]
        else:
            edit = EditForm(initial=_initial(entry), auto_id=f"id_{entry.pk}_%s")
        rows.append((entry, edit))
    context = {"choice_list": choice_list, "bureau": bureau, "rows": rows, "form": form}
    status = 400 if failed is not None or form.errors else 200
    return render(request, "core/lists_entries.html", context, status=status)


def _initial(entry: Any) -> dict[str, Any]:
    return {
        "name": entry.name,
        "name_en": entry.name_en,
        "order": entry.order,
        "is_active": entry.is_active,
        "version": entry.version,
    }


def entry_view(request: HttpRequest, name: str, bureau_id: int, entry_id: int) -> HttpResponse:
    """Changing one entry (POST from its row of the list page): its names, order and use; the
    buttons "take out of use" / "back in use" send only that and the version."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id, write=posted)
    choice_list = _list(name)
    entry = choicelists.access_entry(
        request.user, choice_list.model, bureau, entry_id, write=posted
    )
    if not posted:
        return redirect("config:list", name=choice_list.name, bureau_id=bureau.pk)
    toggle = request.POST.get("use")
    if toggle in ("0", "1"):
        data = {**_initial(entry), "is_active": toggle == "1"}
        data["version"] = request.POST.get("version")
        form = EditForm(data, auto_id=f"id_{entry.pk}_%s")
    else:
        form = EditForm(request.POST, auto_id=f"id_{entry.pk}_%s")
    if form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            choicelists.update_choice(request.user, entry, version=version, **data)
        except choicelists.ChoiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except choicelists.StaleChoice as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The changes to “%(name)s” were saved.") % data)
            return redirect("config:list", name=choice_list.name, bureau_id=bureau.pk)
    return _list_page(request, choice_list, bureau, AddForm(), failed=(entry.pk, form))
