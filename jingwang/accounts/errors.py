import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):  # an address no operation answers: the API's shape
        return JsonResponse({"errors": [{"field": "", "message": _("Not found.")}]}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The last resort. Errors with a known answer (a busy database, a bad parameter) that were
    raised outside a view, such as while saving the session, still get that answer."""
    from jingwang.core.errors import answer

    exc = sys.exc_info()[1]
    known = answer(request, exc) if exc is not None else None
    if known is not None:
        return known
    if request.path.startswith("/api/"):
        message = _("Something went wrong on the server. The problem has been logged.")
        return JsonResponse({"errors": [{"field": "", "message": message}]}, status=500)
    return render(request, "500.html", status=500)
