"""The home page's panels: each app registers its own from its ``AppConfig.ready()``.

    from jingwang.core import home

    home.register(home.Panel(
        name="rectifications", perm=Perm.RECTIFICATIONS_MANAGE,
        template="incidents/rectification_home_panel.html",
        context=lambda user: {...} or None,   # None hides the panel
        order=20,
    ))

``accounts.views.home`` shows, in ``order`` (then by name), every panel whose permission the
user holds (every signed-in user when it has none) and whose ``context(user)`` is not None.
The template is included with the home page's context plus ``panel`` (that dict). A panel reads
only through its app's doors (``*_visible_to``), so it shows only what the user may see; keep
it to a few queries, the home page is everyone's first page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    name: str  # unique: "rectifications"
    perm: str | None  # the permission that shows it; None: every signed-in user
    template: str
    context: Callable[[Any], dict[str, Any] | None]
    order: int = 50


@dataclass(frozen=True)
class Shown:
    name: str
    template: str
    context: dict[str, Any]


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    """Add a panel (again with the same values: no change)."""
    if _panels.get(panel.name, panel) != panel:
        raise ValueError(f"a home panel named {panel.name!r} is already registered")
    _panels[panel.name] = panel


def panels() -> list[Panel]:
    """Every registered panel, in page order."""
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.name))


def shown_to(user: Any) -> list[Shown]:
    """The panels ``user`` sees, with their contexts, in page order."""
    from jingwang.accounts.roles import has_perm

    shown = []
    for panel in panels():
        if panel.perm is not None and not has_perm(user, panel.perm):
            continue
        context = panel.context(user)
        if context is not None:
            shown.append(Shown(panel.name, panel.template, context))
    return shown
