"""The outbox and opt-out pages (``sms.view``); the public opt-out page; the gateway's posts."""

from __future__ import annotations

import json
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.core.params import choice_param, text_param
from jingwang.core.personal import PHONE, PersonalFormField, validated
from jingwang.sms import actions, rules
from jingwang.sms.models import Message, OptOut
from jingwang.sms.queries import (
    access_message,
    message_of_token,
    messages_visible_to,
    opt_outs_visible_to,
    opted_out,
)
from jingwang.territory.views import chosen_station


def outbox(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.SMS_VIEW)
    station, stations = chosen_station(request, perm=Perm.SMS_VIEW)
    rows = messages_visible_to(request.user)
    rows = rows.filter(station=station) if station is not None else rows.none()
    counts = dict(rows.order_by().values_list("status").annotate(n=Count("id")))
    status = choice_param(request.GET, "status", Message.Status.values)
    if status:
        rows = rows.filter(status=status)
    purpose = text_param(request.GET, "purpose", max_length=40)
    if purpose:
        rows = rows.filter(purpose=purpose)
    page = Paginator(rows.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    context = {
        "station": station,
        "stations": stations,
        "page": page,
        "status": status,
        "purpose": purpose,
        "statuses": [
            (value, label, counts.get(value, 0)) for value, label in Message.Status.choices
        ],
        "total": sum(counts.values()),
        "backend": settings.SMS_BACKEND,
        "signature": settings.SMS_SIGNATURE,
    }
    return render(request, "sms/outbox.html", context)


class OptOutForm(forms.Form):
    phone = PersonalFormField(PHONE, label=gettext_lazy("Mobile phone"))


def opt_outs(request: HttpRequest) -> HttpResponse:
    """The opt-outs recorded at a station; its staff add a number (someone asked in person)."""
    require(request.user, Perm.SMS_VIEW)
    station, stations = chosen_station(request, perm=Perm.SMS_VIEW)
    form = OptOutForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and station is not None and form.is_valid():
        _row, created = actions.opt_out(
            form.cleaned_data["phone"],
            source=OptOut.Source.STAFF,
            station=station,
            actor=request.user,
        )
        if created:
            messages.success(request, _("The number will receive no more text messages."))
        else:
            messages.info(request, _("This number had already opted out."))
        return redirect(f"{reverse('sms:opt_outs')}?station={station.code}")
    rows = opt_outs_visible_to(request.user)
    rows = rows.filter(station=station) if station is not None else rows.none()
    page = Paginator(rows.order_by("-at", "-id"), 50).get_page(request.GET.get("page"))
    context = {"station": station, "stations": stations, "page": page, "form": form}
    return render(request, "sms/opt_outs.html", context, status=400 if form.errors else 200)


@require_POST
def message_opt_out(request: HttpRequest, message_id: int) -> HttpResponse:
    """Staff opt out the number of one text of the outbox."""
    message = access_message(request.user, message_id, write=True)
    _row, created = actions.opt_out(
        message.phone.plaintext,
        source=OptOut.Source.STAFF,
        station=message.station,
        message=message,
        actor=request.user,
    )
    if created:
        messages.success(request, _("The number will receive no more text messages."))
    else:
        messages.info(request, _("This number had already opted out."))
    return redirect(f"{reverse('sms:outbox')}?station={message.station.code}")


def opt_out_page(request: HttpRequest, token: str) -> HttpResponse:
    """The page a text's opt-out link opens, without a login. The token is signed: a number
    cannot be opted out by guessing. Opting out is a POST (a link preview does not opt out)."""
    message = message_of_token(token)
    if message is None:
        raise Http404()
    phone = message.phone.plaintext
    done = False
    if request.method == "POST":
        actions.opt_out(phone, source=OptOut.Source.PAGE, station=message.station, message=message)
        done = True
    context = {
        "station": message.station,
        "masked": message.phone.masked,
        "already": not done and opted_out(phone),
        "done": done,
    }
    return render(request, "sms/opt_out_page.html", context)


# ---------------------------------------------------------------------------------------------
# What the gateway posts back: delivery reports and replies, signed with the shared secret.

MAX_ITEMS = 1000
MAX_BODY = 1024 * 1024


def _error(status: int, message: str, field: str = "") -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def _signed_items(request: HttpRequest, key: str) -> list[dict[str, Any]] | JsonResponse:
    """The items of a signed post (``{key: [...]}`` or one item), or the error answer."""
    if request.method != "POST":
        response = _error(405, _("Only POST is accepted here."))
        response["Allow"] = "POST"
        return response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(413, _("The body is too large."))
    body = request.body
    problem = rules.signature_problem(
        settings.SMS_REPORT_SECRET,
        request.headers.get("X-Timestamp", ""),
        request.headers.get("X-Signature", ""),
        body,
        time.time(),
    )
    if problem == "unconfigured":
        return _error(403, _("This server takes no posts from an SMS gateway."))
    if problem is not None:
        return _error(401, _("The signature or its timestamp is not valid."), "X-Signature")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, _("The body is not JSON."))
    items = data.get(key, data) if isinstance(data, dict) else data
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not items:
        return _error(422, _("Send an object, or a list of them under %(key)s.") % {"key": key})
    if len(items) > MAX_ITEMS:
        return _error(422, _("At most %(n)d items at once.") % {"n": MAX_ITEMS}, key)
    return items


