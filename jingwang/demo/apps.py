from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The audit actions of the demo, with their labels (jingwang/audit/vocabulary.py).
AUDIT_ACTIONS = {
    "load_demo": _("Loaded the demo data"),
}


class DemoConfig(AppConfig):
    name = "jingwang.demo"
    label = "demo"

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions(AUDIT_ACTIONS)
