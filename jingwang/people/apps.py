from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The audit actions of people, with their labels (jingwang/audit/vocabulary.py).
AUDIT_ACTIONS = {
    "create_person": _("Added a person"),
    "update_person": _("Edited a person"),
    "link_account": _("Linked an account to a person"),
    "assign_grid": _("Assigned a person to a grid"),
    "end_assignment": _("Ended a grid assignment"),
    "carry_assignment": _("Carried an assignment to the new grid version"),
    "review_assignment": _("Left an assignment for review after a new grid version"),
    "resolve_reassignment": _("Resolved a reassignment"),
    "add_committee_post": _("Added a committee post"),
    "end_committee_post": _("Ended a committee post"),
}


class PeopleConfig(AppConfig):
    name = "jingwang.people"
    label = "people"

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions(AUDIT_ACTIONS)
        from jingwang.core.personal import register_scope
        from jingwang.people.actions import carry_assignments
        from jingwang.people.models import Person
        from jingwang.people.queries import people_visible_to
        from jingwang.territory import lineage

        lineage.register("people.assignments", carry_assignments)
        register_scope(Person, people_visible_to)

        from jingwang.accounts.roles import Perm
        from jingwang.core import menu
        from jingwang.demo import registry
        from jingwang.people import demo

        registry.register("people", demo.generate, demo.load, after=["territory"])
        menu.register(
            _("Coverage"), "people:coverage", Perm.TERRITORY_VIEW, order=30, app=self.label
        )
        menu.register(_("People"), "people:list", Perm.PEOPLE_VIEW, order=40, app=self.label)
