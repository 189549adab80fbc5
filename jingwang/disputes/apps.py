from django.apps import AppConfig
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise

# The audit actions of the dispute loop, with their labels (jingwang/audit/vocabulary.py).
ACTIONS: dict[str, StrOrPromise] = {
    "register_dispute": _("Registered a dispute"),
    "update_dispute": _("Edited a dispute"),
    "override_tier": _("Set a dispute's tier by hand"),
    "escalate_dispute": _("Escalated a dispute"),
    "deescalate_dispute": _("De-escalated a dispute"),
    "call_member": _("Called a member to a dispute"),
    "set_lead_mediator": _("Set a dispute's lead mediator"),
    "choose_track": _("Chose a dispute's legal track"),
    "extend_mediation": _("Extended a people's mediation"),
    "record_session": _("Recorded a mediation session"),
    "record_agreement": _("Recorded a mediation agreement"),
    "record_followup": _("Recorded a follow-up visit"),
    "reopen_dispute": _("Reopened a dispute"),
    "refer_dispute": _("Referred a dispute"),
    "withdraw_dispute": _("Closed a dispute as withdrawn"),
    "seed_mediation_bodies": _("Set up a station's mediation bodies"),
    "add_body_member": _("Added a member to a mediation body"),
    "end_body_membership": _("Ended a membership of a mediation body"),
}


class DisputesConfig(AppConfig):
    name = "jingwang.disputes"
    label = "disputes"
    verbose_name = _("Disputes")

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions
        from jingwang.disputes.models import Dispute, Party
        from jingwang.territory import complexity, placement

        register_actions(ACTIONS)
        placement.follow(Dispute, "disputes.disputes")
        complexity.register_source("disputes", complexity.placed_points(Dispute, "registered_at"))

        from jingwang.core.personal import register_scope
        from jingwang.disputes.queries import disputes_visible_to, parties_visible_to

        register_scope(Dispute, disputes_visible_to)
        register_scope(Party, parties_visible_to)

        from jingwang.core import choicelists, config
        from jingwang.disputes.categories import CATEGORIES
        from jingwang.disputes.forms_settings import DisputeSettingsForm
        from jingwang.disputes.models import DisputeSettings

        config.register(
            config.Section(
                "disputes",
                _("Disputes and mediation"),
                DisputeSettings,
                DisputeSettingsForm,
                app=self.label,
                help=_("Triage thresholds of the three tiers and the deadlines of mediation."),
            )
        )
        choicelists.register(CATEGORIES)

        from jingwang.accounts.roles import Perm
        from jingwang.core import home, menu
        from jingwang.disputes import queries

        menu.register(_("Disputes"), "disputes:list", Perm.DISPUTES_VIEW, order=55, app=self.label)
        menu.register(
            _("Mediation bodies"), "disputes:bodies", Perm.DISPUTES_VIEW, order=56, app=self.label
        )
        menu.register(
            _("Dispute figures"), "disputes:figures", Perm.DISPUTES_VIEW, order=57, app=self.label
        )
        home.register(
            home.Panel(
                name="disputes",
                perm=Perm.DISPUTES_TRIAGE,
                template="disputes/home_panel.html",
                context=queries.disputes_panel,
                order=30,
            )
        )

        from jingwang.demo import registry
        from jingwang.disputes import demo

        registry.register(
            "disputes", demo.generate, demo.load, after=("people", "accounts", "incidents")
        )
