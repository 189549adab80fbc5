from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run the job consumer (huey: workers and the periodic scheduler) in the foreground, for "
        "deployments that serve with several processes (`jingwang serve --no-jobs`). Ctrl+C or "
        "SIGINT stops it after the running tasks; SIGTERM at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.HUEY["immediate"]:
            raise CommandError("JINGWANG_JOBS_IMMEDIATE is set: tasks run where they are called")
        from django.utils.module_loading import autodiscover_modules

        from jingwang.core.jobs import HUEY

        autodiscover_modules("tasks")
        logger = logging.getLogger("huey")
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())
            logger.setLevel(logging.INFO)
        HUEY.create_consumer(**settings.HUEY.get("consumer", {})).run()
