"""Personal data on a model: one helper for every app (people today; callers, parties,
volunteers and contact lists next).

    class Person(models.Model):
        pii_uid = personal_uid()
        id_number = PersonalData(ID_NUMBER, _("ID number"))
        phone = PersonalData(PHONE, _("mobile phone"))

Each ``PersonalData`` adds two columns, ``<name>_encrypted`` (AES-GCM, bound to the row's
``pii_uid`` and the field's name, so a ciphertext copied into another row or field does not
open) and ``<name>_hash`` (a keyed hash for exact lookup, e.g. one ID number per station).
Reading ``person.id_number`` gives a ``Personal`` value: shown anywhere it prints masked
(``510722********1234``, ``138****5678``); its plaintext is for code that must use it (sending
an SMS), never for display. Showing a value in full goes through one door, ``unmask()``, which
checks the permission and the reader's scope and writes the audit event.

Validation (GB 11643 ID numbers, mobile numbers) and its translated messages are here too, for
forms (``PersonalFormField``), API schemas (``validated``) and imports alike.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from jingwang.lib import pii

ID_NUMBER = "id_number"
PHONE = "phone"
ADDRESS = "address"
KINDS = (ID_NUMBER, PHONE, ADDRESS)

MASKS: dict[str, Callable[[str], str]] = {
    ID_NUMBER: pii.mask_id_number,
    PHONE: pii.mask_phone,
    ADDRESS: pii.mask_text,
}
NORMALISE: dict[str, Callable[[str], str]] = {
    ID_NUMBER: pii.normalise_id_number,
    PHONE: pii.normalise_phone,
    ADDRESS: str.strip,
}

# One message per problem, for pages, the API and imports alike.
MESSAGES = {
    (ID_NUMBER, "format"): _("An ID number has 17 digits followed by a digit or X."),
    (ID_NUMBER, "birth_date"): _("The birth date inside this ID number does not exist."),
    (ID_NUMBER, "check_digit"): _(
        "The check digit of this ID number is wrong (GB 11643): check for a typo."
    ),
    (PHONE, "format"): _("A mobile number has 11 digits and starts with 1."),
    (ADDRESS, "format"): _("An address is text without control characters."),
    (ADDRESS, "too_long"): _("An address has at most 200 characters."),
}


def problem(kind: str, value: str) -> str | None:
    """The problem code of a (normalised) value, or None when it is valid."""
    if kind == ID_NUMBER:
        return pii.id_number_error(value)
    if kind == PHONE:
        return pii.phone_error(value)
    if kind == ADDRESS:
        if len(value) > 200:
            return "too_long"
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            return "format"
    return None


def validated(kind: str, value: str, *, ascii_only: bool = False) -> str:
    """The normalised value, or ValueError with the translated message (for API schemas).

    Pages take full-width digits as typed on a Chinese keyboard (normalised to ASCII); an API
    client must send what its schema says (``ascii_only``).
    """
    if ascii_only and not (value or "").isascii():
        raise ValueError(str(MESSAGES[(kind, "format")]))
    value = NORMALISE[kind](value or "")
    code = problem(kind, value) if value else None
    if code:
        raise ValueError(str(MESSAGES[(kind, code)]))
    return value


def personal_uid() -> models.UUIDField:
    """The column a row's personal data is bound to (set once, never changed)."""
    return models.UUIDField(default=uuid.uuid4, unique=True, editable=False)


class PersonalDataKeyError(Exception):
    """Personal data in the database does not open with this server's key."""


class Personal:
    """A personal value as read from a row: prints masked; ``plaintext`` for code only."""

    __slots__ = ("_kind", "_token", "_context", "_plain")

    def __init__(self, kind: str, token: str, context: bytes) -> None:
        self._kind, self._token, self._context = kind, token, context
        self._plain: str | None = None

    @property
    def plaintext(self) -> str:
        if self._plain is None:
            try:
                self._plain = pii.decrypt(self._token, self._context)
            except pii.WrongKey as exc:
                raise PersonalDataKeyError(str(exc)) from exc
        return self._plain

    @property
    def masked(self) -> str:
        return MASKS[self._kind](self.plaintext) if self._token else ""

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"<Personal {self._kind} {self.masked!r}>"

    def __bool__(self) -> bool:
        return bool(self._token)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Personal):
            return self.plaintext == other.plaintext
        if isinstance(other, str):
            return self.plaintext == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.plaintext)


# Model → its personal-data attributes by name.
_fields: dict[type[models.Model], dict[str, PersonalData]] = {}


def personal_fields(model: type[models.Model]) -> dict[str, PersonalData]:
    """The personal-data attributes of a model, by name."""
    return dict(_fields.get(model, {}))


