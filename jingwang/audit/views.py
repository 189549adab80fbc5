from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.audit import vocabulary
from jingwang.audit.actions import verify
from jingwang.audit.models import AuditEvent


def _date(value: str) -> date | None:
    try:
        return parse_date(value) if value else None
    except ValueError:  # a well-formed but impossible date such as 2026-02-30
        return None


def events(request: HttpRequest) -> HttpResponse:
    """The audit log, for the auditor only, with filters."""
    require(request.user, Perm.AUDIT_VIEW)
    rows = AuditEvent.objects.all()
    filters = {
        key: request.GET.get(key, "").strip()
        for key in ("who", "action", "outcome", "start", "end")
    }
    if filters["who"]:
        rows = rows.filter(actor_name__icontains=filters["who"])
    if filters["action"]:
        rows = rows.filter(action=filters["action"])
    if filters["outcome"] in AuditEvent.Outcome.values:
        rows = rows.filter(outcome=filters["outcome"])
    start, end = _date(filters["start"]), _date(filters["end"])
    zone = timezone.get_current_timezone()
    if start:
        rows = rows.filter(at__gte=datetime.combine(start, time.min, zone))
    if end:
        rows = rows.filter(at__lte=datetime.combine(end, time.max, zone))
    page = Paginator(rows.order_by("-seq"), 100).get_page(request.GET.get("page"))
    # The actions to filter by come from the vocabulary, in the reader's language (not from a
    # DISTINCT over the whole log).
    actions = sorted(
        ((code, str(label)) for code, label in vocabulary.registered().items()),
        key=lambda pair: pair[1],
    )
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "actions": actions,
        "outcomes": AuditEvent.Outcome.choices,
    }
    if request.GET.get("verify"):
        context["verified"] = verify()
    return render(request, "audit/list.html", context)
