from django.apps import AppConfig
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise

# The audit actions of the incident loop, with their labels (jingwang/audit/vocabulary.py):
# recording and working incidents; callbacks, surveys and rectifications; figures and exports.
RECORD_ACTIONS: dict[str, StrOrPromise] = {}
CALLBACK_ACTIONS: dict[str, StrOrPromise] = {}
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
        from jingwang.territory import placement

        placement.follow(Incident, "incidents.incidents")

    def ready_callbacks(self) -> None:
        """Callbacks, SMS surveys and rectifications: jobs, home panels, station settings."""

    def ready_figures(self) -> None:
        """Figures, exports and the demo."""
