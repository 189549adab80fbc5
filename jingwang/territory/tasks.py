"""Territory's periodic job: the complexity of base units from their records, every night.

Runs at 18:30 UTC (02:30 in China), when nobody divides. Idempotent: running it twice scores the
same records twice. By hand: ``jingwang complexity [--station CODE]``.
"""

from __future__ import annotations

from typing import Any

from jingwang.core.jobs import crontab, db_periodic_task


@db_periodic_task(crontab(minute="30", hour="18"))
def recompute_complexity_nightly() -> dict[str, Any]:
    from jingwang.territory.complexity import recompute

    return recompute(None)
