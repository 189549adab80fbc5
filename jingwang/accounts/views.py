from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jingwang.accounts import actions
from jingwang.accounts.forms import LanguageForm, PasswordForm, TokenForm, UserForm
from jingwang.accounts.models import User
from jingwang.accounts.roles import GRID_ROLES, Perm, Role, has_perm
from jingwang.accounts.scope import require, station_ids
from jingwang.accounts.types import AuthedRequest


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("home")


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            login(request, user)
            actions.record_login(user)
            response = HttpResponseRedirect(_safe_next(request, request.GET.get("next")))
            if user.language and not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    user.language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                )
            return response
        actions.record_failed_login(
            request.POST.get("username", ""), getattr(request, "axes_locked_out", False)
        )
    return render(request, "accounts/login.html", {"form": form})


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    form = AuthenticationForm(request)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    error = _(
        "Too many failed logins: this account is locked for %(minutes)d minutes. "
        "Try again later or ask the security admin."
    ) % {"minutes": minutes}
    return render(request, "accounts/login.html", {"form": form, "locked": error}, status=403)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        actions.record_logout(request.user)
    logout(request)
    return redirect("accounts:login")


@require_POST
def set_language_view(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    target = _safe_next(request, request.POST.get("next"))
    response = HttpResponseRedirect(target)
    if form.is_valid():
        language = form.cleaned_data["language"]
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )
        actions.set_language(request.user, language)
    return response


def home(request: AuthedRequest) -> HttpResponse:
    from jingwang.people.queries import coverage_gaps
    from jingwang.territory.models import Station
    from jingwang.territory.queries import grids_visible_to

    user = request.user
    context: dict[str, Any] = {"role_label": Role(user.role).label if user.role else ""}
    if has_perm(user, Perm.TERRITORY_VIEW):
        stations = Station.objects.filter(id__in=station_ids(user)).annotate(
            communities_count=Count("communities", distinct=True),
            villages_count=Count(
                "communities", filter=Q(communities__kind="village"), distinct=True
            ),
        )
        rows = []
        for station in stations:
            grids = grids_visible_to(user).filter(station=station)
            rows.append(
                {
                    "station": station,
                    "grids": grids.count(),
                    "blocks": grids.filter(level="block").count(),
                    "gaps": len(coverage_gaps(user, station)),
                }
            )
        context["stations"] = rows
        if user.role in GRID_ROLES:
            context["my_grids"] = grids_visible_to(user).filter(level__in=["block", "sector"])[:50]
    return render(request, "accounts/home.html", context)


def tokens(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        revoke = request.POST.get("revoke")
        if revoke:
            token = request.user.api_tokens.filter(pk=revoke if revoke.isdigit() else 0).first()
            if token is not None:
                actions.revoke_api_token(request.user, token)
                messages.success(request, _("The token was revoked."))
            return redirect("accounts:tokens")
        if form.is_valid():
            _token, new_key = actions.create_api_token(request.user, form.cleaned_data["name"])
            form = TokenForm()
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": request.user.api_tokens.filter(revoked_at__isnull=True),
    }
    return render(request, "accounts/tokens.html", context)


def users(request: AuthedRequest) -> HttpResponse:
    require(request.user, Perm.ACCOUNTS_MANAGE)
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.create_user(
            request.user,
            username=data["username"],
            password=data["password"],
            role=data["role"],
            bureau=data["bureau"],
            station=data["station"],
            first_name=data["full_name"][:150],
        )
        messages.success(
            request, _("The account %(name)s was created.") % {"name": data["username"]}
        )
        return redirect("accounts:users")
    accounts = User.objects.select_related("station", "bureau").order_by("username")
    locked = set(
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).values_list("username", flat=True)
    )
    context = {
        "form": form,
        "accounts": accounts,
        "locked": locked,
        "password_form": PasswordForm(),
    }
    return render(request, "accounts/users.html", context)


@require_POST
def account_action(request: AuthedRequest, user_id: int) -> HttpResponse:
    """Unlock, disable, enable or set a new password for one account (security admin)."""
    require(request.user, Perm.ACCOUNTS_MANAGE)
    account = User.objects.filter(id=user_id).first()
    if account is None:
        raise Http404()
    verb = request.POST.get("verb", "")
    if verb == "unlock":
        actions.unlock_account(request.user, account)
        messages.success(request, _("%(name)s can log in again.") % {"name": account.username})
    elif verb in {"disable", "enable"} and account != request.user:
        actions.set_active(request.user, account, verb == "enable")
        messages.success(
            request, _("The account %(name)s was updated.") % {"name": account.username}
        )
    elif verb == "password":
        form = PasswordForm(request.POST)
        if form.is_valid():
            try:
                actions.reset_password(request.user, account, form.cleaned_data["password"])
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, f"{account.username}: {message}")
            else:
                messages.success(
                    request, _("The password of %(name)s was changed.") % {"name": account.username}
                )
        else:
            messages.error(request, _("Type the new password."))
    return redirect("accounts:users")
