"""The audit's periodic job: seal the chain (``jingwang audit seal``) every few minutes."""

from __future__ import annotations

import logging

from django.conf import settings

from jingwang.audit.actions import ChainBroken, seal
from jingwang.core.jobs import db_periodic_task, every

logger = logging.getLogger("jingwang.audit")


@db_periodic_task(every(settings.AUDIT_SEAL_MINUTES))
def seal_chain() -> int | None:
    """Append a checkpoint when events came since the last one (idempotent); a broken chain is
    logged as an error and left unsealed."""
    try:
        checkpoint = seal()
    except ChainBroken as exc:
        logger.error("audit chain not sealed: %s", exc)
        raise
    return None if checkpoint is None else checkpoint.seq
