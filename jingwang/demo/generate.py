"""The deterministic demo jurisdiction: 三台县公安局 with 潼川派出所 and two smaller stations.

Each app brings its own demo data (``jingwang.demo.registry``): territory the bureau, stations,
communities, base units and grids (``jingwang.territory.demo``); people the officers, grid workers
and the rest, their assignments and committee posts (``jingwang.people.demo``); accounts one login
per role (``jingwang.accounts.demo``). ``generate(seed)`` runs the registered generators in order
and returns plain data; ``jingwang.demo.load`` writes it to the database.

The same seed gives the same output, byte for byte (``Demo.digest()``). Every generator draws
from its own seeded streams (``Context.random``), so adding an app's demo data, or more of it,
changes nothing another app generates; and the stations draw from streams of their own, so
``generate(stations=["LX"])`` gives the same Luxi as the whole demo.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jingwang.demo import registry

DEFAULT_SEED = 2026

_T = TypeVar("_T")


def typed(parts: dict[str, Any], app: str, kind: type[_T]) -> _T:
    """``parts[app]``, checked to be a ``kind``."""
    part = parts.get(app)
    if not isinstance(part, kind):
        raise LookupError(f"the demo has no {kind.__name__} from {app!r}")
    return part


@dataclass
class Context:
    """What a generator gets: the seed, the stations asked for, and the parts made before it."""

    seed: int
    stations: frozenset[str] | None  # station codes asked for; None: all of them
    parts: dict[str, Any] = field(default_factory=dict)

    def random(self, *stream: object) -> random.Random:
        """A random stream of its own: ``ctx.random(station_code, "incidents")`` draws from
        ``"{seed}:{station_code}:incidents"`` and from nothing any other generator uses."""
        return random.Random(":".join(str(part) for part in (self.seed, *stream)))

    def part(self, app: str, kind: type[_T]) -> _T:
        """The demo data ``app`` generated (``app`` must come before this generator)."""
        return typed(self.parts, app, kind)

    def wants(self, station_code: str) -> bool:
        return self.stations is None or station_code in self.stations


@dataclass
class Demo:
    seed: int
    parts: dict[str, Any]  # app label → its part, in the order they were generated

    def part(self, app: str, kind: type[_T]) -> _T:
        return typed(self.parts, app, kind)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for part in self.parts.values():
            counts.update(part.counts())
        return counts

    def digest(self) -> str:
        """SHA-256 over every part's fingerprint: equal digests, equal demos."""
        h = hashlib.sha256()
        h.update(f"{self.seed}\n".encode())
        for app, part in self.parts.items():
            h.update(f"\x1e{app}\n".encode())
            for line in part.fingerprint():
                h.update(("\x1f".join(str(p) for p in line) + "\n").encode())
        return h.hexdigest()


def generate(seed: int = DEFAULT_SEED, stations: Iterable[str] | None = None) -> Demo:
    """The demo for ``seed``: all stations, or only those whose codes are given.

    The apps register their generators when Django starts (``django.setup()``)."""
    apps = registry.ordered()
    if not apps:
        raise LookupError("no demo generator is registered: call django.setup() first")
    ctx = Context(seed, frozenset(stations) if stations is not None else None)
    for app in apps:
        ctx.parts[app.app] = app.generate(ctx)
    return Demo(seed, ctx.parts)
