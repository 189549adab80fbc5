"""The import page (owned by the import work; placeholder until it lands)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require


def import_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.TERRITORY_IMPORT)
    return render(request, "territory/import.html", {})
