"""The demo's registry: each app registers the generator of its own demo data.

An app registers from its ``AppConfig.ready()``::

    from jingwang.demo import registry
    from jingwang.incidents import demo

    registry.register("incidents", demo.generate, demo.load, after=("people", "accounts"))

``generate(ctx)`` is Django-free: it draws only from its own seeded streams
(``ctx.random(...)``), reads what the apps it comes ``after`` made (``ctx.part(app, Type)``) and
returns its part of the demo, an object with ``counts()`` and ``fingerprint()`` (see ``Part``).
``load(part, loading)`` writes that part inside the demo's one transaction and returns what later
parts link to (rows or ids by code); ``loading.get(app, Type)`` gives what an earlier part wrote.
``conflicts(part)``, if given, names what the database already holds that the part would
collide with (a station code, a username), so the loader refuses before writing anything.

Generators run, and load, in dependency order; apps that do not depend on each other keep the
order of their names, so the order does not depend on INSTALLED_APPS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from jingwang.demo.generate import Context
    from jingwang.demo.load import Loading


class Part(Protocol):
    """One app's demo data."""

    def counts(self) -> dict[str, int]:
        """Rows per kind (``{"people": 279, ...}``), for the command and the audit event."""
        ...

    def fingerprint(self) -> Iterable[Sequence[object]]:
        """Every code, name, figure and shape, line by line: equal fingerprints, equal data."""
        ...


@dataclass(frozen=True)
class DemoApp:
    app: str
    generate: Callable[[Context], Any]
    load: Callable[[Any, Loading], Any]
    after: tuple[str, ...] = ()
    conflicts: Callable[[Any], list[str]] | None = None


_apps: dict[str, DemoApp] = {}


def register(
    app: str,
    generate: Callable[[Context], Any],
    load: Callable[[Any, Loading], Any],
    *,
    after: Sequence[str] = (),
    conflicts: Callable[[Any], list[str]] | None = None,
) -> None:
    """Register ``app``'s demo generator and loader (again with the same ones: no change)."""
    entry = DemoApp(app, generate, load, tuple(after), conflicts)
    if _apps.get(app, entry) != entry:
        raise ValueError(f"a demo generator is already registered for {app!r}")
    _apps[app] = entry


def ordered() -> list[DemoApp]:
    """The registered generators, each after the ones it depends on."""
    done: list[DemoApp] = []
    placed: set[str] = set()
    waiting = sorted(_apps)
    while waiting:
        ready = [name for name in waiting if set(_apps[name].after) <= placed]
        if not ready:
            missing = {d for name in waiting for d in _apps[name].after if d not in _apps}
            raise LookupError(
                "demo generators wait for "
                + (f"unregistered apps: {', '.join(sorted(missing))}" if missing else "each other")
                + f" ({', '.join(waiting)})"
            )
        name = ready[0]
        done.append(_apps[name])
        placed.add(name)
        waiting.remove(name)
    return done
