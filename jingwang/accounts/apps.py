from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The audit actions of accounts, with their labels (jingwang/audit/vocabulary.py).
AUDIT_ACTIONS = {
    "login": _("Signed in"),
    "logout": _("Signed out"),
    "login_failed": _("Failed sign-in"),
    "set_language": _("Changed the language"),
    "change_password": _("Changed own password"),
    "create_api_token": _("Created an API token"),
    "revoke_api_token": _("Revoked an API token"),
    "enrol_second_factor": _("Enrolled a second factor"),
    "use_recovery_code": _("Signed in with a recovery code"),
    "regenerate_recovery_codes": _("Made new recovery codes"),
    "request_account_change": _("Requested an account change"),
    "approve_account_request": _("Approved an account request"),
    "refuse_account_request": _("Refused an account request"),
    "withdraw_account_request": _("Withdrew an account request"),
    "create_user": _("Created an account"),
    "change_role": _("Changed a role"),
    "reset_password": _("Reset a password"),
    "reset_second_factor": _("Reset a second factor"),
    "unlock_account": _("Unlocked an account"),
    "disable_account": _("Disabled an account"),
    "enable_account": _("Enabled an account"),
    # Written by jingwang.accounts.scope for every refusal (outcome "denied").
    "access": _("Access refused"),
}


class AccountsConfig(AppConfig):
    name = "jingwang.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.conf import settings

        from jingwang.audit.vocabulary import register_actions
        from jingwang.lib import pii

        pii.configure(settings.PII_KEY)
        register_actions(AUDIT_ACTIONS)

        from jingwang.accounts import demo
        from jingwang.accounts.roles import Perm
        from jingwang.core import menu
        from jingwang.demo import registry

        registry.register(
            "accounts", demo.generate, demo.load, after=["people"], conflicts=demo.conflicts
        )
        menu.register(_("Home"), "home", None, order=0, app=self.label)
        menu.register(
            _("Accounts"), "accounts:users", Perm.ACCOUNTS_MANAGE, order=90, app=self.label
        )
        menu.register(
            _("Account requests"),
            "accounts:requests",
            Perm.ACCOUNTS_APPROVE,
            order=95,
            app=self.label,
        )
