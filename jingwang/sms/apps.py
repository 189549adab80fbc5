from django.apps import AppConfig
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The audit actions of SMS, with their labels (jingwang/audit/vocabulary.py).
StrOrPromise = str | Promise
AUDIT_ACTIONS: dict[str, StrOrPromise] = {
    "send_sms": _("Queued a text message"),
    "update_sms_status": _("A text message's delivery status changed"),
    "receive_sms_reply": _("Received a reply to a text message"),
    "opt_out_sms": _("A number opted out of text messages"),
}


class SmsConfig(AppConfig):
    name = "jingwang.sms"
    label = "sms"
    verbose_name = _("SMS")

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions(AUDIT_ACTIONS)

        from jingwang.accounts.roles import Perm
        from jingwang.core import menu

        menu.register(_("Text messages"), "sms:outbox", Perm.SMS_VIEW, order=70, app=self.label)
