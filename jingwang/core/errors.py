"""Answers for the errors every page and endpoint can meet, so none of them is a bare 500.

- a request parameter that does not parse (``BadParameter``): 400, naming the parameter;
- personal data that does not open with this server's key: 503, saying which key to use;
- a database too busy to take the write in time (SQLite's lock wait ran out, a PostgreSQL
  deadlock or lock timeout): 429 with ``Retry-After``; nothing was written, the request can be
  sent again (with the same ``Idempotency-Key`` for an API create).

API paths answer in the API's JSON shape (``{"errors": [{"field", "message"}]}``), pages with a
page in the user's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from jingwang.core.params import BadParameter
from jingwang.core.personal import PersonalDataKeyError

log = logging.getLogger("jingwang")

RETRY_AFTER_SECONDS = 2
# SQLSTATEs of a PostgreSQL write that lost a race and may simply be sent again.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def is_busy(exc: BaseException) -> bool:
    """True when the database refused a write only because others held it (try again)."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def answer(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The response for an exception this module knows, or None."""
    if isinstance(exc, BadParameter):
        return _respond(request, 400, exc.message, field=exc.name)
    if isinstance(exc, PersonalDataKeyError):
        log.error("personal data does not open with this key: %s", exc)
        return _respond(
            request,
            503,
            _(
                "Personal data in this database was encrypted with another key than the one "
                "this server was started with. Start the server with the key used when the "
                "data was written (JINGWANG_PII_KEY, or var/pii_key for the demo)."
            ),
        )
    if is_busy(exc):
        response = _respond(
            request,
            429,
            _("The server is busy with other changes: nothing was saved. Try again in a moment."),
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return None


def _respond(request: HttpRequest, status: int, message: str, field: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


class ErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return answer(request, exc)
