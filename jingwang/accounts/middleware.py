from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import translation

PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/accounts/language/",
    "/static/",
    "/healthz",
    "/api/",
    "/i18n/",
    "/favicon",
)


class LanguageMiddleware:
    """Simplified Chinese unless the user chose otherwise (a cookie, then their saved choice).

    The browser's Accept-Language is deliberately ignored: the default is Chinese.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.codes = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if language not in self.codes:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class LoginRequiredMiddleware:
    """Every page needs a logged-in user; the API authenticates on its own (tokens or session)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class RefusalAuditMiddleware:
    """Write the ``denied`` audit events of a request once its response is ready.

    A refusal inside a transaction (a write that turned out not to be allowed) would otherwise
    be rolled back with it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from jingwang.accounts.scope import collecting_refusals, write_refusals

        with collecting_refusals() as refusals:
            response = self.get_response(request)
        if refusals:
            for refusal in refusals:
                refusal.detail.setdefault("path", request.path[:200])
                refusal.detail.setdefault("method", request.method)
            write_refusals(refusals)
        return response
