from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.roles import Perm, has_perm

# (label, url name, permission needed or None)
NAVIGATION = [
    (_("Home"), "home", None),
    (_("Map"), "territory:map", Perm.TERRITORY_VIEW),
    (_("Grids"), "territory:grids", Perm.TERRITORY_VIEW),
    (_("Coverage"), "people:coverage", Perm.TERRITORY_VIEW),
    (_("People"), "people:list", Perm.PEOPLE_VIEW),
    (_("Division"), "territory:divisions", Perm.TERRITORY_DIVIDE),
    (_("Import"), "territory:import", Perm.TERRITORY_IMPORT),
    (_("Audit log"), "audit:list", Perm.AUDIT_VIEW),
    (_("Accounts"), "accounts:users", Perm.ACCOUNTS_MANAGE),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    items = []
    for label, name, perm in NAVIGATION:
        if perm is None or has_perm(user, perm):
            url = reverse(name)
            items.append({"label": label, "url": url, "active": request.path == url})
    return {"nav": items}
