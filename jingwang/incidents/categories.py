"""The two-level incident category list of a bureau (警情类别): its defaults, seeded on first
use, and the system admin's changes (add, rename, deactivate, mark officer-only).

A bureau gets the default list the first time anything asks for its categories
(``ensure_categories``). Seeding is race-safe: the rows are inserted with ``ignore_conflicts``
against the ``(bureau, code)`` constraint, so two first uses at once make one list.

``officer_only`` marks categories where contact could endanger the caller (domestic violence,
sexual assault): their callbacks are never sent an SMS and are called only by an officer.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from jingwang.audit.actions import record
from jingwang.incidents.models import Category

# (code, Chinese name, English name, officer only, [sub-categories as (code, zh, en, officer only)])
DEFAULTS: list[tuple[str, str, str, bool, list[tuple[str, str, str, bool]]]] = [
    (
        "criminal",
        "刑事案件",
        "Criminal",
        False,
        [
            ("criminal.theft", "盗窃", "Theft", False),
            ("criminal.burglary", "入室盗窃", "Burglary", False),
            ("criminal.robbery", "抢劫抢夺", "Robbery and snatching", False),
            ("criminal.assault", "故意伤害", "Assault", False),
            ("criminal.sexual_assault", "性侵害", "Sexual assault", True),
            ("criminal.drugs", "涉毒", "Drugs", False),
            ("criminal.other", "其他刑事案件", "Other criminal", False),
        ],
    ),
    (
        "public_order",
        "治安案件",
        "Public order",
        False,
        [
            ("public_order.fight", "打架斗殴", "Fighting", False),
            ("public_order.domestic_violence", "家庭暴力", "Domestic violence", True),
            ("public_order.noise", "噪声扰民", "Noise", False),
            ("public_order.gambling", "赌博", "Gambling", False),
            ("public_order.provocation", "寻衅滋事", "Provocation", False),
            ("public_order.other", "其他治安案件", "Other public order", False),
        ],
    ),
    (
        "disputes",
        "纠纷",
        "Disputes",
        False,
        [
            ("disputes.neighbour", "邻里纠纷", "Neighbours", False),
            ("disputes.family", "婚姻家庭纠纷", "Marriage and family", False),
            ("disputes.economic", "经济纠纷", "Money and debts", False),
            ("disputes.labour", "劳资纠纷", "Wages and labour", False),
            ("disputes.land", "土地山林纠纷", "Land and forest", False),
            ("disputes.consumer", "消费纠纷", "Consumer", False),
            ("disputes.other", "其他纠纷", "Other disputes", False),
        ],
    ),
    (
        "traffic",
        "交通",
        "Traffic",
        False,
        [
            ("traffic.accident", "交通事故", "Traffic accident", False),
            ("traffic.drunk", "酒驾醉驾", "Drink driving", False),
            ("traffic.blocked", "交通堵塞", "Congestion", False),
            ("traffic.parking", "违法停车", "Illegal parking", False),
            ("traffic.other", "其他交通警情", "Other traffic", False),
        ],
    ),
    (
        "fraud",
        "诈骗",
        "Fraud",
        False,
        [
            ("fraud.telecom", "电信网络诈骗", "Telecom and online fraud", False),
            ("fraud.contact", "接触式诈骗", "Face-to-face fraud", False),
            ("fraud.fundraising", "非法集资", "Illegal fundraising", False),
            ("fraud.other", "其他诈骗", "Other fraud", False),
        ],
    ),
    (
        "help",
        "求助",
        "Help-seeking",
        False,
        [
            ("help.missing_person", "人员走失", "Missing person", False),
            ("help.lost_property", "物品遗失", "Lost property", False),
            ("help.illness", "急病求助", "Sudden illness", False),
            ("help.locked_out", "开锁求助", "Locked out", False),
            ("help.elderly", "老人儿童求助", "Elderly or children", False),
            ("help.other", "其他求助", "Other help", False),
        ],
    ),
    (
        "fire_accident",
        "火灾事故",
        "Fire and accident",
        False,
        [
            ("fire_accident.fire", "火灾", "Fire", False),
            ("fire_accident.gas", "燃气泄漏", "Gas leak", False),
            ("fire_accident.drowning", "溺水", "Drowning", False),
            ("fire_accident.injury", "意外伤亡", "Accidental injury or death", False),
            ("fire_accident.other", "其他事故", "Other accident", False),
        ],
    ),
    (
        "other",
        "其他",
        "Other",
        False,
        [
            ("other.enquiry", "咨询", "Enquiry", False),
            ("other.complaint", "投诉", "Complaint", False),
            ("other.false_alarm", "误报谎报", "False alarm", False),
            ("other.other", "其他警情", "Other", False),
        ],
    ),
]

CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$")


def ensure_categories(bureau_id: int) -> None:
    """Seed the bureau's default list if it has none (race-safe; one audit event)."""
    if Category.objects.filter(bureau_id=bureau_id).exists():
        return
    with transaction.atomic():
        tops = [
            Category(
                bureau_id=bureau_id,
                code=code,
                name=name,
                name_en=name_en,
                officer_only=officer_only,
                order=(i + 1) * 10,
            )
            for i, (code, name, name_en, officer_only, _children) in enumerate(DEFAULTS)
        ]
        Category.objects.bulk_create(tops, ignore_conflicts=True)
        ids = dict(
            Category.objects.filter(bureau_id=bureau_id, parent__isnull=True).values_list(
                "code", "id"
            )
        )
        children = [
            Category(
                bureau_id=bureau_id,
                parent_id=ids[code],
                code=child,
                name=name,
                name_en=name_en,
                officer_only=officer_only,
                order=(j + 1) * 10,
            )
            for code, _n, _e, _o, subs in DEFAULTS
            if code in ids
            for j, (child, name, name_en, officer_only) in enumerate(subs)
        ]
        Category.objects.bulk_create(children, ignore_conflicts=True)
        # Two first uses at the very same moment may both record it; the list is made once.
        record(
            None,
            "seed_incident_categories",
            object_type="territory.bureau",
            object_id=str(bureau_id),
            detail={"categories": len(tops) + len(children)},
        )


