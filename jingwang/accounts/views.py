from __future__ import annotations

import time
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from jingwang.accounts import actions, otp
from jingwang.accounts.forms import (
    CodeForm,
    LanguageForm,
    NoteForm,
    PasswordChangeForm,
    PlacementForm,
    RefuseForm,
    TokenForm,
    UserForm,
)
from jingwang.accounts.models import AccountRequest, User
from jingwang.accounts.queries import (
    access_account,
    access_request,
    access_token,
    accounts_visible_to,
    login_candidate,
    pending_for,
    requests_visible_to,
    tokens_of,
)
from jingwang.accounts.roles import (
    GRID_ROLES,
    Perm,
    Role,
    has_perm,
    needs_second_factor,
    reads_case_data,
)
from jingwang.accounts.scope import access, deny, require
from jingwang.accounts.types import AuthedRequest

# The password step of a privileged user's login, waiting for the second step. The session is
# not logged in until the code is right: nothing but the second step opens with it.
SECOND_STEP = "jingwang_second_step"
SECOND_STEP_SECONDS = 5 * 60
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("home")


def _shown_once(response: HttpResponse) -> HttpResponse:
    """A page with a secret on it (a temporary password, recovery codes): never kept."""
    response["Cache-Control"] = "no-store, private"
    return response


# ---------------------------------------------------------------------------------------------
# Logging in: the password, then (for privileged accounts) the second factor


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            target = _safe_next(request, request.GET.get("next"))
            if needs_second_factor(user):
                request.session.cycle_key()
                request.session[SECOND_STEP] = {
                    "user": user.pk,
                    "stamp": user.get_session_auth_hash(),
                    "at": int(time.time()),
                    "next": target,
                }
                return redirect("accounts:login_code")
            return _log_in(request, user, target, None)
        actions.record_failed_login(
            request.POST.get("username", ""), getattr(request, "axes_locked_out", False)
        )
    return render(request, "accounts/login.html", {"form": form})


def _log_in(
    request: HttpRequest, user: User, target: str, device: Any, **detail: Any
) -> HttpResponse:
    """Log the user in (with the device that verified them, if any) and go to ``target``."""
    request.session.pop(SECOND_STEP, None)
    login(request, user, backend=BACKEND)
    if device is not None:
        otp_login(request, device)
    actions.record_login(user, **detail)
    response = HttpResponseRedirect(target)
    _remember_language(request, user, response)
    return response


def _remember_language(request: HttpRequest, user: User, response: HttpResponse) -> None:
    if user.language and not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, user.language, max_age=settings.LANGUAGE_COOKIE_AGE
        )


def _second_step_user(request: HttpRequest) -> tuple[User | None, str]:
    """Who is at the second step, and where they go after it.

    Either the password step just passed (kept in the session for five minutes, and only while
    the password is the same), or a logged-in privileged session not verified yet.
    """
    user = request.user
    if user.is_authenticated:
        assert isinstance(user, User)
        if needs_second_factor(user) and not user.is_verified():  # type: ignore[attr-defined]
            return user, reverse("home")
        return None, ""
    pending = request.session.get(SECOND_STEP)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > SECOND_STEP_SECONDS:
        return None, ""
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None, ""
    found = login_candidate(user_id)
    if (
        found is None
        or not needs_second_factor(found)
        or not constant_time_compare(found.get_session_auth_hash(), pending.get("stamp", ""))
    ):
        return None, ""
    return found, str(pending.get("next") or reverse("home"))


