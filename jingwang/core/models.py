"""Tables of the shared pieces."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class KeyFingerprint(models.Model):
    """A public fingerprint of a key the data in this database was written with, so a server
    started with another key says so instead of failing on every page (never the key itself)."""

    name = models.CharField(max_length=32, unique=True)
    fingerprint = models.CharField(max_length=64)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} {self.fingerprint}"
