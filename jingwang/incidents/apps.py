from django.apps import AppConfig
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The audit actions of the incident loop, with their labels (jingwang/audit/vocabulary.py).
StrOrPromise = str | Promise
AUDIT_ACTIONS: dict[str, StrOrPromise] = {}


class IncidentsConfig(AppConfig):
    name = "jingwang.incidents"
    label = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions(AUDIT_ACTIONS)
        from jingwang.incidents.models import Incident
        from jingwang.territory import placement

        placement.follow(Incident, "incidents.incidents")
