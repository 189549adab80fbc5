from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from jingwang.accounts.roles import has_perm
from jingwang.core import menu


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The main menu: the entries the apps registered (``jingwang.core.menu``) that the user's
    permissions allow, in order."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    items = []
    for entry in menu.entries():
        if entry.perm is None or has_perm(user, entry.perm):
            url = reverse(entry.url_name)
            items.append({"label": entry.label, "url": url, "active": request.path == url})
    return {"nav": items}
