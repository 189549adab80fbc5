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

from django.db import models
from django.utils.translation import gettext_lazy as _


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
