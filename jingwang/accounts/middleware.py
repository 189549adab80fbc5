from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import translation

PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/accounts/language/",
    "/static/",
    "/healthz",
    "/api/",
    "/i18n/",
    "/favicon",
    # SMS: a text's signed opt-out link, and the gateway's signed posts (jingwang/sms/urls.py).
    "/sms/u/",
    "/sms/gateway/",
    "/s/",  # the SMS survey of a callback: the caller has no account (incidents)
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


# Pages a session may reach before its login is complete (second factor, temporary password).
_ALWAYS_OPEN = ("/accounts/logout/", "/accounts/language/", "/static/", "/healthz", "/favicon")


def _api_refusal(message: str, status: int) -> HttpResponse:
    return JsonResponse({"errors": [{"field": "", "message": message}]}, status=status)


class SecondFactorMiddleware:
    """A privileged session (三员, bureau admin) reaches nothing until its second factor is
    verified: pages send it to the second step, the API answers 401.

    The login page only logs a privileged user in after the code (``views.login_code``); this
    catches any other way a session became authenticated without one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.urls import reverse
        from django.utils.translation import gettext as _

        from jingwang.accounts.roles import needs_second_factor

        user = request.user
        if (
            user.is_authenticated
            and needs_second_factor(user)
            and not user.is_verified()  # type: ignore[attr-defined]
            and not request.path.startswith((*_ALWAYS_OPEN, "/accounts/login/"))
        ):
            if request.path.startswith("/api/"):
                return _api_refusal(_("Finish logging in: enter your second-factor code."), 401)
            return HttpResponseRedirect(reverse("accounts:login_code"))
        return self.get_response(request)


class TemporaryPasswordMiddleware:
    """A user whose password was set by an administrator changes it before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.urls import reverse
        from django.utils.translation import gettext as _

        user = request.user
        change = reverse("accounts:password")
        if (
            user.is_authenticated
            and getattr(user, "password_is_temporary", False)
            and request.path != change
            and not request.path.startswith((*_ALWAYS_OPEN, "/accounts/login/"))
        ):
            if request.path.startswith("/api/"):
                return _api_refusal(
                    _("Your password is temporary: change it on the account page first."), 403
                )
            return HttpResponseRedirect(change)
        return self.get_response(request)