def _text(item: dict[str, Any], *names: str, max_length: int = 64) -> str | None:
    for name in names:
        value = item.get(name)
        if isinstance(value, bool):
            return None
        if isinstance(value, (str, int)) and str(value).strip():
            text = str(value).strip()
            return text if len(text) <= max_length and "\x00" not in text else None
    return None


@csrf_exempt
def gateway_reports(request: HttpRequest) -> HttpResponse:
    items = _signed_items(request, "reports")
    if isinstance(items, JsonResponse):
        return items
    checked = []
    for number, item in enumerate(items):
        gateway_id = (
            _text(item, "message_id", "messageId", "msgId", "msg_id", "id")
            if isinstance(item, dict)
            else None
        )
        state = (
            _text(item, "status", "state", "stat", max_length=40)
            if isinstance(item, dict)
            else None
        )
        if gateway_id is None or state is None:
            return _error(
                422, _("Item %(n)d needs a message id and a status.") % {"n": number + 1}, "reports"
            )
        error = _text(item, "error", "message", "desc", max_length=200) or ""
        checked.append((gateway_id, state, error))
    unknown = []
    for gateway_id, state, error in checked:
        if actions.apply_report(gateway_id, state, error) is None:
            unknown.append(gateway_id)
    return JsonResponse({"accepted": len(checked) - len(unknown), "unknown": unknown})


@csrf_exempt
def gateway_replies(request: HttpRequest) -> HttpResponse:
    items = _signed_items(request, "replies")
    if isinstance(items, JsonResponse):
        return items
    checked = []
    for number, item in enumerate(items):
        phone = (
            _text(item, "mobile", "phone", "from", max_length=20)
            if isinstance(item, dict)
            else None
        )
        text = _text(item, "content", "text", max_length=500) if isinstance(item, dict) else None
        if phone is None or text is None:
            return _error(
                422,
                _("Item %(n)d needs a mobile number and a text.") % {"n": number + 1},
                "replies",
            )
        try:
            phone = validated(PHONE, phone)
        except ValueError as exc:
            message = _("Item %(n)d: %(problem)s") % {"n": number + 1, "problem": exc}
            return _error(422, message, "replies")
        gateway_id = _text(item, "id", "message_id", "msgId", "msg_id") or ""
        checked.append((phone, text, gateway_id))
    opted = 0
    for phone, text, gateway_id in checked:
        opted += actions.receive_reply(phone, text, gateway_id).opted_out
    return JsonResponse({"accepted": len(checked), "opted_out": opted})
