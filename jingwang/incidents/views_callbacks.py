"""Pages of the callback loop: the queue, working a callback on a phone, rectifications, the
station's callback settings, and the public SMS survey (``/s/<token>``, no login)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import require
from jingwang.audit.context import client_ip
from jingwang.core import workdays
from jingwang.core.params import choice_param
from jingwang.core.personal import unmask
from jingwang.incidents import actions_callbacks as actions
from jingwang.incidents.categories import categories_of
from jingwang.incidents.forms_callbacks import (
    AnswersForm,
    AttemptForm,
    CallbackForm,
    CloseRectificationForm,
    RectificationForm,
    StationCallbackSettingsForm,
)
from jingwang.incidents.models import Callback, Rectification
from jingwang.incidents.queries_callbacks import (
    GRID_QUEUE_ROLES,
    access_callback,
    access_rectification,
    callback_queue,
    callback_settings_of,
    managed_rectifications,
)
from jingwang.territory.views import chosen_station


def _stale(request: HttpRequest) -> None:
    messages.error(
        request,
        _(
            "Someone else worked this record while you had it open. "
            "Look at what they did, then try again."
        ),
    )


# ---------------------------------------------------------------------------------------------
# The queue and the work page


def callback_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.CALLBACKS_WORK)
    today = timezone.localdate()
    grid_queue = getattr(request.user, "role", None) in GRID_QUEUE_ROLES
    everyone = choice_param(request.GET, "scope", ["mine", "all"], "mine") == "all"
    rows = callback_queue(request.user, today, everyone=everyone)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "today": today,
        "grid_queue": grid_queue,
        "everyone": everyone,
        "can_configure": has_perm(request.user, Perm.STATION_CONFIGURE),
        "can_rectify": has_perm(request.user, Perm.RECTIFICATIONS_MANAGE),
    }
    return render(request, "incidents/callback_list.html", context)


def _work_page(
    request: HttpRequest,
    callback: Callback,
    *,
    answers: CallbackForm | None = None,
    attempt: AttemptForm | None = None,
    revealed: str = "",
    status: int = 200,
) -> HttpResponse:
    incident = callback.incident
    due = callback.status == Callback.Status.DUE
    context = {
        "callback": callback,
        "incident": incident,
        "kind": incident.category.parent or incident.category,
        "due": due,
        "overdue": due and callback.due_on < timezone.localdate(),
        "attempts": callback.attempts.select_related("by"),
        "answers": answers or CallbackForm(initial={"version": callback.version}),
        "attempt": attempt or AttemptForm(initial={"version": callback.version}),
        "revealed": revealed,
        "rectification": None
        if due
        else managed_rectifications(request.user).filter(callback=callback).first(),
        "warning": workdays.warning_for(callback.due_on) if due else None,
    }
    return render(request, "incidents/callback_work.html", context, status=status)


def callback_work(request: HttpRequest, callback_id: int) -> HttpResponse:
    callback = access_callback(request.user, callback_id)
    return _work_page(request, callback)


@require_POST
def callback_number(request: HttpRequest, callback_id: int) -> HttpResponse:
    """The caller's number in full, for the one working the callback (audited): only while
    the callback is due."""
    callback = access_callback(request.user, callback_id, write=True)
    if callback.status != Callback.Status.DUE:
        raise Http404()
    revealed = unmask(request.user, callback.incident, ["caller_phone"], because="callback")
    number = revealed["caller_phone"]
    if getattr(request, "htmx", False):
        return render(request, "incidents/callback_number.html", {"number": number})
    return _work_page(request, callback, revealed=number)


@require_POST
def callback_attempt(request: HttpRequest, callback_id: int) -> HttpResponse:
    callback = access_callback(request.user, callback_id, write=True)
    form = AttemptForm(request.POST)
    if not form.is_valid():
        return _work_page(request, callback, attempt=form, status=400)
    data = form.cleaned_data
    try:
        actions.record_attempt(
            request.user,
            callback,
            outcome=data["outcome"],
            note=data["note"],
            version=data["version"],
        )
    except actions.StaleEdit:
        _stale(request)
        return redirect("incidents:callback", callback_id=callback.id)
    except actions.NotDue:
        messages.error(request, _("This callback is already closed."))
        return redirect("incidents:callback", callback_id=callback.id)
    if callback.status == Callback.Status.UNREACHABLE:
        messages.success(
            request,
            _("The attempt was recorded. The caller could not be reached: the callback is closed."),
        )
        return redirect("incidents:callbacks")
    messages.success(request, _("The attempt was recorded."))
    return redirect("incidents:callback", callback_id=callback.id)


@require_POST
def callback_answer(request: HttpRequest, callback_id: int) -> HttpResponse:
    callback = access_callback(request.user, callback_id, write=True)
    form = CallbackForm(request.POST)
    if not form.is_valid():
        return _work_page(request, callback, answers=form, status=400)
    data = form.cleaned_data
    try:
        rectification = actions.record_callback(
            request.user,
            callback,
            speed=data["speed"],
            attitude=data["attitude"],
            handling=data["handling"],
            suggestions=data["suggestions"],
            version=data["version"],
        )
    except actions.StaleEdit:
        _stale(request)
        return redirect("incidents:callback", callback_id=callback.id)
    except actions.NotDue:
        messages.error(request, _("This callback is already closed."))
        return redirect("incidents:callback", callback_id=callback.id)
    messages.success(request, _("The callback was recorded."))
    if rectification is not None:
        messages.warning(
            request,
            _("The caller is dissatisfied: a rectification was opened for the station chief."),
        )
    return redirect("incidents:callbacks")


# ---------------------------------------------------------------------------------------------
# Rectifications


def rectification_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.RECTIFICATIONS_MANAGE)
    today = timezone.localdate()
    status = choice_param(request.GET, "status", ["open", "overdue", "closed", "all"], "open")
    rows = managed_rectifications(request.user).select_related(
        "incident", "incident__category", "owner"
    )
    if status in ("open", "overdue"):
        rows = rows.filter(status=Rectification.Status.OPEN)
    if status == "overdue":
        rows = rows.filter(due_on__lt=today)
    if status == "closed":
        rows = rows.filter(status=Rectification.Status.CLOSED)
    page = Paginator(rows.order_by("status", "due_on", "id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/rectification_list.html",
        {"page": page, "status": status, "today": today},
    )


def _rectification_page(
    request: HttpRequest,
    rectification: Rectification,
    *,
    form: RectificationForm | None = None,
    close: CloseRectificationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    is_open = rectification.status == Rectification.Status.OPEN
    initial = {
        "version": rectification.version,
        "findings": rectification.findings,
        "actions_taken": rectification.actions_taken,
    }
    context = {
        "rectification": rectification,
        "incident": rectification.incident,
        "callback": rectification.callback,
        "is_open": is_open,
        "overdue": is_open and rectification.due_on < timezone.localdate(),
        "warning": workdays.warning_for(rectification.due_on) if is_open else None,
        "form": form or RectificationForm(initial=initial),
        "close": close or CloseRectificationForm(initial={"version": rectification.version}),
    }
    return render(request, "incidents/rectification_detail.html", context, status=status)


def rectification_detail(request: HttpRequest, rectification_id: int) -> HttpResponse:
    writing = request.method == "POST"
    rectification = access_rectification(request.user, rectification_id, write=writing)
    if not writing:
        return _rectification_page(request, rectification)
    form = RectificationForm(request.POST)
    if not form.is_valid():
        return _rectification_page(request, rectification, form=form, status=400)
    data = form.cleaned_data
    try:
        actions.update_rectification(
            request.user,
            rectification,
            findings=data["findings"].strip(),
            actions_taken=data["actions_taken"].strip(),
            version=data["version"],
        )
    except actions.StaleEdit:
        _stale(request)
    except actions.RectificationClosed:
        messages.error(request, _("This rectification is already closed."))
    else:
        messages.success(request, _("The changes were saved."))
    return redirect("incidents:rectification", rectification_id=rectification.id)


@require_POST
def rectification_close(request: HttpRequest, rectification_id: int) -> HttpResponse:
    rectification = access_rectification(request.user, rectification_id, write=True)
    form = CloseRectificationForm(request.POST)
    if not form.is_valid():
        return _rectification_page(request, rectification, close=form, status=400)
    data = form.cleaned_data
    try:
        actions.close_rectification(
            request.user,
            rectification,
            closing_rating=data["closing_rating"],
            closing_note=data["closing_note"].strip(),
            version=data["version"],
        )
    except actions.StaleEdit:
        _stale(request)
    except actions.RectificationClosed:
        messages.error(request, _("This rectification is already closed."))
    except actions.RectificationIncomplete:
        messages.error(
            request,
            _("Write the findings and the actions taken, and save them, before closing."),
        )
    else:
        messages.success(request, _("The rectification was closed."))
        return redirect("incidents:rectifications")
    return redirect("incidents:rectification", rectification_id=rectification.id)


# ---------------------------------------------------------------------------------------------
# A station's callback settings (the chief's)


def station_settings(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.STATION_CONFIGURE)
    station, stations = chosen_station(request, perm=Perm.STATION_CONFIGURE)
    if station is None:
        raise Http404()
    current = callback_settings_of(station)
    categories = categories_of(station.bureau_id).filter(officer_only=False)
    always = categories_of(station.bureau_id).filter(officer_only=True)
    initial = {
        "version": current.version,
        "sms_survey": current.sms_survey,
        "officer_only_categories": list(current.officer_only_categories.all())
        if current.pk
        else [],
    }
    form = StationCallbackSettingsForm(request.POST or None, initial=initial, categories=categories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_callback_settings(
                request.user,
                station,
                sms_survey=data["sms_survey"],
                officer_only_categories=data["officer_only_categories"],
                version=data["version"],
            )
        except actions.StaleEdit:
            form.add_error(
                None,
                _(
                    "Someone else changed these settings while you were editing. "
                    "Reload the page to see their changes, then edit again."
                ),
            )
        else:
            messages.success(request, _("The changes were saved."))
            return redirect(f"{request.path}?station={station.code}")
    return render(
        request,
        "incidents/station_settings.html",
        {"form": form, "station": station, "stations": stations, "always": always},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# The public survey: no login, works once, nothing of the incident beyond its date and kind

TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
MISSES_ALLOWED = 20  # unknown tokens from one address per window before it must wait
MISS_WINDOW = 600  # seconds


def _misses_key() -> str:
    return f"jingwang:survey-misses:{client_ip.get() or 'unknown'}"


def _too_many_misses() -> bool:
    return int(cache.get(_misses_key(), 0)) >= MISSES_ALLOWED


def _missed() -> None:
    key = _misses_key()
    if cache.add(key, 1, MISS_WINDOW):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, MISS_WINDOW)


SURVEY_GONE = {
    "unknown": (
        404,
        gettext_lazy("This link is not valid. Check that it was copied whole from the text."),
    ),
    "used": (410, gettext_lazy("This survey was already answered. Thank you.")),
    "answered": (410, gettext_lazy("Your answers were already taken by phone. Thank you.")),
    "expired": (410, gettext_lazy("This link has expired.")),
}


def _gone(request: HttpRequest, reason: str) -> HttpResponse:
    status, message = SURVEY_GONE[reason]
    return render(request, "incidents/survey_gone.html", {"message": message}, status=status)


def survey(request: HttpRequest, token: str) -> HttpResponse:
    if _too_many_misses():
        response = render(
            request,
            "incidents/survey_gone.html",
            {"message": _("Too many attempts from this connection. Try again in a few minutes.")},
            status=429,
        )
        response["Retry-After"] = str(MISS_WINDOW)
        return response
    try:
        if not TOKEN.fullmatch(token):
            raise actions.SurveyUnavailable("unknown")
        link = actions.survey_link(token)
    except actions.SurveyUnavailable as gone:
        if gone.reason == "unknown":
            _missed()
        return _gone(request, gone.reason)
    incident = link.callback.incident
    form = AnswersForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.answer_survey(
                token,
                speed=data["speed"],
                attitude=data["attitude"],
                handling=data["handling"],
                suggestions=data["suggestions"].strip(),
            )
        except actions.SurveyUnavailable as gone:
            return _gone(request, gone.reason)
        return render(request, "incidents/survey_thanks.html")
    context: dict[str, Any] = {
        "form": form,
        "day": timezone.localdate(incident.received_at),
        "kind": (incident.category.parent or incident.category).label,
        "expires_at": link.expires_at,
    }
    return render(request, "incidents/survey.html", context, status=400 if form.errors else 200)
