"""Per-bureau choice lists (dispute categories, outreach topics, inspection checklists, ...):
a bureau's own list of codes with Chinese and English names, seeded with defaults on first use
and edited by the system admin, every change an audit event.

An app adds one in three steps:

1. A model in its ``models.py`` subclassing ``BureauChoice``, with its own unique constraint on
   ``(bureau, code)``::

       class Category(BureauChoice):
           class Meta(BureauChoice.Meta):
               verbose_name = _("dispute category")
               constraints = [models.UniqueConstraint(fields=["bureau", "code"], name="...")]

2. A ``ChoiceList`` naming the model and its defaults, registered from ``AppConfig.ready()``::

       choicelists.register(ChoiceList("dispute_categories", _("Dispute categories"),
                                       Category, DEFAULTS, app="disputes"))

3. Reads through ``choicelists.active(Category, bureau_id)`` / ``choices(...)`` (which seed the
   defaults the first time), writes through ``add_choice`` / ``update_choice``.

The settings pages (``/settings/lists/``) list every registered list for every bureau.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jingwang.audit.actions import record


class BureauChoice(models.Model):
    """One entry of a bureau's choice list (see module)."""

    bureau = models.ForeignKey("territory.Bureau", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True
        ordering = ["bureau", "order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the active language (the English name falls back to the Chinese)."""
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


C = TypeVar("C", bound=BureauChoice)

# (code, Chinese name, English name)
Default = tuple[str, str, str]

CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
EDITABLE = ("name", "name_en", "is_active", "order")
MAX_ORDER = 32000


@dataclass(frozen=True)
class ChoiceList:
    """A kind of list every bureau has: its name (in URLs and audit events), its label, the
    model of its entries, the defaults a bureau starts from, and the app it belongs to."""

    name: str
    label: str | Promise
    model: type[BureauChoice]
    defaults: Sequence[Default]
    app: str
    help: str | Promise = ""


_lists: dict[str, ChoiceList] = {}


def register(choice_list: ChoiceList) -> ChoiceList:
    """Add a list to the registry (again with the same list: no change)."""
    if not NAME.match(choice_list.name):
        raise ValueError(f"choice list {choice_list.name!r}: a name is a-z, digits and _")
    codes = [code for code, _zh, _en in choice_list.defaults]
    bad = [code for code in codes if not CODE.match(code)]
    if bad or len(set(codes)) != len(codes):
        raise ValueError(f"choice list {choice_list.name!r}: bad or repeated codes {bad or codes}")
    known = _lists.get(choice_list.name)
    if known is not None and known != choice_list:
        raise ValueError(f"a choice list {choice_list.name!r} is already registered")
    for other in _lists.values():
        if other.model is choice_list.model and other.name != choice_list.name:
            raise ValueError(f"{choice_list.model.__name__} already has the list {other.name!r}")
    _lists[choice_list.name] = choice_list
    return choice_list


def registered() -> list[ChoiceList]:
    """Every registered list, by app and name."""
    return sorted(_lists.values(), key=lambda c: (c.app, c.name))


def named(name: str) -> ChoiceList | None:
    """The registered list of this name, if any."""
    return _lists.get(name)


def list_of(model: type[BureauChoice]) -> ChoiceList:
    """The registered list whose entries are ``model`` rows."""
    for choice_list in _lists.values():
        if choice_list.model is model:
            return choice_list
    raise LookupError(f"{model.__name__} is not the model of a registered choice list")


# ---------------------------------------------------------------------------------------------
# Reads


def ensure(model: type[BureauChoice], bureau_id: int) -> int:
    """Seed the bureau's list with its defaults if it has no entry yet; the number of entries
    written (0 when the list was there).

    Race-safe: the bureau's row is locked while the list is checked and written, and the rows
    go in with ``ignore_conflicts`` against the ``(bureau, code)`` constraint, so two first
    uses at once make one list and one ``seed_choice_list`` event.
    """
    from jingwang.territory.models import Bureau

    rows = model._default_manager.filter(bureau_id=bureau_id)
    if rows.exists():
        return 0
    choice_list = list_of(model)
    with transaction.atomic():
        if not Bureau.objects.select_for_update().filter(pk=bureau_id).exists():
            return 0
        if rows.exists():  # written by another first use while this one waited for the lock
            return 0
        model._default_manager.bulk_create(
            [
                model(bureau_id=bureau_id, code=code, name=zh, name_en=en, order=(i + 1) * 10)
                for i, (code, zh, en) in enumerate(choice_list.defaults)
            ],
            ignore_conflicts=True,
        )
        written = rows.count()
        if written:
            record(
                None,
                "seed_choice_list",
                object_type="territory.bureau",
                object_id=str(bureau_id),
                detail={"list": choice_list.name, "entries": written},
            )
    return written


def entries(model: type[C], bureau_id: int) -> QuerySet[C]:
    """Every entry of the bureau's list, in use or not, in order (seeded on first use)."""
    ensure(model, bureau_id)
    return model._default_manager.filter(bureau_id=bureau_id).order_by("order", "code")


def active(model: type[C], bureau_id: int) -> QuerySet[C]:
    """The entries in use, in order (seeded on first use): what forms offer."""
    return entries(model, bureau_id).filter(is_active=True)


def choices(model: type[BureauChoice], bureau_id: int) -> list[tuple[int, str]]:
    """``(id, label)`` of the entries in use, for a select, in the reader's language."""
    return [(entry.pk, entry.label) for entry in active(model, bureau_id)]


def find(model: type[C], bureau_id: int, code: str) -> C | None:
    """The bureau's entry with this code, in use or not (seeded on first use)."""
    return entries(model, bureau_id).filter(code=code).first()


# ---------------------------------------------------------------------------------------------
# The system admin's changes


class ChoiceError(Exception):
    """A change refused, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class StaleChoice(Exception):
    def __str__(self) -> str:
        return gettext(
            "Someone else changed this entry while you were editing. "
            "Reload the page to see their changes, then edit again."
        )


def _name(value: Any, field: str, *, required: bool = True, limit: int = 50) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ChoiceError(field, gettext("A name is required."))
    if len(text) > limit:
        raise ChoiceError(
            field, gettext("At most %(limit)s characters are allowed.") % {"limit": limit}
        )
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ChoiceError(field, gettext("A name is text without control characters."))
    return text


def _order(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ORDER:
        raise ChoiceError(
            "order", gettext("The order is a whole number from 0 to %(max)s.") % {"max": MAX_ORDER}
        )
    return value


def add_choice(
    actor: Any,
    model: type[C],
    bureau: Any,
    *,
    code: str,
    name: str,
    name_en: str = "",
    order: int | None = None,
) -> C:
    """Add an entry to the bureau's list (``bureau``: a Bureau or its id; after its defaults
    unless ``order`` is given). A code is unique in the bureau's list and never changes."""
    from jingwang.territory.models import Bureau

    choice_list = list_of(model)
    if not isinstance(bureau, Bureau):
        bureau = Bureau.objects.get(pk=bureau)
    ensure(model, bureau.pk)
    code = str(code or "").strip().lower()
    if not CODE.match(code):
        raise ChoiceError(
            "code",
            gettext(
                "A code is lower-case letters, digits and _, starting with a letter (at most 32)."
            ),
        )
    name = _name(name, "name")
    name_en = _name(name_en, "name_en", required=False, limit=80)
    rows = model._default_manager.filter(bureau_id=bureau.pk)
    if order is None:
        order = min(max([entry.order for entry in rows] or [0]) + 10, MAX_ORDER)
    order = _order(order)
    taken = gettext("This list already has an entry with the code “%(code)s”.") % {"code": code}
    try:
        with transaction.atomic():
            if rows.filter(code=code).exists():
                raise ChoiceError("code", taken)
            entry = model._default_manager.create(
                bureau_id=bureau.pk, code=code, name=name, name_en=name_en, order=order
            )
            record(
                actor,
                "add_choice",
                entry,
                subject=bureau,
                detail={"list": choice_list.name, "code": code, "name": name, "name_en": name_en},
            )
    except IntegrityError as exc:  # the same code added at the same moment
        raise ChoiceError("code", taken) from exc
    return entry


def update_choice(actor: Any, entry: C, *, version: int, **fields: Any) -> C:
    """Rename (Chinese and English), reorder, take out of use or back into use; the code never
    changes. A stale ``version`` is refused (``StaleChoice``) and nothing is written. Records
    that have an entry keep it when it goes out of use; it is no longer offered."""
    choice_list = list_of(type(entry))
    if "code" in fields and str(fields.pop("code") or "").strip().lower() != entry.code:
        raise ChoiceError("code", gettext("A code never changes once made."))
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ChoiceError(sorted(unknown)[0], gettext("This field cannot be changed."))
    if "name" in fields:
        fields["name"] = _name(fields["name"], "name")
    if "name_en" in fields:
        fields["name_en"] = _name(fields["name_en"], "name_en", required=False, limit=80)
    if "order" in fields:
        fields["order"] = _order(fields["order"])
    if "is_active" in fields:
        fields["is_active"] = bool(fields["is_active"])
    model = type(entry)
    with transaction.atomic():
        current = model._default_manager.select_for_update().get(pk=entry.pk)
        if current.version != version:
            raise StaleChoice()
        changes = {
            name: {"from": getattr(current, name), "to": value}
            for name, value in fields.items()
            if getattr(current, name) != value
        }
        if changes:
            for name in changes:
                setattr(current, name, fields[name])
            current.version += 1
            current.save(update_fields=[*changes, "version"])
            record(
                actor,
                "update_choice",
                current,
                subject=current.bureau,
                detail={"list": choice_list.name, "code": current.code, "changes": changes},
            )
    return current


def access_entry(
    user: Any, model: type[C], bureau: Any, entry_id: Any, *, write: bool = False
) -> C:
    """One entry of a bureau's list, for the system admin who reached the bureau through
    ``access_config_bureau``; the 404 door (and a ``denied`` event) for anything else."""
    from jingwang.accounts import scope
    from jingwang.accounts.roles import Perm

    return scope.access(
        user,
        model._default_manager.filter(bureau=bureau),
        entry_id,
        write=write,
        write_perm=Perm.SYSTEM_CONFIGURE,
    )
