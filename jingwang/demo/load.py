"""Write the generated demo to the database, once.

``load()`` does nothing when the demo bureau (code ``ST``, territory's ``BUREAU_CODE``) is already
there: running ``demo`` again keeps whatever the previous run, and anyone since, put in. Otherwise
every registered app writes its part (``jingwang.demo.registry``), in order, in one transaction:
a failed load leaves nothing behind. Before anything is written, each app names what the
database already holds that its part would collide with; any such name stops the load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction

from jingwang.audit.actions import record
from jingwang.demo import registry
from jingwang.demo.generate import DEFAULT_SEED, Demo, generate, typed
from jingwang.territory.demo import BUREAU_CODE

_T = TypeVar("_T")


class DemoConflict(Exception):
    """The database holds stations or accounts the demo would collide with (not the demo)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass
class Loading:
    """What the parts written so far left for the next: each app's rows, by app label."""

    written: dict[str, Any] = field(default_factory=dict)

    def get(self, app: str, kind: type[_T]) -> _T:
        return typed(self.written, app, kind)


@dataclass
class Loaded:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rows: dict[str, Any] = field(default_factory=dict)  # what each app's loader returned


def is_loaded() -> bool:
    from jingwang.territory.models import Bureau

    return Bureau.objects.filter(code=BUREAU_CODE).exists()


def load(
    demo: Demo | None = None, *, seed: int = DEFAULT_SEED, stations: list[str] | None = None
) -> Loaded:
    """Load the demo unless its bureau exists. Returns what was created and how long it took."""
    started = time.perf_counter()
    if is_loaded():
        return Loaded(created=False)
    if demo is None:
        demo = generate(seed, stations)
    apps = [app for app in registry.ordered() if app.app in demo.parts]
    with transaction.atomic():
        # Again inside the transaction: of two loads at once, the second finds the first's
        # bureau (or, on PostgreSQL, stops at its unique code) and writes nothing.
        if is_loaded():
            return Loaded(created=False)
        taken = [
            name
            for app in apps
            if app.conflicts is not None
            for name in app.conflicts(demo.parts[app.app])
        ]
        if taken:
            raise DemoConflict(taken)
        loading = Loading()
        for app in apps:
            loading.written[app.app] = app.load(demo.parts[app.app], loading)
        counts = demo.counts()
        record(None, "load_demo", detail={"seed": demo.seed, **counts})
    return Loaded(True, counts, time.perf_counter() - started, loading.written)
