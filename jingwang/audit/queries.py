"""Reads of the audit log."""

from __future__ import annotations

from django.db import models
from django.db.models import Q, QuerySet

from jingwang.audit.models import AuditEvent


def timeline(obj: models.Model) -> QuerySet[AuditEvent]:
    """The events about ``obj`` or naming it as their subject (a callback's events on its
    incident), newest first. Indexed both ways. The caller has already let the reader see
    ``obj``; what of each event it shows is the caller's choice."""
    object_type, object_id = obj._meta.label_lower, str(obj.pk)
    return AuditEvent.objects.filter(
        Q(object_type=object_type, object_id=object_id)
        | Q(subject_type=object_type, subject_id=object_id)
    ).order_by("-seq")
