"""The dispute categories of a bureau (纠纷类别): the ten defaults of the three-tier mediation
loop, a choice list the system admin edits per bureau (``jingwang.core.choicelists``).

Forms offer ``choicelists.active(Category, bureau_id)``; a code is found with
``choicelists.find(Category, bureau_id, code)``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from jingwang.core.choicelists import ChoiceList, Default
from jingwang.disputes.models import Category

# (code, Chinese name, English name): the categories the issue names, in its order. The names
# are data (a bureau renames them), so they are stored in both languages, not translated.
DEFAULTS: list[Default] = [
    ("neighbours", "邻里纠纷", "Neighbours"),
    ("family", "婚姻家庭纠纷", "Marriage and family"),
    ("housing", "房屋物业纠纷", "Housing and property"),
    ("land", "土地山林权属纠纷", "Land and boundaries"),
    ("labour", "劳动争议与欠薪", "Labour and wages"),
    ("debts", "债务纠纷", "Debts"),
    ("traffic", "交通事故赔偿纠纷", "Traffic accident compensation"),
    ("consumer", "消费纠纷", "Consumer"),
    ("medical", "医疗纠纷", "Medical"),
    ("other", "其他纠纷", "Other"),
]

CATEGORIES = ChoiceList(
    "dispute_categories",
    _("Dispute categories"),
    Category,
    DEFAULTS,
    app="disputes",
    help=_("The categories a dispute is registered under."),
)
