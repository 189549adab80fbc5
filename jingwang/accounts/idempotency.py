"""``Idempotency-Key`` for API creates: a retried request never makes a duplicate.

The first request with a key claims it (inserts its row) at the start of its transaction, runs,
and stores its answer in the row before it commits, with what it created; a retry with the same
key and body gets the stored answer; the same key with another body is refused (422). Two
identical requests racing each other meet at the claim: the unique constraint (PostgreSQL) or
the write lock (SQLite) holds the second until the first ends, and it then returns the first's
answer (or runs, if the first failed and stored nothing). One statement before the create and
one after it: the request path's cost on every API create (bench/intake.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.db.models import Field
from django.utils import timezone
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


_TABLE = IdempotentRequest._meta
_BY_NAME: dict[str, Field[Any, Any]] = {f.name: f for f in _TABLE.concrete_fields}
_CLAIM_FIELDS = [_BY_NAME[name] for name in ("user", "key", "path", "digest", "status")]
_RESPONSE = _BY_NAME["response"]
_CREATED = _BY_NAME["created_at"]


def _claim(connection: Any, request: AuthedRequest, key: str, digest: str) -> int | None:
    """Insert the key's row, its answer to come: the row's id, or None when the key is taken.

    While another request holds the same key uncommitted, this waits for it to end (the
    unique constraint): then the key is taken (it committed) or free (it rolled back)."""
    quote = connection.ops.quote_name
    columns = [f.column for f in _CLAIM_FIELDS] + [_RESPONSE.column, _CREATED.column]
    values = [request.user.pk, key, request.path, digest, 0]
    params = [f.get_db_prep_save(v, connection) for f, v in zip(_CLAIM_FIELDS, values, strict=True)]
    params += [
        _RESPONSE.get_db_prep_save({}, connection),
        _CREATED.get_db_prep_save(timezone.now(), connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(_TABLE.db_table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({quote(_CLAIM_FIELDS[0].column)}, {quote(_CLAIM_FIELDS[1].column)}) "
            f"DO NOTHING RETURNING {quote(_TABLE.pk.column)}",
            params,
        )
        found = cursor.fetchone()
    return None if found is None else int(found[0])


def _answer(connection: Any, row: int, result: Status) -> None:
    """Store the answer in the claimed row, in the transaction of what it created."""
    quote = connection.ops.quote_name
    body = json.loads(json.dumps(result.value, cls=DjangoJSONEncoder))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(_TABLE.db_table)} SET {quote(_CLAIM_FIELDS[4].column)} = %s, "
            f"{quote(_RESPONSE.column)} = %s WHERE {quote(_TABLE.pk.column)} = %s",
            [result.status_code, _RESPONSE.get_db_prep_save(body, connection), row],
        )


def idempotent(request: AuthedRequest, create: Callable[[], Status]) -> Status:
    """Run ``create`` once per Idempotency-Key (a call, not a decorator: ninja reads the
    handler's own signature).

    The key is claimed first, in the transaction of the create: a second request with the
    same key waits at the claim until the first ends, then answers with the first's answer,
    and never runs ``create`` beside it (which could refuse it as a duplicate)."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return create()
    if len(key) > 200:
        raise HttpError(422, _("The Idempotency-Key may have at most 200 characters."))
    digest = hashlib.sha256(request.body).hexdigest()
    connection = connections[router.db_for_write(IdempotentRequest)]
    for _attempt in range(3):
        with transaction.atomic(using=connection.alias):
            row = _claim(connection, request, key, digest)
            if row is not None:
                result = create()
                _answer(connection, row, result)
                return result
        stored = _stored(request, key, digest)
        if stored is not None:
            return stored
        # Taken, yet gone when read: removed meanwhile (an expired key). Claim it again.
    raise RuntimeError(f"Idempotency-Key {key!r}: taken but never found")
