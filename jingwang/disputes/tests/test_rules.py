"""The pure rules of the dispute loop (disputes/rules.py): no database.

Deadlines are checked on the real calendar (the ``chinese-calendar`` package): the 2025
National Day holiday (Oct 1–8 off; Sun Sep 28 and Sat Oct 11 worked) and the 2026 Spring
Festival (Feb 15–23 off; Sat Feb 14 and Sat Feb 28 worked).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingwang.disputes import rules
from jingwang.disputes.rules import Facts, Reason, Thresholds
from jingwang.lib.workdays import from_chinese_calendar

CALENDAR = from_chinese_calendar()
DEFAULT = Thresholds()
RISKS = ("risk_violence", "risk_criminal", "risk_group", "risk_petitions", "risk_vulnerable")


def add(day: date, n: int) -> date:  # the shape the app passes (core.workdays)
    return CALENDAR.add_working_days(day, n)


def next_day(day: date) -> date:
    return CALENDAR.next_working_day(day)


def facts(
    people: int = 2,
    amount: Decimal | int | str | None = None,
    risks: tuple[str, ...] = (),
    complaints: int = 1,
    departments: int = 1,
) -> Facts:
    return Facts(
        people_involved=people,
        amount=None if amount is None else Decimal(amount),
        risks=frozenset(risks),
        complaints=complaints,
        departments=departments,
    )


def codes(f: Facts, t: Thresholds = DEFAULT) -> tuple[int, list[str]]:
    found = rules.triage(f, t)
    return found.tier, [r.code for r in found.reasons]


# ── triage: each rule on both sides of its threshold ───────────────────────────────────────


def test_a_plain_dispute_between_two_neighbours_is_tier_1():
    assert codes(facts()) == (1, ["general"])
    assert rules.triage(facts(), DEFAULT).reasons == (Reason("general", 1, {}),)


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        (4, (1, ["general"])),
        (5, (2, ["people"])),
        (19, (2, ["people"])),
        (20, (3, ["people_many"])),  # only the higher of the two people rules
        (250, (3, ["people_many"])),
    ],
)
def test_people_involved(people, expected):
    assert codes(facts(people=people)) == expected


def test_the_people_reason_keeps_what_it_saw():
    assert rules.triage(facts(people=7), DEFAULT).reasons == (
        Reason("people", 2, {"threshold": 5, "value": 7}),
    )
    assert rules.triage(facts(people=21), DEFAULT).reasons == (
        Reason("people_many", 3, {"threshold": 20, "value": 21}),
    )


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, (1, ["general"])),
        ("0", (1, ["general"])),
        ("9999.99", (1, ["general"])),
        ("10000", (2, ["amount"])),
        ("99999.99", (2, ["amount"])),
        ("100000", (3, ["amount_large"])),
        ("2500000.5", (3, ["amount_large"])),
    ],
)
def test_amount_at_stake(amount, expected):
    assert codes(facts(amount=amount)) == expected


def test_the_amount_reason_keeps_the_amount_as_text():
    (reason,) = rules.triage(facts(amount="12000.5"), DEFAULT).reasons
    assert reason.params == {"threshold": 10000, "value": "12000.50"}
    (reason,) = rules.triage(facts(amount="150000.00"), DEFAULT).reasons
    assert reason.params == {"threshold": 100000, "value": "150000"}


@pytest.mark.parametrize(
    ("risk", "tier"),
    [
        ("risk_violence", 3),
        ("risk_criminal", 3),
        ("risk_group", 3),
        ("risk_petitions", 2),
        ("risk_vulnerable", 2),
    ],
)
def test_each_risk_flag(risk, tier):
    assert codes(facts(risks=(risk,))) == (tier, [risk])


def test_an_unknown_risk_name_is_no_reason():
    assert codes(facts(risks=("risk_weather",))) == (1, ["general"])


@pytest.mark.parametrize(
    ("complaints", "expected"),
    [(1, (1, ["general"])), (2, (1, ["general"])), (3, (2, ["repeat"])), (10, (2, ["repeat"]))],
)
def test_repeat_complaints(complaints, expected):
    assert codes(facts(complaints=complaints)) == expected


@pytest.mark.parametrize(
    ("departments", "expected"),
    [(1, (1, ["general"])), (2, (3, ["departments"])), (4, (3, ["departments"]))],
)
def test_departments_involved(departments, expected):
    assert codes(facts(departments=departments)) == expected


def test_the_tier_is_the_highest_of_several_reasons():
    # 7 people (2), a vulnerable party (2), a repeat complainant (2): still tier 2.
    assert codes(facts(people=7, risks=("risk_vulnerable",), complaints=4)) == (
        2,
        ["people", "risk_vulnerable", "repeat"],
    )
    # ... and one sign of violence makes it tier 3, every reason kept.
    assert codes(facts(people=7, amount=15000, risks=("risk_violence", "risk_petitions"))) == (
        3,
        ["people", "amount", "risk_violence", "risk_petitions"],
    )
    assert codes(facts(people=25, amount=200000, departments=3)) == (
        3,
        ["people_many", "amount_large", "departments"],
    )


def test_the_bureau_sets_the_thresholds():
    strict = Thresholds(
        tier2_people=3,
        tier3_people=10,
        tier2_amount=5000,
        tier3_amount=50000,
        repeat_complaints=2,
        tier3_departments=3,
    )
    assert codes(facts(people=3), strict) == (2, ["people"])
    assert codes(facts(people=10), strict) == (3, ["people_many"])
    assert codes(facts(amount=5000), strict) == (2, ["amount"])
    assert codes(facts(amount=50000), strict) == (3, ["amount_large"])
    assert codes(facts(complaints=2), strict) == (2, ["repeat"])
    assert codes(facts(departments=2), strict) == (1, ["general"])
    assert codes(facts(departments=3), strict) == (3, ["departments"])


def test_a_threshold_of_zero_turns_its_rule_off():
    off = Thresholds(
        tier2_people=0,
        tier3_people=0,
        tier2_amount=0,
        tier3_amount=0,
        repeat_complaints=0,
        tier3_departments=0,
    )
    assert codes(facts(people=500, amount=10**7, complaints=9, departments=5), off) == (
        1,
        ["general"],
    )
    # Only tier 3 off: a large group is still tier 2.
    assert codes(facts(people=500), Thresholds(tier3_people=0)) == (2, ["people"])


def test_a_reason_goes_to_json_and_back():
    for reason in rules.triage(
        facts(people=30, amount="12000.5", risks=RISKS, complaints=5, departments=2), DEFAULT
    ).reasons:
        stored = json.loads(json.dumps(reason.as_dict()))
        assert Reason.from_dict(stored) == reason
    assert Reason.from_dict({}) == Reason("", 1, {})
    assert Reason.from_dict({"code": "people", "tier": "2", "params": []}) == Reason("people", 1)


# ── the sentences, in Chinese and English ──────────────────────────────────────────────────

SENTENCES = [
    (
        Reason("general", 1, {}),
        "No rule for a higher tier applies → tier 1",
        "未触发更高层级的规则 → 第1级",
    ),
    (
        Reason("people", 2, {"threshold": 5, "value": 7}),
        "7 people involved (5 or more) → tier 2",
        "涉及 7 人（5 人及以上）→ 第2级",
    ),
    (
        Reason("people_many", 3, {"threshold": 20, "value": 31}),
        "31 people involved (20 or more) → tier 3",
        "涉及 31 人（20 人及以上）→ 第3级",
    ),
    (
        Reason("amount", 2, {"threshold": 10000, "value": "12000.50"}),
        "12000.50 yuan at stake (10000 or more) → tier 2",
        "涉及金额 12000.50 元（10000 元及以上）→ 第2级",
    ),
    (
        Reason("amount_large", 3, {"threshold": 100000, "value": "150000"}),
        "150000 yuan at stake (100000 or more) → tier 3",
        "涉及金额 150000 元（100000 元及以上）→ 第3级",
    ),
    (Reason("risk_violence", 3, {}), "Risk of violence → tier 3", "有暴力风险 → 第3级"),
    (
        Reason("risk_criminal", 3, {}),
        "Likely to turn criminal → tier 3",
        "可能激化为刑事案件 → 第3级",
    ),
    (Reason("risk_group", 3, {}), "Group dispute → tier 3", "群体性纠纷 → 第3级"),
    (Reason("risk_petitions", 2, {}), "Repeated petitions → tier 2", "反复信访 → 第2级"),
    (Reason("risk_vulnerable", 2, {}), "A vulnerable party → tier 2", "涉及弱势当事人 → 第2级"),
    (
        Reason("repeat", 2, {"threshold": 3, "value": 4}),
        "A party has complained 4 times recently (3 or more) → tier 2",
        "一方当事人近期已投诉 4 次（3 次及以上）→ 第2级",
    ),
    (
        Reason("departments", 3, {"threshold": 2, "value": 3}),
        "3 departments involved (2 or more) → tier 3",
        "涉及 3 个部门（2 个及以上）→ 第3级",
    ),
    (
        Reason("override", 3, {"reason": "老人多次信访"}),
        "Set by an officer: 老人多次信访 → tier 3",
        "民警调整：老人多次信访 → 第3级",
    ),
]


@pytest.mark.parametrize(("reason", "english", "chinese"), SENTENCES)
def test_each_reason_reads_as_a_sentence(reason, english, chinese):
    with translation.override("en"):
        assert rules.describe(reason) == english
        assert rules.describe(reason.as_dict()) == english  # as stored
    with translation.override("zh-hans"):
        assert rules.describe(reason) == chinese


def test_singular_in_english():
    with translation.override("en"):
        assert (
            rules.describe(Reason("departments", 3, {"threshold": 1, "value": 1}))
            == "1 department involved (1 or more) → tier 3"
        )
        assert (
            rules.describe(Reason("people", 2, {"threshold": 1, "value": 1}))
            == "1 person involved (1 or more) → tier 2"
        )


def test_every_code_triage_gives_has_its_own_sentence():
    every = rules.triage(
        facts(people=30, amount=200000, risks=RISKS, complaints=5, departments=2), DEFAULT
    ).reasons
    assert len(every) == 9
    with translation.override("zh-hans"):  # the fallback would show the code
        for reason in (*every, Reason("general", 1, {})):
            assert reason.code not in rules.describe(reason)


def test_an_unknown_code_still_reads():
    with translation.override("en"):
        assert rules.describe({"code": "moon", "tier": 2}) == "moon → tier 2"


# ── police mediation: exclusions, guardians ─────────────────────────────────────────────────


def test_police_mediation_is_allowed_when_nothing_excludes_it():
    assert rules.police_refusals([]) == []
    assert rules.police_refusals(set()) == []


EXCLUSIONS = {
    "hired_assault": ("Hiring someone to injure another", "雇凶伤害他人的"),
    "group_fight": ("A gang fight", "结伙斗殴的"),
    "picking_quarrels": ("Picking quarrels and provoking trouble", "寻衅滋事的"),
    "repeat_offender": (
        "Repeated violations of public-order administration",
        "多次实施违反治安管理行为的",
    ),
    "unwilling": (
        "A party has clearly said they do not want mediation",
        "当事人明确表示不愿意调解处理的",
    ),
    "reoffended_during": (
        "A party violated public-order administration against the other during mediation",
        "当事人在治安调解过程中又针对对方实施违反治安管理行为的",
    ),
    "cannot_attend": (
        "The offender cannot take part in the mediation in person",
        "调解案件的违反治安管理行为人不能亲自参加调解的",
    ),
    "other_unsuitable": ("Otherwise unsuitable for mediation", "其他不宜调解处理的"),
}


def test_the_exclusions_are_those_of_the_rules():
    assert set(rules.POLICE_EXCLUSIONS) == set(EXCLUSIONS)


@pytest.mark.parametrize("code", list(EXCLUSIONS))
def test_each_exclusion_refuses_police_mediation(code):
    english, chinese = EXCLUSIONS[code]
    with translation.override("en"):
        assert rules.exclusion_label(code) == english
        assert rules.police_refusals([code]) == [f"Police mediation is excluded: {english}."]
    with translation.override("zh-hans"):
        assert rules.exclusion_label(code) == chinese
        assert rules.police_refusals([code]) == [f"不适用治安调解：{chinese}。"]


def test_several_exclusions_give_one_message_each_in_the_rules_order():
    with translation.override("en"):
        found = rules.police_refusals(["unwilling", "hired_assault"])
    assert found == [
        "Police mediation is excluded: Hiring someone to injure another.",
        "Police mediation is excluded: A party has clearly said they do not want mediation.",
    ]


def test_an_unknown_exclusion_is_named():
    with translation.override("en"):
        assert rules.police_refusals(["bribery"]) == [
            "“bribery” is not one of the exclusions of police mediation."
        ]
        assert rules.exclusion_label("bribery") == "bribery"


ID = "510722199001011236"  # born 1990-01-01


@pytest.mark.parametrize(
    ("number", "on", "age"),
    [
        (ID, date(2026, 1, 1), 36),  # the birthday itself
        (ID, date(2025, 12, 31), 35),  # the day before
        (ID, date(1990, 1, 1), 0),
        (" 51072219900101123x ", date(2026, 1, 1), 36),  # a lower-case X, spaces
        ("510722201002150016", date(2026, 2, 14), 15),  # turns 16 tomorrow: needs a guardian
        ("510722201002150016", date(2026, 2, 15), 16),
        ("510722200002290011", date(2001, 2, 28), 0),  # born on a leap day
        ("510722200002290011", date(2001, 3, 1), 1),
    ],
)
def test_age_from_the_id_number(number, on, age):
    assert rules.age_on(number, on) == age


@pytest.mark.parametrize(
    "number",
    [
        "",
        "51072219900101123",  # 17 characters
        "5107221990010112345",  # 19
        "510722199013011236",  # month 13
        "510722199002301236",  # Feb 30
        "51072219900101123Y",
        "X10722199001011236",
        "51072219900101１２３6",  # full-width digits
        "510722203001011236",  # born after the day asked about
        "510722900101123",  # a 15-digit number of the old kind
    ],
)
def test_an_id_number_it_cannot_read_gives_no_age(number):
    assert rules.age_on(number, date(2026, 1, 1)) is None


def test_a_non_text_id_number_gives_no_age():
    assert rules.age_on(None, date(2026, 1, 1)) is None  # type: ignore[arg-type]


def test_under_16_needs_a_guardian():
    assert rules.needs_guardian(15)
    assert rules.needs_guardian(0)
    assert not rules.needs_guardian(16)
    assert not rules.needs_guardian(40)
    assert not rules.needs_guardian(None)  # no age known: the form asks for it instead


# ── deadlines on the real calendar ─────────────────────────────────────────────────────────


def test_the_calendar_is_the_one_the_tests_describe():
    assert CALENDAR.is_working_day(date(2025, 9, 28))  # Sunday, make-up
    assert CALENDAR.is_working_day(date(2025, 10, 11))  # Saturday, make-up
    assert not CALENDAR.is_working_day(date(2025, 10, 8))
    assert CALENDAR.is_working_day(date(2026, 2, 14))  # Saturday, make-up
    assert CALENDAR.is_working_day(date(2026, 2, 28))  # Saturday, make-up
    assert not CALENDAR.is_working_day(date(2026, 2, 23))


@pytest.mark.parametrize(
    ("accepted", "due"),
    [
        (date(2026, 3, 2), date(2026, 3, 5)),  # Monday → Thursday
        (date(2026, 3, 6), date(2026, 3, 11)),  # Friday → Wednesday
        (date(2026, 3, 7), date(2026, 3, 11)),  # accepted on a Saturday: Mon, Tue, Wed
        # Fri Sep 26 2025: the make-up Sunday Sep 28 counts, then Sep 29 and 30.
        (date(2025, 9, 26), date(2025, 9, 30)),
        # Mon Sep 29: Sep 30, then nothing until Thu Oct 9, Fri Oct 10.
        (date(2025, 9, 29), date(2025, 10, 10)),
        # Accepted during the holiday: Oct 9, 10, and the make-up Saturday Oct 11.
        (date(2025, 10, 3), date(2025, 10, 11)),
        # Thu Feb 12 2026: Fri 13, the make-up Saturday 14, then Tue 24 after the Spring Festival.
        (date(2026, 2, 12), date(2026, 2, 24)),
    ],
)
def test_police_mediation_is_done_within_3_working_days(accepted, due):
    assert rules.police_deadline(accepted, 3, add) == due


def test_the_police_deadline_is_never_the_day_of_acceptance():
    assert rules.police_deadline(date(2026, 3, 2), 0, add) == date(2026, 3, 3)


def test_the_second_session_is_within_7_working_days_of_the_first():
    # Fri Sep 26 2025: Sep 28 (make-up), 29, 30, Oct 9, 10, 11 (make-up), 13.
    assert rules.police_second_deadline(date(2025, 9, 26), 7, add) == date(2025, 10, 13)
    # Mon Mar 2 2026, an ordinary week: Wednesday of the next week.
    assert rules.police_second_deadline(date(2026, 3, 2), 7, add) == date(2026, 3, 11)
    # Across the Spring Festival: Feb 13, 14 (make-up), 24, 25, 26, 27, 28 (make-up).
    assert rules.police_second_deadline(date(2026, 2, 12), 7, add) == date(2026, 2, 28)
    assert rules.MAX_POLICE_SESSIONS == 2


@pytest.mark.parametrize(
    ("accepted", "months", "due"),
    [
        (date(2026, 3, 10), 1, date(2026, 4, 10)),  # a Friday: that day
        (date(2026, 3, 14), 1, date(2026, 4, 14)),
        (date(2026, 4, 11), 1, date(2026, 5, 11)),  # Monday
        (date(2026, 6, 13), 1, date(2026, 7, 13)),  # Jul 13 is a Monday
        (date(2026, 3, 7), 1, date(2026, 4, 7)),
        (date(2026, 5, 9), 1, date(2026, 6, 9)),
        (date(2026, 2, 7), 1, date(2026, 3, 9)),  # Sat Mar 7 → Monday Mar 9
        (date(2025, 9, 1), 1, date(2025, 10, 9)),  # Oct 1 is National Day → Oct 9
        (date(2025, 8, 28), 1, date(2025, 9, 28)),  # the make-up Sunday is a working day
        (date(2026, 1, 15), 1, date(2026, 2, 24)),  # in the Spring Festival → Feb 24
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped, and a make-up Saturday
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # clamped, a Friday
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # a leap year
        (date(2025, 12, 31), 2, date(2026, 2, 28)),  # two months, clamped; a make-up Saturday
    ],
)
def test_peoples_mediation_is_closed_within_a_month(accepted, months, due):
    assert rules.people_deadline(accepted, months, next_day) == due


def test_follow_up_is_due_working_days_after_the_performance_date():
    # Tue Sep 30 2025 + 5: Oct 9, 10, 11 (make-up), 13, 14.
    assert rules.followup_due(date(2025, 9, 30), 5, add) == date(2025, 10, 14)
    assert rules.followup_due(date(2026, 3, 6), 1, add) == date(2026, 3, 9)  # Fri → Mon
    assert rules.followup_due(date(2026, 3, 6), 0, add) == date(2026, 3, 9)  # at least one


@pytest.mark.parametrize(
    ("day", "months", "before"),
    [
        (date(2026, 5, 31), 3, date(2026, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2026, 1, 15), 1, date(2025, 12, 15)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
        (date(2026, 1, 15), 0, date(2026, 1, 15)),
    ],
)
def test_months_before(day, months, before):
    assert rules.months_before(day, months) == before


def test_repeat_complainant():
    today = date(2026, 5, 31)  # the window runs from Feb 28
    inside = [date(2026, 2, 28), date(2026, 4, 1), date(2026, 5, 31)]
    assert rules.is_repeat(inside, today, 3, 3)
    assert not rules.is_repeat(inside[1:], today, 3, 3)
    assert not rules.is_repeat([date(2026, 2, 27), *inside[1:]], today, 3, 3)  # one day early
    assert not rules.is_repeat([*inside[1:], date(2026, 6, 1)], today, 3, 3)  # not yet
    assert rules.is_repeat([date(2026, 4, 1)] * 3, today, 3, 3)  # three on one day count
    assert not rules.is_repeat(inside, today, 3, 0)  # 0: the flag is off
    assert not rules.is_repeat([], today, 3, 1)


# A shared machine may be slow to draw: the property is what is checked, not the speed.
LOADED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ── properties ─────────────────────────────────────────────────────────────────────────────

amounts = st.none() | st.decimals(
    min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False
)
thresholds = st.builds(
    Thresholds,
    tier2_people=st.integers(0, 50),
    tier3_people=st.integers(0, 200),
    tier2_amount=st.integers(0, 10**6),
    tier3_amount=st.integers(0, 10**7),
    repeat_complaints=st.integers(0, 10),
    tier3_departments=st.integers(0, 6),
)
all_facts = st.builds(
    Facts,
    people_involved=st.integers(1, 10_000),
    amount=amounts,
    risks=st.frozensets(st.sampled_from(RISKS)),
    complaints=st.integers(1, 30),
    departments=st.integers(1, 10),
)


@LOADED
@given(all_facts, thresholds)
def test_the_tier_is_the_highest_reason_and_within_1_to_3(f, t):
    found = rules.triage(f, t)
    assert found.reasons
    assert found.tier == max(r.tier for r in found.reasons)
    assert 1 <= found.tier <= 3
    assert all(1 <= r.tier <= 3 for r in found.reasons)
    # "general" only alone.
    assert ("general" in [r.code for r in found.reasons]) == (
        len(found.reasons) == 1 and found.tier == 1
    )
    # Every risk flag gives its reason.
    assert {r.code for r in found.reasons} >= set(f.risks)


@LOADED
@given(all_facts, thresholds, st.integers(0, 10_000))
def test_more_people_never_lowers_the_tier(f, t, more):
    bigger = Facts(f.people_involved + more, f.amount, f.risks, f.complaints, f.departments)
    assert rules.triage(bigger, t).tier >= rules.triage(f, t).tier


@LOADED
@given(all_facts, thresholds, st.decimals(min_value=0, max_value=10**8, places=2))
def test_a_larger_amount_never_lowers_the_tier(f, t, more):
    base = f.amount if f.amount is not None else Decimal(0)
    bigger = Facts(f.people_involved, base + more, f.risks, f.complaints, f.departments)
    assert rules.triage(bigger, t).tier >= rules.triage(f, t).tier


@LOADED
@given(all_facts, thresholds)
def test_every_reason_reads_in_both_languages(f, t):
    for reason in rules.triage(f, t).reasons:
        for language in ("en", "zh-hans"):
            with translation.override(language):
                text = rules.describe(reason)
            assert text.endswith(str(reason.tier) + ("级" if language == "zh-hans" else ""))


days_2004_2026 = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30))


@LOADED
@given(days_2004_2026, st.integers(0, 10))
def test_the_police_deadline_is_a_working_day_after_acceptance(accepted, days):
    due = rules.police_deadline(accepted, days, add)
    assert due > accepted
    assert CALENDAR.is_working_day(due)
    assert CALENDAR.working_days_between(accepted, due) == max(1, days)


@LOADED
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)), st.integers(0, 1))
def test_the_peoples_deadline_is_the_first_working_day_from_the_month_after(accepted, months):
    due = rules.people_deadline(accepted, months, next_day)
    target = rules.months_before(accepted, -months)
    assert due >= target >= accepted
    assert CALENDAR.is_working_day(due)
    day = target
    while day < due:  # nothing in between was a working day
        assert not CALENDAR.is_working_day(day)
        day += timedelta(days=1)


@LOADED
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)), st.dates())
def test_age_from_a_made_up_id_number(born, on):
    number = f"510722{born:%Y%m%d}0011"
    age = rules.age_on(number, on)
    if on < born:
        assert age is None
    else:
        assert age is not None

        # Counted independently: the birthdays that have come (Feb 29's on Mar 1).
        def birthday(year: int) -> date:
            try:
                return born.replace(year=year)
            except ValueError:
                return date(year, 3, 1)

        assert age == sum(1 for y in range(born.year + 1, on.year + 1) if birthday(y) <= on)
