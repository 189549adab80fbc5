from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The audit actions of territory, with their labels (jingwang/audit/vocabulary.py).
AUDIT_ACTIONS = {
    "import_territory": _("Imported territory data"),
    "propose_division": _("Proposed a grid division"),
    "move_base_unit": _("Moved a base unit in a proposal"),
    "discard_proposal": _("Discarded a division proposal"),
    "apply_grid_plan": _("Applied a new grid version"),
    "create_bureau": _("Created a bureau"),
    "rename_bureau": _("Renamed a bureau"),
    "create_station": _("Created a police station"),
    "rename_station": _("Renamed a police station"),
    "recompute_complexity": _("Computed the complexity of base units from records"),
}


class TerritoryConfig(AppConfig):
    name = "jingwang.territory"
    label = "territory"

    def ready(self) -> None:
        from jingwang.audit.vocabulary import register_actions

        register_actions(AUDIT_ACTIONS)

        from jingwang.accounts.roles import Perm
        from jingwang.core import menu
        from jingwang.demo import registry
        from jingwang.territory import demo

        registry.register("territory", demo.generate, demo.load, conflicts=demo.conflicts)
        menu.register(_("Map"), "territory:map", Perm.TERRITORY_VIEW, order=10, app=self.label)
        menu.register(_("Grids"), "territory:grids", Perm.TERRITORY_VIEW, order=20, app=self.label)
        menu.register(
            _("Division"), "territory:divisions", Perm.TERRITORY_DIVIDE, order=50, app=self.label
        )
        menu.register(
            _("Import"), "territory:import", Perm.TERRITORY_IMPORT, order=60, app=self.label
        )
        menu.register(
            _("Bureaus and stations"),
            "territory:bureaus",
            Perm.SYSTEM_CONFIGURE,
            order=85,
            app=self.label,
        )

        from jingwang.core import config
        from jingwang.territory.forms import DivisionSettingsForm
        from jingwang.territory.models import DivisionSettings

        config.register(
            config.Section(
                "division",
                _("Grid division defaults"),
                DivisionSettings,
                DivisionSettingsForm,
                app=self.label,
                help=_(
                    "Where the division form of the bureau's stations starts, and what "
                    "“jingwang divide” uses: the household range of a block, the weight of "
                    "complexity, and the size of sectors and districts."
                ),
                order=10,
            )
        )
