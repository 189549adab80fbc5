"""The system admin's pages of the territory: bureaus and stations, made and renamed.

Only codes and names show here (the system admin reads no case data); every fetch goes through
the configuration doors of ``territory.queries``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.territory import actions
from jingwang.territory.forms import BureauForm, RenameForm, StationForm
from jingwang.territory.models import Bureau, Station
from jingwang.territory.queries import (
    access_config_bureau,
    access_config_station,
    config_bureaus,
    config_stations,
)


def bureaus_view(request: HttpRequest) -> HttpResponse:
    """Every bureau with its number of stations; a new bureau (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    form = BureauForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bureau = actions.create_bureau(request.user, **form.cleaned_data)
        except actions.Refused as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": bureau.name})
            return redirect("territory:bureau", bureau_id=bureau.pk)
    bureaus = config_bureaus(request.user).annotate(station_count=Count("stations"))
    return render(
        request, "territory/bureaus.html", {"bureaus": bureaus.order_by("code"), "form": form}
    )


def _rename(
    request: HttpRequest,
    form: RenameForm,
    rename: Any,
    row: Bureau | Station,
) -> bool:
    """Rename ``row`` from a valid bound form; False with the form's errors when refused."""
    if not form.is_valid():
        # The version is a hidden field, whose errors the form's fields do not show.
        for error in form.errors.get("version", []):
            form.add_error(None, error)
        return False
    data = form.cleaned_data
    try:
        rename(request.user, row, name=data["name"], version=data["version"])
    except actions.Refused as error:
        form.add_error(error.field, error.message)
        return False
    except actions.StaleEdit as error:
        form.add_error(None, str(error))
        return False
    messages.success(request, _("The changes were saved."))
    return True


def _bureau_page(
    request: HttpRequest, bureau: Bureau, rename_form: RenameForm, station_form: StationForm
) -> HttpResponse:
    context = {
        "bureau": bureau,
        "form": rename_form,
        "station_form": station_form,
        "stations": config_stations(request.user).filter(bureau=bureau).order_by("code"),
    }
    return render(request, "territory/bureau.html", context)


def bureau_view(request: HttpRequest, bureau_id: int) -> HttpResponse:
    """A bureau and its stations; renaming it (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id, write=posted)
    form = RenameForm(
        request.POST if posted else None, initial={"name": bureau.name, "version": bureau.version}
    )
    if posted and _rename(request, form, actions.rename_bureau, bureau):
        return redirect("territory:bureau", bureau_id=bureau.pk)
    return _bureau_page(request, bureau, form, StationForm())


@require_POST
def new_station(request: HttpRequest, bureau_id: int) -> HttpResponse:
    """A new station of the bureau (the form is on the bureau's page)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    bureau = access_config_bureau(request.user, bureau_id, write=True)
    form = StationForm(request.POST)
    if form.is_valid():
        try:
            station = actions.create_station(request.user, bureau, **form.cleaned_data)
        except actions.Refused as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": station.name})
            return redirect("territory:bureau", bureau_id=bureau.pk)
    rename_form = RenameForm(initial={"name": bureau.name, "version": bureau.version})
    return _bureau_page(request, bureau, rename_form, form)


def station_view(request: HttpRequest, bureau_id: int, station_id: int) -> HttpResponse:
    """A station's code and name; renaming it (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id)
    station = access_config_station(request.user, bureau, station_id, write=posted)
    form = RenameForm(
        request.POST if posted else None,
        initial={"name": station.name, "version": station.version},
    )
    if posted and _rename(request, form, actions.rename_station, station):
        return redirect("territory:bureau", bureau_id=bureau.pk)
    return render(
        request,
        "territory/station_admin.html",
        {"bureau": bureau, "station": station, "form": form},
    )
