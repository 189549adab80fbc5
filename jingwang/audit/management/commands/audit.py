from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from jingwang.audit.actions import Break, ChainBroken, seal, verify


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(broken: Break) -> str:
    if broken.reason == "seal_mac":
        return (
            f"audit seal file {settings.AUDIT_SEAL_FILE} altered at line {broken.line}: "
            f"{broken.explanation}"
        )
    return f"audit chain broken at event {broken.seq}: {broken.explanation}"


class Command(BaseCommand):
    help = (
        "Audit log tools. `audit verify` checks the keyed chain, its head and the sealed "
        "checkpoints, and names the first bad event (exit status 1 when broken). `audit seal` "
        "appends a checkpoint of the newest event to the seal file (JINGWANG_AUDIT_SEAL_FILE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["verify", "seal"])

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override("en"):
            if options["verb"] == "seal":
                self.seal()
            else:
                self.verify()

    def seal(self) -> None:
        try:
            checkpoint = seal()
        except ChainBroken as exc:
            raise CommandError(f"not sealed: {describe(exc.broken)}") from exc
        if checkpoint is None:
            self.stdout.write("nothing new to seal since the last checkpoint")
        else:
            self.stdout.write(
                f"sealed event {checkpoint.seq} ({checkpoint.hash[:16]}…) "
                f"in {settings.AUDIT_SEAL_FILE}"
            )

    def verify(self) -> None:
        result = verify()
        if result.broken is not None:
            raise CommandError(
                f"{describe(result.broken)}; {count(result.checked, 'event')} before it intact"
            )
        lines = [f"audit chain intact: {count(result.checked, 'event')} checked"]
        if result.legacy:
            lines.append(
                f"{result.legacy} of them predate the audit key (plain SHA-256) and are fixed by "
                "the first keyed event after them"
            )
        if result.last_sealed is None:
            lines.append(
                "no sealed checkpoint yet: `jingwang audit seal` makes one (the jobs consumer does "
                "it periodically)"
            )
        else:
            lines.append(
                f"{count(result.checkpoints, 'sealed checkpoint')} matched (the newest at event "
                f"{result.last_sealed})"
            )
        self.stdout.write("; ".join(lines))
