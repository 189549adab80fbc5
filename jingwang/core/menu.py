"""The main menu: each app registers its entries from its ``AppConfig.ready()``.

    from django.utils.translation import gettext_lazy as _
    from jingwang.core import menu

    menu.register(_("Incidents"), "incidents:list", Perm.INCIDENTS_VIEW, order=45, app="incidents")

An entry shows for a user who holds its permission (every signed-in user when it has none),
in ``order``, then by URL name; the context processor ``jingwang.accounts.context.navigation``
puts them on every page. Orders in use (leave gaps between apps):

    0 Home · 10 Map · 20 Grids · 30 Coverage · 40 People · 45 Incidents · 46 Callbacks ·
    47 Rectifications · 48 Incident figures · 50 Division · 55 Disputes · 56 Mediation bodies ·
    57 Dispute figures · 60 Import · 70 Text messages ·
    80 Audit log · 85 Bureaus and stations · 87 Settings · 88 Incident categories ·
    89 Choice lists · 90 Accounts · 95 Account requests
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Entry:
    label: str | Promise  # translated lazily: gettext_lazy
    url_name: str  # a URL name without arguments: "territory:map"
    perm: str | None  # the permission that shows it; None: every signed-in user
    order: int
    app: str  # the app label that registered it


_entries: dict[str, Entry] = {}


def register(
    label: str | Promise, url_name: str, perm: str | None = None, *, order: int, app: str
) -> None:
    """Add an entry to the menu (again with the same values: no change)."""
    entry = Entry(label, url_name, perm, order, app)
    if _entries.get(url_name, entry) != entry:
        raise ValueError(f"a menu entry for {url_name!r} is already registered")
    _entries[url_name] = entry


def entries() -> list[Entry]:
    """Every registered entry, in menu order."""
    return sorted(_entries.values(), key=lambda entry: (entry.order, entry.url_name))