def _second_step_gone(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    request.session.pop(SECOND_STEP, None)
    messages.error(request, _("Your login took too long or was interrupted: log in again."))
    return redirect("accounts:login")


def _locked(request: HttpRequest, user: User) -> bool:
    return bool(AxesProxyHandler.is_locked(request, {"username": user.username}))


def _code_failed(request: HttpRequest, user: User, form: Form, step: str) -> HttpResponse | None:
    """A wrong code counts as a failed login towards the lockout; at the limit, the half-done
    login ends (django-axes' middleware answers with the lockout page)."""
    credentials = {"username": user.username}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    locked = bool(getattr(request, "axes_locked_out", False))
    actions.record_second_factor_failure(user, locked, step)
    if locked:
        _end_half_login(request)
        return locked_out(request)
    form.add_error("code", _("This code is not right. Type the code your app shows now."))
    return None


def _end_half_login(request: HttpRequest) -> None:
    request.session.pop(SECOND_STEP, None)
    if request.user.is_authenticated:
        logout(request)


def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: the 6-digit code of the authenticator app, or a recovery code."""
    user, target = _second_step_user(request)
    if user is None:
        return _second_step_gone(request)
    if not otp.has_second_factor(user):
        return redirect("accounts:login_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _locked(request, user):
            _end_half_login(request)
            return locked_out(request)
        found = otp.verify(user, form.cleaned_data["code"])
        if found is not None:
            kind, device_id = found
            device = otp.device_for_session(user, kind, device_id)
            with transaction.atomic():
                if kind == "recovery":
                    actions.record_recovery_code_used(user)
                response = _log_in(request, user, target, device, second_factor=kind)
            if kind == "recovery":
                left = otp.recovery_codes_left(user)
                messages.warning(
                    request,
                    _(
                        "You logged in with a recovery code; %(left)d are left. Make new ones "
                        "on your account page."
                    )
                    % {"left": left},
                )
            return response
        failed = _code_failed(request, user, form, "code")
        if failed is not None:
            return failed
    return render(request, "accounts/login_code.html", {"form": form, "pending_user": user})


def login_enrol(request: HttpRequest) -> HttpResponse:
    """First login of a privileged account (or after a reset): set up an authenticator app."""
    user, target = _second_step_user(request)
    if user is None:
        return _second_step_gone(request)
    if otp.has_second_factor(user):
        return redirect("accounts:login_code")
    device = otp.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _locked(request, user):
            _end_half_login(request)
            return locked_out(request)
        if otp.confirm(device, form.cleaned_data["code"]):
            with transaction.atomic():
                codes = otp.replace_recovery_codes(user)
                actions.record_enrolment(user, len(codes))
                _log_in(request, user, target, device, second_factor="enrolled")
            response = render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": target}
            )
            _remember_language(request, user, response)
            return _shown_once(response)
        failed = _code_failed(request, user, form, "enrol")
        if failed is not None:
            return failed
    uri = device.config_url
    secret = otp.secret_base32(device)
    context = {
        "form": form,
        "pending_user": user,
        "uri": uri,
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        # Drawn here, from the package segno: nothing is loaded from outside the server.
        "qr": mark_safe(segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code"))),
    }
    return _shown_once(render(request, "accounts/login_enrol.html", context))


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
    from jingwang.core import home as home_panels
    from jingwang.people.queries import coverage_gaps
    from jingwang.territory.queries import grids_visible_to, stations_visible_to

    user = request.user
    context: dict[str, Any] = {"role_label": Role(user.role).label if user.role else ""}
    if has_perm(user, Perm.TERRITORY_VIEW):
        stations = stations_visible_to(user).annotate(
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
    context["requests_waiting"] = pending_for(user).count()
    context["panels"] = home_panels.shown_to(user)  # the apps' panels (core/home.py)
    return render(request, "accounts/home.html", context)


# ---------------------------------------------------------------------------------------------
# The account page: one's own password, API tokens and second factor


def me(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context = {
        "password_form": PasswordChangeForm(),
        "tokens": tokens_of(user),
        "token_form": TokenForm(),
        "code_form": CodeForm(),
        "second_factor": otp.has_second_factor(user),
        "needs_second_factor": needs_second_factor(user),
        "recovery_left": otp.recovery_codes_left(user),
        "role_label": Role(user.role).label if user.role else "",
    }
    return render(request, "accounts/me.html", context)


def change_password(request: AuthedRequest) -> HttpResponse:
    user = request.user
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        was_temporary = user.password_is_temporary
        try:
            actions.change_password(user, form.cleaned_data["current"], form.cleaned_data["new"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password was changed."))
            return redirect("home" if was_temporary else "accounts:me")
    return render(request, "accounts/password.html", {"form": form})


@require_POST
def recovery_codes(request: AuthedRequest) -> HttpResponse:
    """New recovery codes, for a user who types a current code from their authenticator."""
    user = request.user
    if not otp.has_second_factor(user):
        deny(user, "accounts.recovery_codes", user.pk, mode="write")
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            codes = actions.regenerate_recovery_codes(user, form.cleaned_data["code"])
        except ValidationError:
            actions.record_second_factor_failure(user, False, "recovery_codes")
        else:
            response = render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": reverse("accounts:me")},
            )
            return _shown_once(response)
    messages.error(request, _("This code is not right. Type the code your app shows now."))
    return redirect("accounts:me")


def tokens(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        revoke = request.POST.get("revoke")
        if revoke is not None:
            token = access(request.user, request.user.api_tokens.all(), revoke, write=True)
            actions.revoke_api_token(request.user, token)
            messages.success(request, _("The token was revoked."))
            back = request.POST.get("next")
            return redirect(_safe_next(request, back) if back else reverse("accounts:tokens"))
        if form.is_valid():
            _token, new_key = actions.create_api_token(request.user, form.cleaned_data["name"])
            form = TokenForm()
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": tokens_of(request.user).filter(revoked_at__isnull=True),
        "token_days": settings.API_TOKEN_DAYS,
    }
    response = render(request, "accounts/tokens.html", context)
    return _shown_once(response) if new_key else response


# ---------------------------------------------------------------------------------------------
# Accounts, for the security admin


def _form_errors(form: Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _issued(request: HttpRequest, account: User, password: str, approved: bool) -> HttpResponse:
    context = {"account": account, "password": password, "approved": approved}
    return _shown_once(render(request, "accounts/issued.html", context))


def users(request: AuthedRequest) -> HttpResponse:
    require(request.user, Perm.ACCOUNTS_MANAGE)
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = actions.create_account(
                request.user,
                username=data["username"],
                full_name=data["full_name"],
                role=data["role"],
                bureau=data["bureau"],
                station=data["station"],
                note=data["note"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            if done.password is not None and done.account is not None:
                return _issued(request, done.account, done.password, approved=False)
            messages.success(
                request,
                _(
                    "The account %(name)s reads case data: a bureau admin must approve it. "
                    "The request is waiting on the account requests page."
                )
                % {"name": data["username"]},
            )
            return redirect("accounts:requests")
    accounts = accounts_visible_to(request.user).order_by("username")
    locked = set(
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).values_list("username", flat=True)
    )
    context = {
        "form": form,
        "accounts": accounts,
        "locked": locked,
        "pending": requests_visible_to(request.user).filter(status="pending").count(),
    }
    return render(request, "accounts/users.html", context)


def account(request: AuthedRequest, user_id: int) -> HttpResponse:
    """One account, for the security admin: its role, password, second factor and tokens."""
    target = access_account(request.user, user_id, write=request.method == "POST")
    role_form = PlacementForm(
        request.POST if request.POST.get("verb") == "role" else None,
        initial={"role": target.role, "bureau": target.bureau_id, "station": target.station_id},
    )
    if request.method == "POST":
        response = _account_verb(request, target, role_form)
        if response is not None:
            return response
    context = {
        "account": target,
        "role_form": role_form,
        "note_form": NoteForm(),
        "tokens": tokens_of(target),
        "second_factor": otp.has_second_factor(target),
        "recovery_left": otp.recovery_codes_left(target),
        "locked": AccessAttempt.objects.filter(
            username=target.username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).exists(),
        "requests": requests_visible_to(request.user).filter(account=target)[:20],
        "reads_case_data": reads_case_data(target.role),
    }
    return render(request, "accounts/account.html", context)


def _account_verb(
    request: AuthedRequest, target: User, role_form: PlacementForm
) -> HttpResponse | None:
    actor = request.user
    verb = request.POST.get("verb", "")
    note = NoteForm(request.POST)
    note_text = note.cleaned_data["note"] if note.is_valid() else ""
    here = reverse("accounts:account", args=[target.pk])
    try:
        if verb == "unlock":
            actions.unlock_account(actor, target)
            messages.success(request, _("%(name)s can log in again.") % {"name": target.username})
        elif verb in {"disable", "enable"}:
            actions.set_active(actor, target, verb == "enable")
            messages.success(
                request, _("The account %(name)s was updated.") % {"name": target.username}
            )
        elif verb == "revoke_token":
            token = access_token(actor, target, request.POST.get("token"))
            actions.revoke_api_token(actor, token)
            messages.success(request, _("The token was revoked."))
        elif verb in {"password", "second_factor", "role"}:
            if verb == "role":
                if not role_form.is_valid():
                    return None
                data = role_form.cleaned_data
                done = actions.change_role(
                    actor,
                    target,
                    role=data["role"],
                    bureau=data["bureau"],
                    station=data["station"],
                    note=data["note"],
                )
            elif verb == "password":
                done = actions.reset_password(actor, target, note_text)
            else:
                done = actions.reset_second_factor(actor, target, note_text)
            if done.request is not None:
                messages.success(
                    request,
                    _(
                        "This account reads case data: the change waits for a bureau admin's "
                        "approval."
                    ),
                )
            elif done.password is not None:
                return _issued(request, target, done.password, approved=False)
            else:
                messages.success(
                    request, _("The account %(name)s was updated.") % {"name": target.username}
                )
    except ValidationError as error:
        if verb == "role":
            _form_errors(role_form, error)
            return None
        for message in error.messages:
            messages.error(request, message)
    return redirect(here)


# ---------------------------------------------------------------------------------------------
# Account requests: the security admin asks, a bureau admin decides


def account_requests(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if not (has_perm(user, Perm.ACCOUNTS_MANAGE) or has_perm(user, Perm.ACCOUNTS_APPROVE)):
        require(user, Perm.ACCOUNTS_APPROVE)
    rows = requests_visible_to(user)
    pending = list(rows.filter(status=AccountRequest.Status.PENDING).order_by("requested_at"))
    for row in pending:
        row.decidable = actions.can_decide(user, row)  # type: ignore[attr-defined]
    context = {
        "pending": pending,
        "decided": rows.exclude(status=AccountRequest.Status.PENDING).order_by(
            "-decided_at", "-id"
        )[:50],
        "refuse_form": RefuseForm(),
        "can_manage": has_perm(user, Perm.ACCOUNTS_MANAGE),
    }
    return render(request, "accounts/requests.html", context)


@require_POST
def decide_request(request: AuthedRequest, request_id: int) -> HttpResponse:
    user = request.user
    verb = request.POST.get("verb", "")
    if verb == "withdraw":
        row = access_request(user, request_id)
    else:
        row = access_request(user, request_id, write=True)
    try:
        if verb == "approve":
            done = actions.approve_request(user, row)
            if done.password is not None and done.account is not None:
                return _issued(request, done.account, done.password, approved=True)
            messages.success(request, _("The request was approved and carried out."))
        elif verb == "refuse":
            form = RefuseForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            actions.refuse_request(user, row, reason)
            messages.success(request, _("The request was refused."))
        elif verb == "withdraw":
            actions.withdraw_request(user, row)
            messages.success(request, _("The request was withdrawn."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("accounts:requests")