def find(bureau_id: int, code: str) -> Category | None:
    """The bureau's category with this code, active or not (one query once the list exists)."""
    rows = Category.objects.filter(bureau_id=bureau_id).select_related("parent")
    found = rows.filter(code=code).first()
    if found is None and not Category.objects.filter(bureau_id=bureau_id).exists():
        ensure_categories(bureau_id)
        found = rows.filter(code=code).first()
    return found


def categories_of(bureau_id: int, *, active: bool | None = True) -> QuerySet[Category]:
    """The bureau's categories (seeded if it has none), top-level first, in order."""
    ensure_categories(bureau_id)
    rows = Category.objects.filter(bureau_id=bureau_id).select_related("parent")
    if active is not None:
        rows = rows.filter(is_active=active)
    return rows.order_by("parent__order", "parent__code", "order", "code")


def choices(bureau_id: int) -> list[tuple[Any, Any]]:
    """Grouped choices for a select: each top-level category with its sub-categories; a
    top-level category without sub-categories is a choice itself."""
    rows = list(categories_of(bureau_id))
    tops = sorted((c for c in rows if c.parent_id is None), key=lambda c: (c.order, c.code))
    children: dict[int, list[Category]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    grouped: list[tuple[Any, Any]] = []
    for top in tops:
        subs = sorted(children.get(top.id, []), key=lambda c: (c.order, c.code))
        if subs:
            grouped.append((top.label, [(c.id, c.label) for c in subs]))
        else:
            grouped.append((top.id, top.label))
    return grouped


def by_name(bureau_id: int) -> dict[str, Category]:
    """Active categories by every way a file may name them, lower case: the code, the Chinese
    name, the English name, and "top/sub" of both names (for the 110 import)."""
    found: dict[str, Category] = {}
    rows = list(categories_of(bureau_id))
    for row in rows:
        keys = [row.code, row.name, row.name_en]
        if row.parent is not None:
            keys += [f"{row.parent.name}/{row.name}", f"{row.parent.name_en}/{row.name_en}"]
        for key in keys:
            if key:
                found.setdefault(key.strip().lower(), row)
    return found


# ---------------------------------------------------------------------------------------------
# The system admin's changes


class CategoryError(Exception):
    """A change refused, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class StaleCategory(Exception):
    def __str__(self) -> str:
        return _(
            "Someone else changed this category while you were editing. "
            "Reload the page to see their changes, then edit again."
        )


def _name(value: str, field: str, *, required: bool = True, limit: int = 50) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CategoryError(field, _("A name is required."))
    if len(value) > limit:
        raise CategoryError(
            field, _("At most %(limit)s characters are allowed.") % {"limit": limit}
        )
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise CategoryError(field, _("A name is text without control characters."))
    return value


def add_category(
    actor: Any,
    bureau_id: int,
    *,
    code: str,
    name: str,
    name_en: str = "",
    parent: Category | None = None,
    officer_only: bool = False,
) -> Category:
    """Add a category (a sub-category when ``parent`` is given). Codes are unique per bureau
    and never change: a sub-category's code is its parent's code, a dot, and its own."""
    ensure_categories(bureau_id)
    code = (code or "").strip().lower()
    if parent is not None:
        if parent.bureau_id != bureau_id or parent.parent_id is not None:
            raise CategoryError("parent", _("Choose a top-level category of this bureau."))
        if not code.startswith(parent.code + "."):
            code = f"{parent.code}.{code}"
    if not CODE.match(code) or len(code) > 32 or (parent is None and "." in code):
        raise CategoryError(
            "code",
            _("A code is lower-case letters, digits and _, starting with a letter (at most 32)."),
        )
    name = _name(name, "name")
    name_en = _name(name_en, "name_en", required=False, limit=80)
    siblings = Category.objects.filter(bureau_id=bureau_id, parent=parent)
    order = max([c.order for c in siblings] or [0]) + 10
    taken = _("A category with this code already exists in this bureau.")
    try:
        with transaction.atomic():
            if Category.objects.filter(bureau_id=bureau_id, code=code).exists():
                raise CategoryError("code", taken)
            category = Category.objects.create(
                bureau_id=bureau_id,
                parent=parent,
                code=code,
                name=name,
                name_en=name_en,
                officer_only=officer_only,
                order=min(order, 32000),
            )
            record(
                actor,
                "add_incident_category",
                category,
                subject=category.bureau,
                detail={"code": code, "name": name, "officer_only": officer_only},
            )
    except IntegrityError as exc:
        raise CategoryError("code", taken) from exc
    return category


EDITABLE = ("name", "name_en", "officer_only", "is_active", "order")


def update_category(actor: Any, category: Category, *, version: int, **fields: Any) -> Category:
    """Rename (zh and en), deactivate or reactivate, mark officer-only; a stale ``version`` is
    refused (StaleCategory) and nothing is written. Incidents keep a deactivated category; it
    is no longer offered for new ones."""
    if "name" in fields:
        fields["name"] = _name(fields["name"], "name")
    if "name_en" in fields:
        fields["name_en"] = _name(fields["name_en"], "name_en", required=False, limit=80)
    with transaction.atomic():
        current = Category.objects.select_for_update().get(pk=category.pk)
        if current.version != version:
            raise StaleCategory()
        changes = {
            name: {"from": getattr(current, name), "to": fields[name]}
            for name in EDITABLE
            if name in fields and getattr(current, name) != fields[name]
        }
        if changes:
            for name in changes:
                setattr(current, name, fields[name])
            current.version += 1
            current.save(update_fields=[*changes, "version"])
            record(
                actor,
                "update_incident_category",
                current,
                subject=current.bureau,
                detail={"code": current.code, "changes": changes},
            )
    return current


def access_category(user: Any, bureau: Any, category_id: Any, *, write: bool = False) -> Category:
    """One category of a bureau the system admin reached through ``access_config_bureau``;
    the 404 door for anything else."""
    from jingwang.accounts import scope
    from jingwang.accounts.roles import Perm

    return scope.access(
        user,
        Category.objects.filter(bureau=bureau).select_related("parent"),
        category_id,
        write=write,
        write_perm=Perm.SYSTEM_CONFIGURE,
    )
