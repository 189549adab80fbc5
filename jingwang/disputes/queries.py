"""Reads of disputes and their mediation, within the user's scope (placeholder: see helpers)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jingwang.accounts import scope
from jingwang.accounts.roles import GRID_ROLES, Perm
from jingwang.disputes.models import Call, Dispute, Party


def disputes_visible_to(user: Any) -> QuerySet[Dispute]:
    """Station roles see their station's disputes; grid workers those of their grids (and the
    ones they registered that are not placed yet); anyone called to a dispute as a member of a
    mediation body sees it (the third dimension: outside members see only these)."""
    called = Call.objects.filter(
        member__person__user_id=getattr(user, "pk", None), member__is_active=True
    ).values("dispute_id")
    also = Q(pk__in=called)
    if getattr(user, "role", None) in GRID_ROLES:
        also |= Q(registered_by_id=user.pk, station_id__in=scope.station_ids(user))
    return scope.visible(
        user, Dispute.objects.all(), perm=Perm.DISPUTES_VIEW, grid="grid_id", also=also
    )


def parties_visible_to(user: Any) -> QuerySet[Party]:
    return Party.objects.filter(dispute__in=disputes_visible_to(user))
