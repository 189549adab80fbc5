"""``Idempotency-Key`` for API creates: a retried request never makes a duplicate.

The first request with a key runs and its answer is stored in the same transaction as what it
created; a retry with the same key and body gets the stored answer; the same key with another
body is refused (422). Two identical requests racing each other meet at the unique constraint
(PostgreSQL) or at the write lock (SQLite): the second waits for the first to commit, then
returns its answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from ninja import Status
from ninja.errors import HttpError

from jingwang.accounts.models import IdempotentRequest
from jingwang.accounts.types import AuthedRequest

HEADER = "Idempotency-Key"


def _stored(request: AuthedRequest, key: str, digest: str) -> Status | None:
    found = IdempotentRequest.objects.filter(user=request.user, key=key).first()
    if found is None:
        return None
    if found.digest != digest or found.path != request.path:
        raise HttpError(
            422, _("This Idempotency-Key was already used for a different request: use a new key.")
        )
    return Status(found.status, found.response)


def idempotent(request: AuthedRequest, create: Callable[[], Status]) -> Status:
    """Run ``create`` once per Idempotency-Key (a call, not a decorator: ninja reads the
    handler's own signature)."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return create()
    if len(key) > 200:
        raise HttpError(422, _("The Idempotency-Key may have at most 200 characters."))
    digest = hashlib.sha256(request.body).hexdigest()
    stored = _stored(request, key, digest)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            # Again inside the transaction: a request with this key may have committed while
            # this one waited for the database (SQLite queues writers at BEGIN).
            stored = _stored(request, key, digest)
            if stored is not None:
                return stored
            result = create()
            body = json.loads(json.dumps(result.value, cls=DjangoJSONEncoder))
            IdempotentRequest.objects.create(
                user=request.user,
                key=key,
                path=request.path,
                digest=digest,
                status=result.status_code,
                response=body,
            )
    except IntegrityError:
        stored = _stored(request, key, digest)
        if stored is None:
            raise
        return stored
    return result
