from django.apps import AppConfig
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The audit actions of SMS, with their labels (jingwang/audit/vocabulary.py).
StrOrPromise = str | Promise
AUDIT_ACTIONS: dict[str, StrOrPromise] = {}


class SmsConfig(AppConfig):
    name = "jingwang.sms"
    label = "sms"
    verbose_name = _("SMS")

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions(AUDIT_ACTIONS)
