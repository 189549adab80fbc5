"""Per-bureau configuration: each app's settings (categories, thresholds, checklists, defaults)
as one row per bureau, edited by the system admin, every change an audit event.

A *section* is one app's settings. An app adds one in three steps:

1. A model in its ``models.py`` subclassing ``BureauSettings``: the settings are its fields, and
   their defaults are what a bureau without a row gets::

       class CallbackSettings(BureauSettings):
           due_days = models.PositiveSmallIntegerField(_("Callback due (working days)"), default=1)

2. A form whose fields are named like the settings; its validation is the section's checks::

       class CallbackSettingsForm(forms.Form):
           due_days = forms.IntegerField(label=_("Callback due (working days)"), min_value=1)

3. Registration from its ``AppConfig.ready()``::

       config.register(
           config.Section("callbacks", _("Callbacks"), CallbackSettings, CallbackSettingsForm,
                          app="incidents")
       )

The settings page (``/settings/``) then lists the section for every bureau, its edit page
validates with the form and saves through ``update_settings`` (stale edits refused, the audit
event naming each setting that changed, from what to what), and the app reads its settings with
``settings_for(bureau, CallbackSettings)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jingwang.audit.actions import record

if TYPE_CHECKING:
    from jingwang.territory.models import Bureau


class BureauSettings(models.Model):
    """One bureau's settings of one section: subclass it with the settings as fields."""

    bureau = models.OneToOneField(
        "territory.Bureau",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=gettext_lazy("county bureau"),
    )
    # 0: never saved, the defaults; each saved change adds one (the stale-edit check).
    version = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The fields every section has; the others are its settings.
    BOOKKEEPING = frozenset({"id", "bureau", "version", "changed_at", "changed_by"})

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.bureau_id}"

    @classmethod
    def setting_names(cls) -> list[str]:
        """The settings of the section, in the order of the model's fields."""
        return [f.name for f in cls._meta.concrete_fields if f.name not in cls.BOOKKEEPING]

    def values(self) -> dict[str, Any]:
        """The settings as a dict (a form's initial values)."""
        return {name: getattr(self, name) for name in self.setting_names()}

    @property
    def is_default(self) -> bool:
        """Never changed: the bureau runs on the defaults."""
        return self.version == 0


S = TypeVar("S", bound=BureauSettings)

KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Section:
    """One app's settings: its key (in URLs and audit events), label, model and form."""

    key: str
    label: str | Promise  # gettext_lazy
    model: type[BureauSettings]
    form: type[forms.Form]
    app: str
    help: str | Promise = ""
    order: int = 50  # on the settings page, then by key


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add a section (again with the same values: no change). The form's fields must be the
    model's settings, so that what the form accepts is exactly what is stored."""
    if not KEY.match(section.key):
        raise ImproperlyConfigured(
            f"configuration section {section.key!r}: a key is a-z, digits and _ (at most 32)"
        )
    known = _sections.get(section.key)
    if known is not None and known != section:
        raise ImproperlyConfigured(f"configuration section {section.key!r} is registered twice")
    names, fields = set(section.model.setting_names()), set(section.form.base_fields)
    if names != fields:
        raise ImproperlyConfigured(
            f"configuration section {section.key!r}: the form's fields {sorted(fields)} are not "
            f"the model's settings {sorted(names)}"
        )
    _sections[section.key] = section


def sections() -> list[Section]:
    """Every registered section, in page order."""
    return sorted(_sections.values(), key=lambda section: (section.order, section.key))


def find(section: str | Section | type[BureauSettings]) -> Section | None:
    """The registered section named by key, by itself, or by its model."""
    if isinstance(section, Section):
        return _sections.get(section.key)
    if isinstance(section, str):
        return _sections.get(section)
    return next((s for s in _sections.values() if s.model is section), None)


def _section(section: str | Section | type[BureauSettings]) -> Section:
    found = find(section)
    if found is None:
        raise LookupError(f"no configuration section {section!r} is registered")
    return found


# ---------------------------------------------------------------------------------------------
# Reading


@overload
def settings_for(bureau: Bureau | int, section: type[S]) -> S: ...
@overload
def settings_for(bureau: Bureau | int, section: str | Section) -> BureauSettings: ...
def settings_for(
    bureau: Bureau | int, section: str | Section | type[BureauSettings]
) -> BureauSettings:
    """A bureau's settings of a section: its row, or (never saved) an unsaved row holding the
    defaults, with version 0. One query."""
    model = _section(section).model
    bureau_id = bureau if isinstance(bureau, int) else bureau.pk
    found = model._default_manager.filter(bureau_id=bureau_id).select_related("changed_by").first()
    return found if found is not None else model(bureau_id=bureau_id)


def rows_for(section: Section, bureaus: Iterable[Bureau]) -> dict[int, BureauSettings]:
    """The saved rows of a section for these bureaus, by bureau id (one query)."""
    ids = [bureau.pk for bureau in bureaus]
    rows = section.model._default_manager.filter(bureau_id__in=ids).select_related("changed_by")
    return {row.bureau_id: row for row in rows}


# ---------------------------------------------------------------------------------------------
# Changing


class InvalidSettings(Exception):
    """The section's form refused the data: ``form`` is bound, with its errors by field."""

    def __init__(self, form: forms.Form) -> None:
        super().__init__("invalid settings")
        self.form = form


class StaleSettings(Exception):
    """Someone else changed these settings since the page was opened: nothing was written."""

    def __str__(self) -> str:
        return _(
            "Someone else changed these settings while you were editing. "
            "Reload the page to see their changes, then edit again."
        )


def update_settings(
    actor: Any,
    section: str | Section | type[BureauSettings],
    bureau: Bureau,
    data: Mapping[str, Any],
    version: int,
) -> BureauSettings:
    """Validate ``data`` with the section's form and save what changed.

    ``version`` is the one the editor saw (0 for a bureau still on the defaults); if the row
    moved on since, ``StaleSettings`` and nothing is written, never a lost update. The audit
    event ``update_settings`` names the section, the bureau and each setting that changed, from
    what to what. Nothing changed: nothing is written. Raises ``InvalidSettings`` with the bound
    form when the data does not pass its checks.
    """
    found = _section(section)
    form = found.form(data)
    if not form.is_valid():
        raise InvalidSettings(form)
    values = {name: form.cleaned_data[name] for name in found.model.setting_names()}
    creating = False
    try:
        with transaction.atomic():
            current = (
                found.model._default_manager.select_for_update().filter(bureau_id=bureau.pk).first()
            )
            if current is None:
                creating = True
                current = found.model(bureau_id=bureau.pk)
            if current.version != version:
                raise StaleSettings()
            changes = {
                name: {"from": getattr(current, name), "to": value}
                for name, value in values.items()
                if getattr(current, name) != value
            }
            if not changes:
                return current
            for name in changes:
                setattr(current, name, values[name])
            current.version += 1
            current.changed_at = timezone.now()
            current.changed_by = actor if getattr(actor, "is_authenticated", False) else None
            if creating:
                current.save(force_insert=True)
            else:
                current.save(update_fields=[*changes, "version", "changed_at", "changed_by"])
            record(
                actor,
                "update_settings",
                current,
                subject=bureau,
                detail={
                    "section": found.key,
                    "bureau": bureau.code,
                    "version": current.version,
                    "changes": changes,
                },
            )
    except IntegrityError as exc:
        if creating:  # another editor saved this bureau's first row at the same moment
            raise StaleSettings() from exc
        raise
    return current
