from django.apps import AppConfig
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise

# The audit actions of the incident loop, with their labels (jingwang/audit/vocabulary.py):
# recording and working incidents; callbacks, surveys and rectifications; figures and exports.
RECORD_ACTIONS: dict[str, StrOrPromise] = {
    "record_incident": _("Recorded an incident"),
    "update_incident": _("Edited an incident"),
    "dispatch_incident": _("Dispatched to an incident"),
    "arrive_incident": _("Arrived at an incident"),
    "close_incident": _("Closed an incident"),
    "place_incident": _("Placed an incident in a grid by hand"),
    "import_incident": _("Imported an incident from the 110 system"),
    "import_incidents": _("Imported the 110 system's incidents"),
    "seed_incident_categories": _("Set up the default incident categories"),
    "add_incident_category": _("Added an incident category"),
    "update_incident_category": _("Changed an incident category"),
}
CALLBACK_ACTIONS: dict[str, StrOrPromise] = {
    "open_callback": _("Queued a callback"),
    "send_survey": _("Sent the caller an SMS survey link"),
    "callback_attempt": _("Recorded a failed callback attempt"),
    "callback_unreachable": _("Closed a callback as unreachable"),
    "record_callback": _("Recorded a callback's answers"),
    "answer_survey": _("The caller answered the SMS survey"),
    "open_rectification": _("Opened a rectification"),
    "update_rectification": _("Updated a rectification"),
    "close_rectification": _("Closed a rectification"),
    "update_callback_settings": _("Changed a station's callback settings"),
}
FIGURE_ACTIONS: dict[str, StrOrPromise] = {}


class IncidentsConfig(AppConfig):
    name = "jingwang.incidents"
    label = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions({**RECORD_ACTIONS, **CALLBACK_ACTIONS, **FIGURE_ACTIONS})
        self.ready_record()
        self.ready_callbacks()
        self.ready_figures()

    def ready_record(self) -> None:
        """Recording and working incidents: placement, personal data, map layer, menu, config."""
        from jingwang.incidents.models import Incident
        from jingwang.territory import complexity, placement

        placement.follow(Incident, "incidents.incidents")
        complexity.register_source("incidents", complexity.placed_points(Incident, "received_at"))

        from jingwang.accounts.roles import Perm
        from jingwang.core import config, menu
        from jingwang.core.personal import register_scope
        from jingwang.incidents import maps
        from jingwang.incidents.forms import IncidentSettingsForm
        from jingwang.incidents.models import IncidentSettings
        from jingwang.incidents.queries import incidents_visible_to

        register_scope(Incident, incidents_visible_to)
        maps.register()
        menu.register(
            _("Incidents"), "incidents:list", Perm.INCIDENTS_VIEW, order=45, app=self.label
        )
        menu.register(
            _("Incident categories"),
            "incidents:category_bureaus",
            Perm.SYSTEM_CONFIGURE,
            order=88,
            app=self.label,
        )
        config.register(
            config.Section(
                "incidents",
                _("Incidents and callbacks"),
                IncidentSettings,
                IncidentSettingsForm,
                app=self.label,
                help=_("Callback deadlines and attempts, rectification deadlines, survey links."),
            )
        )

    def ready_callbacks(self) -> None:
        """Callbacks, SMS surveys and rectifications: jobs, home panels, station settings."""
        from jingwang.accounts.roles import Perm
        from jingwang.core import home, menu
        from jingwang.incidents import queries_callbacks

        menu.register(
            _("Callbacks"), "incidents:callbacks", Perm.CALLBACKS_WORK, order=46, app=self.label
        )
        menu.register(
            _("Rectifications"),
            "incidents:rectifications",
            Perm.RECTIFICATIONS_MANAGE,
            order=47,
            app=self.label,
        )
        home.register(
            home.Panel(
                name="callbacks",
                perm=Perm.CALLBACKS_WORK,
                template="incidents/callback_home_panel.html",
                context=queries_callbacks.callbacks_panel,
                order=20,
            )
        )
        home.register(
            home.Panel(
                name="rectifications",
                perm=Perm.RECTIFICATIONS_MANAGE,
                template="incidents/rectification_home_panel.html",
                context=queries_callbacks.rectifications_panel,
                order=21,
            )
        )

    def ready_figures(self) -> None:
        """Figures, exports and the demo."""
        from jingwang.accounts.roles import Perm
        from jingwang.core import menu
        from jingwang.demo import registry
        from jingwang.incidents import demo

        menu.register(
            _("Incident figures"),
            "incidents:figures",
            Perm.INCIDENTS_VIEW,
            order=48,
            app="incidents",
        )
        registry.register("incidents", demo.generate, demo.load, after=("people", "accounts"))
