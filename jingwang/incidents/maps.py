"""The incidents' point layer on the map (``territory.maps.register_points``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.roles import Perm


def describe(row: Any) -> dict[str, Any]:
    """What a point shows: its number, its category, its status, and its page."""
    return {
        "label": row.number,
        "kind": row.category.label,
        "status": row.get_status_display(),
        "url": reverse("incidents:detail", args=[row.id]),
    }


def only_open(rows: Any, params: Any) -> Any:
    """``?incidents=open`` on the map: the incidents not closed yet."""
    if params.get("incidents") == "open":
        return rows.exclude(status="closed")
    return rows


def register() -> None:
    """Called from ``IncidentsConfig.ready_record``."""
    from jingwang.incidents.queries import incidents_visible_to
    from jingwang.territory import maps

    register_points = getattr(maps, "register_points", None)
    if register_points is None:  # the map's point layers are not in this tree yet
        return
    register_points(
        maps.PointLayer(
            name="incidents",
            label=_("Incidents"),
            perm=Perm.INCIDENTS_VIEW,
            rows=incidents_visible_to,
            describe=describe,
            select_related=("category",),
            filter=only_open,
            create_url="incidents:new",
            create_perm=Perm.INCIDENTS_RECORD,
        )
    )