class PersonalData:
    """A personal-data attribute of a model (see the module's docstring).

    The model declares the two columns' types for the type checker, under TYPE_CHECKING::

        if TYPE_CHECKING:
            id_number_encrypted: str
            id_number_hash: str
    """

    def __init__(
        self, kind: str, verbose_name: Any = "", *, unmask_perm: str = "pii.unmask"
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind of personal data: {kind}")
        self.kind = kind
        self.verbose_name = verbose_name
        self.unmask_perm = unmask_perm
        self.name = ""

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        self.name = name
        self.model = cls
        cls.add_to_class(f"{name}_encrypted", models.TextField(blank=True, editable=False))
        cls.add_to_class(
            f"{name}_hash",
            models.CharField(max_length=64, blank=True, editable=False, db_index=True),
        )
        setattr(cls, name, self)
        _fields.setdefault(cls, {})[name] = self

    def context(self, obj: models.Model) -> bytes:
        uid = getattr(obj, "pii_uid", None)
        if uid is None:
            raise ValueError(f"{obj._meta.label} needs a pii_uid column (personal_uid())")
        return f"{obj._meta.label_lower}.{self.name}:{uid}".encode()

    def __get__(self, obj: models.Model | None, owner: Any = None) -> Any:
        if obj is None:
            return self
        return Personal(self.kind, getattr(obj, f"{self.name}_encrypted"), self.context(obj))

    def __set__(self, obj: models.Model, value: str) -> None:
        value = NORMALISE[self.kind](value or "")
        setattr(
            obj, f"{self.name}_encrypted", pii.encrypt(value, self.context(obj)) if value else ""
        )
        setattr(obj, f"{self.name}_hash", self.hash(value) if value else "")

    def hash(self, value: str) -> str:
        """The lookup hash of a value (normalised first): ``filter(id_number_hash=...)``."""
        return pii.lookup_hash(NORMALISE[self.kind](value), self.kind)

    def columns(self) -> list[str]:
        """The columns to name in ``save(update_fields=...)`` after setting the value."""
        return [f"{self.name}_encrypted", f"{self.name}_hash"]


class PersonalFormField(forms.CharField):
    """A form field for personal data: normalised, validated, never kept in a browser draft."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("max_length", {ID_NUMBER: 18, PHONE: 20, ADDRESS: 200}[kind])
        widget = forms.TextInput(attrs={"data-personal": "", "autocomplete": "off"})
        kwargs.setdefault("widget", widget)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = NORMALISE[self.kind](super().clean(value) or "")
        code = problem(self.kind, value) if value else None
        if code:
            raise forms.ValidationError(MESSAGES[(self.kind, code)], code=code)
        return value


# ---------------------------------------------------------------------------------------------
# The unmask door.

# Model → the function giving the rows of it a user may see (registered by each app's ready()).
_scopes: dict[type[models.Model], Callable[[Any], QuerySet[Any]]] = {}


def register_scope(model: type[models.Model], visible_to: Callable[[Any], QuerySet[Any]]) -> None:
    _scopes[model] = visible_to


def unmask(
    actor: Any, obj: models.Model, names: list[str] | None = None, *, because: str = ""
) -> dict[str, str]:
    """The personal values of ``obj`` in full, for a reader allowed to see them: the permission
    of each field and the reader's scope over the row are checked here, and the event is
    audited. A refusal is a ``denied`` event and a 404, like any other door.

    ``because`` names a door that has already checked the reader's own right to this value
    (the one working a callback may see the caller's phone, without ``pii.unmask``): the
    field's permission is then not required, the scope still is, and the reason is in the
    event."""
    from jingwang.accounts.roles import has_perm
    from jingwang.accounts.scope import deny
    from jingwang.audit.actions import record

    fields = personal_fields(type(obj))
    names = list(fields) if names is None else names
    label = obj._meta.label_lower
    if not names or any(name not in fields for name in names):
        raise ValueError(f"{label} has no personal data named {names}")
    if not because and any(not has_perm(actor, fields[name].unmask_perm) for name in names):
        deny(actor, label, obj.pk, mode="unmask", fields=names)
    visible_to = _scopes[type(obj)]
    if not visible_to(actor).filter(pk=obj.pk).exists():
        deny(actor, label, obj.pk, mode="unmask", fields=names)
    revealed = {name: getattr(obj, name).plaintext for name in names}
    with transaction.atomic():
        detail: dict[str, Any] = {"fields": names}
        if because:
            detail["because"] = because
        record(actor, "unmask", obj, detail=detail)
    return revealed


# ---------------------------------------------------------------------------------------------
# The key the data was written with.

KEY_NAME = "pii"


def key_problem() -> str | None:
    """A message when this database's personal data was written under another key, else None.

    The fingerprint is recorded by the first ``migrate`` (``record_key``); a database without
    one (or without the table yet) is not checked.
    """
    from django.db import DatabaseError

    from jingwang.core.models import KeyFingerprint

    try:
        stored = KeyFingerprint.objects.filter(name=KEY_NAME).values_list("fingerprint", flat=True)
        found = stored.first()
    except DatabaseError:
        return None
    if found is None or found == pii.fingerprint():
        return None
    return str(
        _(
            "The personal data in this database was written with another personal-data key "
            "(fingerprint %(stored)s) than the one this server was started with (%(current)s). "
            "Start it with the key used when the data was written: JINGWANG_PII_KEY, "
            "JINGWANG_PII_KEY_FILE, or var/pii_key for the demo."
        )
        % {"stored": found, "current": pii.fingerprint()}
    )


def record_key(**kwargs: Any) -> None:
    """After migrate: remember the fingerprint of the key this database is written with."""
    from jingwang.core.models import KeyFingerprint

    KeyFingerprint.objects.get_or_create(name=KEY_NAME, defaults={"fingerprint": pii.fingerprint()})
