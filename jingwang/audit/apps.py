from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

AUDIT_ACTIONS = {
    "audit_chain_keyed": _("Audit chain put under the audit key"),
}


class AuditConfig(AppConfig):
    name = "jingwang.audit"
    label = "audit"

    def ready(self) -> None:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from jingwang.audit import chain
        from jingwang.audit.vocabulary import register_actions

        try:
            chain.key_from_hex(settings.AUDIT_KEY)
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
        register_actions(AUDIT_ACTIONS)

        from jingwang.accounts.roles import Perm
        from jingwang.core import menu

        menu.register(_("Audit log"), "audit:list", Perm.AUDIT_VIEW, order=80, app=self.label)
