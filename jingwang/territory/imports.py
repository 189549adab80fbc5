"""The import page: upload a GeoJSON or CSV file of communities or base units into a station."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.lib import territory_files as files
from jingwang.territory import actions
from jingwang.territory.queries import access_station, stations_visible_to

# The error table shows this many rows; a file this wrong needs fixing at its source anyway.
SHOWN_ERRORS = 500

KIND_CHOICES = [
    (files.COMMUNITY, _("Villages and communities")),
    (files.BASE_UNIT, _("Base units (buildings, compounds, village groups)")),
]
CRS_CHOICES = [
    ("auto", _("As declared in the file (WGS-84 if not declared)")),
    (files.WGS84, _("WGS-84 (GPS, most GIS software)")),
    (files.GCJ02, _("GCJ-02 (Amap, Tencent and other Chinese map apps)")),
]


class ImportForm(forms.Form):
    station = forms.ChoiceField(label=_("Station"))
    kind = forms.ChoiceField(label=_("The file holds"), choices=KIND_CHOICES)
    crs = forms.ChoiceField(
        label=_("Coordinate system"), choices=CRS_CHOICES, initial="auto", required=False
    )
    file = forms.FileField(
        label=_("File"),
        widget=forms.FileInput(attrs={"accept": ".geojson,.json,.csv"}),
        help_text=_(
            "GeoJSON (.geojson or .json) or CSV (.csv). A file with any error imports nothing."
        ),
    )

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].choices = [(s.code, s.name) for s in stations]  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB.") % {"limit": limit // (1024 * 1024)}
            )
        return upload


def import_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_IMPORT)
    stations = stations_visible_to(request.user)
    wanted = request.POST.get("station") or request.GET.get("station")
    # A station outside the user's scope is a page that does not exist for them.
    chosen = access_station(request.user, wanted, perm=Perm.TERRITORY_IMPORT) if wanted else None
    initial = {"station": chosen.code if chosen else None, "crs": "auto"}
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, stations=stations, initial=initial)
    else:
        form = ImportForm(stations=stations, initial=initial)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        station = access_station(request.user, data["station"], perm=Perm.TERRITORY_IMPORT)
        upload = data["file"]
        report = actions.import_territory(
            request.user,
            station,
            data["kind"],
            b"".join(upload.chunks()),
            upload.name or "",
            None if data["crs"] in ("", "auto") else data["crs"],
        )
    context = {
        "form": form,
        "report": report,
        "shown_errors": report.errors[:SHOWN_ERRORS] if report else [],
        "hidden_errors": max(0, len(report.errors) - SHOWN_ERRORS) if report else 0,
    }
    return render(request, "territory/import.html", context)
