from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The audit actions of the shared pieces, with their labels (jingwang/audit/vocabulary.py).
AUDIT_ACTIONS = {
    "unmask": _("Showed personal data in full"),
    "update_settings": _("Changed a bureau's settings"),
    "update_calendar_year": _("Entered a year's holidays in the working-day calendar"),
    "export": _("Exported a list"),
    "seed_choice_list": _("Set up a bureau's default choice list"),
    "add_choice": _("Added an entry to a choice list"),
    "update_choice": _("Changed an entry of a choice list"),
}


def check_personal_data_key(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``jingwang check --database default``: the personal-data key is the one of the data."""
    from django.core import checks

    from jingwang.core.personal import key_problem

    problem = key_problem()
    return [checks.Error(problem, id="jingwang.E001")] if problem else []


class CoreConfig(AppConfig):
    """The shared pieces every app plugs into (docs/architecture.md, "Shared pieces")."""

    name = "jingwang.core"
    label = "core"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from jingwang.audit.vocabulary import register_actions
        from jingwang.core.personal import record_key

        # Infrastructure, not business logic: remember which key the database is written with.
        post_migrate.connect(record_key, sender=self)
        checks.register(check_personal_data_key, checks.Tags.database)

        register_actions(AUDIT_ACTIONS)

        from jingwang.accounts.roles import Perm
        from jingwang.core import menu

        # The configuration of every app (core/config.py), for the system admin.
        menu.register(
            _("Settings"), "config:sections", Perm.SYSTEM_CONFIGURE, order=87, app=self.label
        )
        # Every bureau's choice lists of every app (core/choicelists.py).
        menu.register(
            _("Choice lists"), "config:lists", Perm.SYSTEM_CONFIGURE, order=89, app=self.label
        )
