"""Disputes' demo data: Tongchuan's year of three-tier mediation, at the source article's scale.

Django-free, like every demo generator (``jingwang.demo.registry``); ``load`` writes it with bulk
inserts. Tongchuan's year comes from its own stream (``"{seed}:TC:disputes"``) over the grids
territory generated and the people people generated (the other stations get no disputes):

- **the bodies**: the three tiers' rosters from the station's people: the workstation (the
  full-time mediators, the community officers, the grid workers), the harmony team (mediators,
  two officers, the deputies, CPPCC members and conduct supervisors) and the mediation room
  (a mediator, the chief, the judicial office and law-enforcement staff);
- **how many**: about 751 disputes mediated (at least one session), 746 of them ending in an
  agreement and 3 failed and referred (99.6% successful), plus a few still open (some overdue)
  and a few withdrawn before any session;
- **what and where**: the ten categories, neighbours and family most; a point inside one of the
  finest grids, drawn like the incidents' (population weighted by complexity);
- **which tier**: facts (people involved, amount at stake, risk flags, departments) drawn so
  that the triage rules (``rules.triage`` with the default thresholds) put about four in five in
  tier 1, most of the rest in tier 2 and a few in tier 3; a few are escalated after a failed
  session;
- **which track**: people's mediation mostly; police mediation for a share of the minor
  public-order cases between neighbours, families and strangers, linked at load time to a demo
  incident of a dispute or a fight that day (one or two sessions, within the rule's days);
- **agreements and follow-ups**: most written, some oral; most carried out at the follow-up
  visit, some partly first, a handful not carried out: reopened, mediated again and settled;
- **the leaking pipe**: one long repeat-complaint case like the article's: an old man on an
  upper floor, a leaking pipe, the family below; three months of complaints to the station (110
  calls) and to the letters-and-visits office, escalated from tier 1 to 2 to 3 and settled by an
  agreement carried out (``PIPE``).

The year is counted back from the day the demo loads: each dispute carries how many days before
that day it was registered (``days_ago``) and every later step its minute from the midnight of
that day, so what has happened by the load (and so each status) is fixed by the seed. Numbers
(``TC-<year>-<seq>``), deadlines (working days) and the incidents linked are the loader's.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import shapely

from jingwang.demo import synthetic
from jingwang.disputes import rules
from jingwang.people.demo import PeopleDemo, PeopleRows, PeopleStation
from jingwang.territory.demo import StationTerritory, TerritoryDemo, TerritoryRows

if TYPE_CHECKING:
    from jingwang.demo.generate import Context
    from jingwang.demo.load import Loading

STATION = "TC"
DAY = 24 * 60  # minutes

# How the year ends: agreements reached, failed and referred, open with an adjourned session
# (these three are the mediated ones: 746 + 3 + 2 = 751, 746 / 749 = 99.6%), open without a
# session yet (OVERDUE of them past their deadline), withdrawn before any session. The pipe case
# adds one agreement (counted in AGREED) and one withdrawn complaint.
AGREED = 746
REFERRED = 3
OPEN_ADJOURNED = 2
OPEN_NEW = 9
OVERDUE = 3
WITHDRAWN = 4
NOT_PERFORMED = 5  # agreements not carried out at the follow-up: reopened and settled again
# The days a year of disputes spans back from the load: within the figures page's default
# period (this month and the eleven before it) whatever the day, so the page shows them all.
YEAR = 333

CATEGORY_SHARES = {
    "neighbours": 0.27,
    "family": 0.20,
    "housing": 0.08,
    "land": 0.07,
    "labour": 0.08,
    "debts": 0.09,
    "traffic": 0.08,
    "consumer": 0.06,
    "medical": 0.02,
    "other": 0.05,
}
# The categories whose minor public-order cases may go to police mediation, and its share there.
POLICE_CATEGORIES = {"neighbours": 0.22, "family": 0.08, "consumer": 0.15, "other": 0.2}
# The incident categories a police-mediated dispute is linked to (no provocation: excluded).
INCIDENT_CATEGORIES = {
    "neighbours": ("public_order.fight", "disputes.neighbour"),
    "family": ("disputes.family", "public_order.fight"),
    "consumer": ("disputes.consumer", "public_order.fight"),
    "other": ("disputes.other", "public_order.fight", "disputes.economic"),
}
TIER_SHARES = {1: 0.80, 2: 0.16, 3: 0.04}
SOURCES = {"walk_in": 0.38, "grid_worker": 0.27, "phone": 0.12, "referral": 0.08, "other": 0.03}
ORGANISATIONS = {
    "labour": ("三台县{x}建筑劳务有限公司", "三台县{x}食品加工厂", "{x}物流有限公司"),
    "consumer": ("{x}家电商行", "{x}超市", "{x}装饰工程部"),
    "medical": ("三台县{x}医院", "{x}社区卫生服务中心"),
    "housing": ("{x}物业服务有限公司", "{x}房地产开发有限公司"),
}
ORG_WORDS = ("兴川", "梓州", "涪江", "鑫达", "华隆", "永安", "金桥", "顺通", "恒丰", "锦程")
FACTS = {
    "neighbours": (
        "{a}与楼下住户{b}因{what}发生纠纷，双方多次争吵",
        "{a}与邻居{b}因{what}产生矛盾，互不相让",
    ),
    "family": (
        "{a}与{b}因{what}发生家庭矛盾，多次争吵",
        "{a}与{b}因{what}产生纠纷，请求调解",
    ),
    "housing": ("{a}与{b}因{what}发生纠纷", "{a}反映{b}{what}，双方协商未果"),
    "land": ("{a}与{b}因{what}发生争执", "{a}与同组村民{b}因{what}产生纠纷"),
    "labour": ("{a}反映{b}{what}，多次讨要未果", "{a}与{b}因{what}发生劳资纠纷"),
    "debts": ("{a}称{b}{what}，催讨未果", "{a}与{b}因{what}发生纠纷"),
    "traffic": ("{a}与{b}因{what}就赔偿发生纠纷", "{a}与{b}发生{what}，赔偿协商不成"),
    "consumer": ("{a}在{b}{what}，要求退换赔偿未果", "{a}与{b}因{what}发生消费纠纷"),
    "medical": ("{a}认为{b}{what}，要求赔偿", "{a}家属与{b}因{what}发生争执"),
    "other": ("{a}与{b}因{what}发生纠纷", "{a}与{b}因{what}发生口角"),
}
WHATS = {
    "neighbours": ("噪声扰民", "楼道堆物", "排水漏水", "装修噪音", "停车占位", "饲养犬只"),
    "family": ("赡养老人", "婚姻感情不和", "子女抚养", "家庭财产分割", "彩礼返还"),
    "housing": ("物业费收取", "房屋漏水维修", "房屋租赁押金", "公共部位占用"),
    "land": ("宅基地界址", "承包地边界", "林地权属", "灌溉用水"),
    "labour": ("拖欠工资", "工伤赔偿", "解除劳动关系补偿", "加班费"),
    "debts": ("借款到期不还", "货款拖欠", "合伙账目不清"),
    "traffic": ("交通事故", "车辆剐蹭", "电动车碰撞"),
    "consumer": ("购买的家电质量有问题", "预付卡无法退费", "装修质量不合格"),
    "medical": ("诊疗存在过错", "手术后出现并发症"),
    "other": ("琐事", "宠物伤人", "广告噪音"),
}
TERMS = {
    "neighbours": "{b}于约定日期前{fix}；{a}不再就此事争吵；双方今后友好相处。",
    "family": "双方就{what}达成一致：{b}按约定履行义务；双方互相尊重，不再争吵。",
    "housing": "{b}于约定日期前完成维修并承担费用；{a}按约定缴纳相关费用。",
    "land": "双方按实地测量确认的界址为准，{b}拆除越界部分；此后互不侵占。",
    "labour": "{b}于约定日期前向{a}支付{amount}元；双方劳动关系就此了结。",
    "debts": "{b}分期向{a}偿还{amount}元，于约定日期前付清。",
    "traffic": "{b}一次性赔偿{a}{amount}元，此后双方就本次事故再无争议。",
    "consumer": "{b}为{a}退货退款或更换商品，并补偿{amount}元。",
    "medical": "{b}一次性补偿{a}{amount}元，{a}不再就此事投诉。",
    "other": "双方互相谅解，{b}向{a}赔礼道歉并赔偿{amount}元。",
}
FIXES = ("维修排水管道", "清理楼道堆物", "控制作息时间噪音", "挪走车辆", "拴养犬只")
SAID = (
    "双方陈述事实，调解员释法说理",
    "网格员介绍现场情况，双方各自陈述诉求",
    "民警讲解相关法律规定，双方情绪趋于平稳",
    "人大代表、政协委员参与调解，耐心劝导",
)
OFFERED = (
    "建议{b}承担主要责任并赔偿",
    "提出分期履行方案",
    "建议双方各让一步",
    "提出由第三方评估后确定金额",
)
PLACES = {1: "警民联调工作站", 2: "社区调解室", 3: "矛盾纠纷调解室"}
WITHDRAW_REASONS = ("双方已自行和解，申请人撤回调解申请", "申请人撤回调解申请")
REFERRALS = (
    ("court", "", "已告知当事人可向人民法院提起诉讼，并告知诉讼时效"),
    ("arbitration", "", "已告知当事人可向劳动人事争议仲裁委员会申请仲裁"),
    ("department", "县住房和城乡建设局", "已告知当事人该事项由住建部门依法处理，并转交材料"),
)


# ── the leaking pipe (the source article's example) ─────────────────────────────────────────


@dataclass(frozen=True)
class PipeComplaint:
    """One of the old man's complaints: a 110 call (an existing demo incident of the day gets
    his name and number) or a dispute registered for it."""

    days_ago: int
    kind: str  # "incident" / "dispute" / "referral" (a complaint forwarded by 信访)
    summary: str


PIPE = (
    PipeComplaint(88, "incident", "报警称楼上水管漏水，与楼下住户发生争吵，请求处理"),
    PipeComplaint(88, "dispute", ""),
    PipeComplaint(75, "incident", "再次报警称楼下住户上门吵闹，要求民警处理"),
    PipeComplaint(48, "referral", ""),
    PipeComplaint(28, "incident", "报警称楼下住户辱骂自己，认为漏水不是自己的责任"),
)


# ── the generated data ──────────────────────────────────────────────────────────────────────


@dataclass
class MemberData:
    tier: int
    person: str  # person key
    role: str  # Member.Role

    @property
    def key(self) -> str:
        return f"{self.tier}:{self.person}"


@dataclass
class PartyData:
    role: str
    kind: str
    name: str
    id_number: str = ""
    phone: str = ""
    age: int | None = None


@dataclass
class TierStepData:
    at: int  # minute from the midnight of the registration day
    kind: str  # triage / escalate / deescalate
    from_tier: int | None
    to_tier: int
    reasons: list[dict[str, Any]]
    reason: str = ""


@dataclass
class SessionData:
    at: int
    tier: int
    result: str
    participants: list[str]  # member keys
    place: str
    said: str
    offered: str


@dataclass
class FollowUpData:
    at: int
    method: str
    result: str
    notes: str


@dataclass
class AgreementData:
    session: int  # index of the agreeing session
    form: str
    facts: str
    terms: str
    performance: str
    perform_days: int  # after signing
    signatories: list[str]
    copies: int
    followups: list[FollowUpData]
    status: str


@dataclass
class ReferralData:
    at: int
    to: str
    department: str
    told: str


@dataclass
class DisputeData:
    days_ago: int  # registered that many days before the load
    minute: int  # minute of the day it was registered
    source: str
    category: str
    facts: str
    amount: int | None
    people_involved: int
    departments: int
    risks: tuple[str, ...]
    grid: str
    lon: float
    lat: float
    address: str
    parties: list[PartyData]
    steps: list[TierStepData]
    track: str  # "" / police / people
    track_at: int | None
    extended: bool
    sessions: list[SessionData]
    agreements: list[AgreementData]
    referral: ReferralData | None
    withdrawn: tuple[int, str] | None  # (minute, reason)
    lead: str | None  # member key
    status: str
    reopened: int
    closed_at: int | None
    incident_kinds: tuple[str, ...] = ()  # link to a demo incident of one of these categories
    pipe: bool = False

    @property
    def tier(self) -> int:
        return self.steps[-1].to_tier

    @property
    def calls(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.sessions:
            for key in s.participants:
                seen.setdefault(key, None)
        return list(seen)


@dataclass
class StationDisputes:
    code: str
    members: list[MemberData]
    disputes: list[DisputeData]
    pipe_complainant: PartyData | None
    pipe_incidents: list[PipeComplaint] = field(default_factory=list)


@dataclass
class DisputesDemo:
    stations: list[StationDisputes]

    def station(self, code: str) -> StationDisputes:
        return next(s for s in self.stations if s.code == code)

    def counts(self) -> dict[str, int]:
        disputes = [d for s in self.stations for d in s.disputes]
        return {
            "disputes": len(disputes),
            "mediation_sessions": sum(len(d.sessions) for d in disputes),
            "mediation_agreements": sum(len(d.agreements) for d in disputes),
        }

    def fingerprint(self) -> Iterator[Sequence[object]]:
        for s in self.stations:
            yield "station", s.code
            for m in s.members:
                yield m.tier, m.person, m.role
            p = s.pipe_complainant
            if p is not None:
                yield p.name, p.id_number, p.phone
            for d in s.disputes:
                yield (
                    d.days_ago, d.minute, d.source, d.category, d.facts, d.amount,
                    d.people_involved, d.departments, d.risks, d.grid, d.lon, d.lat, d.address,
                    d.track, d.track_at, d.extended, d.lead, d.status, d.reopened, d.closed_at,
                    d.incident_kinds, d.withdrawn,
                )  # fmt: skip
                for party in d.parties:
                    yield party.role, party.kind, party.name, party.id_number, party.phone
                for step in d.steps:
                    yield step.at, step.kind, step.from_tier, step.to_tier, step.reason
                for session in d.sessions:
                    yield session.at, session.tier, session.result, session.participants
                for a in d.agreements:
                    yield a.session, a.form, a.terms, a.perform_days, a.signatories, a.status
                    for f in a.followups:
                        yield f.at, f.method, f.result
                if d.referral is not None:
                    yield d.referral.at, d.referral.to, d.referral.told


# ── the generator ───────────────────────────────────────────────────────────────────────────


def generate(ctx: Context) -> DisputesDemo:
    territory = ctx.part("territory", TerritoryDemo)
    people = ctx.part("people", PeopleDemo)
    stations = [
        _Station(
            station,
            people.station(station.code),
            territory.area_code,
            ctx.random(STATION, "disputes"),
        ).build()
        for station in territory.stations
        if station.code == STATION
    ]
    return DisputesDemo(stations)


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), list(weights.values()))[0]


def _point_in(geometry: shapely.Geometry, rng: random.Random) -> tuple[float, float]:
    x0, y0, x1, y1 = geometry.bounds
    while True:
        x, y = round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)
        if shapely.contains_xy(geometry, x, y):
            return x, y


THRESHOLDS = rules.Thresholds()


class _Station:
    """One station's bodies and year of disputes (Tongchuan's)."""

    def __init__(
        self, station: StationTerritory, people: PeopleStation, area: str, rng: random.Random
    ) -> None:
        self.station, self.people, self.area, self.rng = station, people, area, rng
        self.names: set[str] = {p.name for p in people.people}
        self.phones: set[str] = {p.phone for p in people.people}
        self.ids: set[str] = {p.id_number for p in people.people}
        grids = {g.code: g for g in station.grids}
        self.grids = grids
        parents = {g.parent for g in station.grids if g.parent}
        self.finest = [g for g in station.grids if g.code not in parents]
        self.weights = list(
            itertools.accumulate(max(g.population, 1) * (1 + g.complexity) for g in self.finest)
        )
        for g in self.finest:
            shapely.prepare(g.geometry)
        self.community_name = {c.code: c.name for c in station.communities}
        self.township = station.name.removesuffix("派出所")
        by_grid_role: dict[tuple[str, str], str] = {}
        for a in people.assignments:
            by_grid_role.setdefault((a.grid, a.role), a.person)
        self.by_grid_role = by_grid_role
        self.members: list[MemberData] = []

    # -- rosters --

    def _roster(self) -> None:
        kinds: dict[str, list[str]] = {}
        for p in self.people.people:
            kinds.setdefault(p.kind, []).append(p.key)
        chief = self.people.role_people["station_chief"]
        officers = [k for k in kinds.get("officer", []) if k != chief]
        mediators = kinds.get("mediator", [])
        add = self.members.append
        for key in mediators:
            add(MemberData(1, key, "mediator"))
        for key in officers:
            add(MemberData(1, key, "officer"))
        for key in kinds.get("grid_worker", []):
            add(MemberData(1, key, "grid_worker"))
        for key in mediators:
            add(MemberData(2, key, "mediator"))
        for key in officers[:2]:
            add(MemberData(2, key, "officer"))
        for kind in ("deputy", "cppcc_member", "conduct_supervisor"):
            for key in kinds.get(kind, []):
                add(MemberData(2, key, kind))
        add(MemberData(3, mediators[0], "mediator"))
        add(MemberData(3, chief, "officer"))
        for kind in ("judicial_office", "law_enforcement"):
            for key in kinds.get(kind, []):
                add(MemberData(3, key, kind))
        self.by_tier_role: dict[tuple[int, str], list[str]] = {}
        for m in self.members:
            self.by_tier_role.setdefault((m.tier, m.role), []).append(m.key)
        self.keys = {m.key for m in self.members}

    def _up(self, grid_code: str, level: str) -> str | None:
        grid = self.grids[grid_code]
        while grid.level != level and grid.parent:
            grid = self.grids[grid.parent]
        return grid.code if grid.level == level else None

    def _participants(self, tier: int, grid: str, police: bool) -> list[str]:
        """Who takes part in a session at ``tier`` for a dispute in ``grid``."""
        rng = self.rng
        district = self._up(grid, "district")
        mediator = self.by_grid_role.get((district or "", "mediator"))
        mediators = self.by_tier_role[(tier, "mediator")]
        lead = f"{tier}:{mediator}" if mediator and f"{tier}:{mediator}" in self.keys else None
        chosen = [lead or rng.choice(mediators)]
        if tier == 1:
            sector = self._up(grid, "sector")
            block = self._up(grid, "block")
            officer = self.by_grid_role.get((sector or "", "community_officer"))
            worker = self.by_grid_role.get((block or "", "grid_worker"))
            if police and officer and f"1:{officer}" in self.keys:
                chosen.insert(0, f"1:{officer}")
            elif worker and f"1:{worker}" in self.keys and rng.random() < 0.7:
                chosen.append(f"1:{worker}")
        elif tier == 2:
            outside = [
                k
                for role in ("deputy", "cppcc_member", "conduct_supervisor")
                for k in self.by_tier_role.get((2, role), [])
            ]
            chosen += rng.sample(outside, rng.choice((1, 2, 2)))
            # The first deputy (the demo's mediation_member account) is called to many.
            deputy = self.by_tier_role.get((2, "deputy"), [])[:1]
            if deputy and deputy[0] not in chosen and rng.random() < 0.4:
                chosen.append(deputy[0])
        else:
            chosen += self.by_tier_role.get((3, "officer"), [])
            for role in ("judicial_office", "law_enforcement"):
                chosen += self.by_tier_role.get((3, role), [])[:1]
        return chosen

    # -- one party, one dispute --

    def _person(self, role: str, *, old: bool = False, contact: float = 0.35) -> PartyData:
        rng = self.rng
        male = rng.random() < 0.55
        name = synthetic.person_name(rng, self.names, male=male)
        years = (1938, 1952) if old else (1955, 2004)
        id_number = (
            synthetic.id_number(rng, self.ids, self.area, years, male=male)
            if rng.random() < contact * 0.6
            else ""
        )
        phone = synthetic.phone(rng, self.phones) if rng.random() < contact else ""
        return PartyData(role, "person", name, id_number, phone)

    def _organisation(self, category: str) -> PartyData:
        pattern = self.rng.choice(ORGANISATIONS[category])
        return PartyData("respondent", "organisation", pattern.format(x=self.rng.choice(ORG_WORDS)))

    def _facts_for(self, tier: int, police: bool) -> tuple[int, int | None, tuple[str, ...], int]:
        """People involved, amount, risks and departments that triage puts in ``tier``."""
        rng = self.rng
        people, departments = rng.choice((2, 2, 2, 3, 4)), 1
        amount: int | None = None
        risks: tuple[str, ...] = ()
        if rng.random() < 0.5:
            amount = rng.randrange(200, 9800, 50)
        if tier == 2:
            why = rng.choices(("people", "amount", "petitions", "vulnerable"), (3, 4, 1, 2))[0]
            if why == "people":
                people = rng.randint(5, 14)
            elif why == "amount":
                amount = rng.randrange(10000, 90000, 500)
            else:
                risks = ("risk_petitions",) if why == "petitions" else ("risk_vulnerable",)
        elif tier == 3:
            why = rng.choices(
                ("people", "amount", "violence", "group", "departments"), (2, 3, 2, 1, 2)
            )[0]
            if why == "people":
                people = rng.randint(20, 60)
            elif why == "amount":
                amount = rng.randrange(100000, 600000, 1000)
            elif why == "violence":
                risks = ("risk_violence",)
            elif why == "group":
                risks, people = ("risk_group",), rng.randint(8, 18)
            else:
                departments = rng.choice((2, 3))
        if police:
            amount = None if amount is None else min(amount, 5000)
        return people, amount, risks, departments

    def _dispute(
        self, days_ago: int, outcome: str, referral: tuple[str, str, str] | None = None
    ) -> DisputeData:
        """One ordinary dispute registered ``days_ago`` days before the load, ending in
        ``outcome``: agreed / referred / adjourned (open) / new (open, no session) / overdue /
        withdrawn / reopened (not carried out once, then settled)."""
        rng = self.rng
        category = _pick(rng, CATEGORY_SHARES)
        if referral is not None and referral[0] == "arbitration":
            category = "labour"
        target = _pick(rng, TIER_SHARES)
        police = (
            outcome in ("agreed", "overdue", "new")
            and target == 1
            and category in POLICE_CATEGORIES
            and rng.random() < POLICE_CATEGORIES[category] * (1 if outcome == "agreed" else 0.5)
        )
        if outcome == "reopened":
            target = 1
        people_involved, amount, risks, departments = self._facts_for(target, police)
        triaged = rules.triage(
            rules.Facts(
                people_involved,
                Decimal(amount) if amount is not None else None,
                frozenset(risks),
                1,
                departments,
            ),
            THRESHOLDS,
        )
        grid = rng.choices(self.finest, cum_weights=self.weights)[0]
        lon, lat = _point_in(grid.geometry, rng)
        community = self.community_name.get(grid.community or "", "")
        address = f"三台县{self.township}镇{community}{rng.randint(1, 160)}号"
        applicant = self._person("applicant")
        respondent = (
            self._organisation(category)
            if category in ORGANISATIONS and rng.random() < 0.6
            else self._person("respondent")
        )
        parties = [applicant, respondent]
        if rng.random() < 0.08 and people_involved >= 3:
            parties.append(self._person("third_party", contact=0.2))
        people_involved = max(people_involved, len(parties))
        what = rng.choice(WHATS[category])
        facts = rng.choice(FACTS[category]).format(a=applicant.name, b=respondent.name, what=what)
        source = "incident" if police else _pick(rng, SOURCES)
        minute = rng.randint(8 * 60, 20 * 60)
        steps = [
            TierStepData(
                minute, "triage", None, triaged.tier, [r.as_dict() for r in triaged.reasons]
            )
        ]
        track = "police" if police else "people"
        track_at: int | None = minute + rng.randint(10, 90)
        sessions: list[SessionData] = []
        agreements: list[AgreementData] = []
        referred: ReferralData | None = None
        withdrawn: tuple[int, str] | None = None
        status, reopened, closed_at, extended = "open", 0, None, False
        horizon = days_ago * DAY  # the load's midnight: nothing happens at or after it

        def session_at(day: int, previous: int) -> int:
            at = day * DAY + rng.randint(9 * 60, 17 * 60)
            return max(at, previous + rng.randint(30, 150))

        def session(at: int, tier: int, result: str) -> SessionData:
            return SessionData(
                at,
                tier,
                result,
                self._participants(tier, grid.code, police),
                PLACES[tier],
                rng.choice(SAID),
                rng.choice(OFFERED).format(b=respondent.name),
            )

        def agreement(
            index: int, oral: bool, perform_days: int, followups: list[FollowUpData], state: str
        ) -> None:
            money = amount or rng.randrange(200, 3000, 100)
            terms = TERMS[category].format(
                a=applicant.name, b=respondent.name, what=what, amount=money, fix=rng.choice(FIXES)
            )
            signers = [p.name for p in parties if p.role != "third_party"]
            agreements.append(
                AgreementData(
                    index,
                    "oral" if oral else "written",
                    facts,
                    terms,
                    "当场履行" if oral else "按协议约定期限履行，调解员回访确认",
                    perform_days,
                    signers,
                    0 if oral else len(signers) + 1,
                    followups,
                    state,
                )
            )

        def followups_after(
            signed: int, perform_days: int, performed: str
        ) -> tuple[list[FollowUpData], str]:
            """Follow-up visits (those before the load) and the agreement's status."""
            due = (signed // DAY + perform_days + rng.randint(6, 9)) * DAY
            visits: list[FollowUpData] = []
            at = due + rng.randint(9 * 60, 17 * 60)
            if performed == "partly" and at < horizon:
                visits.append(FollowUpData(at, "visit", "partly", "已履行部分，约定近期履行完毕"))
                at += rng.randint(6, 12) * DAY
            if at >= horizon:
                return visits, "pending"
            if performed == "not_performed":
                visits.append(FollowUpData(at, "visit", "not_performed", "对方未按协议履行"))
                return visits, "unperformed"
            method = "phone" if rng.random() < 0.4 else "visit"
            visits.append(FollowUpData(at, method, "performed", "协议已履行完毕，双方满意"))
            return visits, "performed"

        if outcome in ("agreed", "reopened", "adjourned", "referred"):
            tier = triaged.tier
            if police:
                n = 1 if rng.random() < 0.85 else 2
                days = [0] if n == 1 else [0, rng.randint(1, 4)]
            else:
                n = rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
                span = {1: 12, 2: 20, 3: 26}[tier]
                days = sorted(rng.randint(0, span) for _ in range(n))
            days = [min(d, days_ago - 1) for d in days]
            if outcome == "adjourned":
                days = days[:1]
            previous = track_at or minute
            escalate = (
                outcome == "agreed"
                and not police
                and tier < 3
                and rng.random() < (0.04 if tier == 1 else 0.03)
            )
            for k, day in enumerate(days):
                at = session_at(day, previous)
                last = k == len(days) - 1
                if escalate and k == 0:
                    sessions.append(session(at, tier, "failed"))
                    up = tier + 1
                    steps.append(
                        TierStepData(
                            at + rng.randint(60, 600),
                            "escalate",
                            tier,
                            up,
                            [],
                            "调解未果，双方分歧较大，提请上一级调解组织联合调解",
                        )
                    )
                    tier = up
                    at = max(at + DAY, steps[-1].at + 60)
                    at = min(at, horizon - 60)
                    sessions.append(session(at, tier, "agreed"))
                    break
                result = (
                    "agreed"
                    if last and outcome in ("agreed", "reopened")
                    else "failed"
                    if last and outcome == "referred"
                    else "adjourned"
                )
                sessions.append(session(at, tier, result))
                previous = at
            last_session = sessions[-1]
            if outcome in ("agreed", "reopened"):
                oral = tier == 1 and rng.random() < 0.15 and outcome == "agreed"
                signed = last_session.at
                perform_days = 0 if oral else rng.choice((0, 3, 7, 10, 15, 30))
                if outcome == "reopened":
                    visits, state = followups_after(signed, perform_days, "not_performed")
                    agreement(len(sessions) - 1, False, perform_days, visits, state)
                    reopened = 1
                    again = visits[-1].at + rng.randint(2, 5) * DAY
                    sessions.append(session(again, tier, "agreed"))
                    visits2, state2 = followups_after(again, 7, "performed")
                    agreement(len(sessions) - 1, False, 7, visits2, state2)
                    status = "performed" if state2 == "performed" else "agreed"
                    if state2 == "performed":
                        closed_at = visits2[-1].at
                else:
                    performed = "partly" if rng.random() < 0.03 else "performed"
                    visits, state = followups_after(signed, perform_days, performed)
                    agreement(len(sessions) - 1, oral, perform_days, visits, state)
                    status = "performed" if state == "performed" else "agreed"
                    if state == "performed":
                        closed_at = visits[-1].at
            elif outcome == "referred":
                assert referral is not None
                at = min(last_session.at + rng.randint(60, 2 * DAY), horizon - 60)
                referred = ReferralData(at, *referral)
                status, closed_at = "referred", referred.at
        elif outcome == "withdrawn":
            at = minute + rng.randint(2, 3 * DAY)
            withdrawn = (at, rng.choice(WITHDRAW_REASONS))
            status, closed_at = "withdrawn", at
        elif outcome == "new":
            if rng.random() < 0.5:
                track, track_at = "", None
        elif outcome == "overdue":
            pass
        lead = sessions[-1].participants[0] if sessions else None
        if lead is None and track:
            lead = self.by_tier_role[(1, "mediator")][0]
        return DisputeData(
            days_ago, minute, source, category, facts, amount, people_involved, departments,
            risks, grid.code, lon, lat, address, parties, steps, track, track_at, extended,
            sessions, agreements, referred, withdrawn, lead, status, reopened, closed_at,
            INCIDENT_CATEGORIES.get(category, ()) if police else (),
        )  # fmt: skip

    # -- the year --

    def build(self) -> StationDisputes:
        rng = self.rng
        self._roster()
        plan: list[str] = (
            ["agreed"] * (AGREED - 1 - NOT_PERFORMED)
            + ["reopened"] * NOT_PERFORMED
            + ["referred"] * REFERRED
            + ["adjourned"] * OPEN_ADJOURNED
            + ["new"] * (OPEN_NEW - OVERDUE)
            + ["overdue"] * OVERDUE
            + ["withdrawn"] * WITHDRAWN
        )
        disputes: list[DisputeData] = []
        referrals = iter(REFERRALS)
        for outcome in plan:
            if outcome == "reopened":
                days_ago = rng.randint(120, 320)
            elif outcome in ("referred", "withdrawn"):
                days_ago = rng.randint(40, 320)
            elif outcome == "adjourned":
                days_ago = rng.randint(3, 10)
            elif outcome == "new":
                days_ago = rng.randint(1, 3)
            elif outcome == "overdue":
                days_ago = rng.randint(40, 70)
            else:
                days_ago = rng.randint(1, YEAR)
            referral = next(referrals) if outcome == "referred" else None
            disputes.append(self._dispute(days_ago, outcome, referral))
        complainant, pipe = self._pipe()
        disputes += pipe
        disputes.sort(key=lambda d: (-d.days_ago, d.minute))
        return StationDisputes(
            self.station.code,
            self.members,
            disputes,
            complainant,
            [c for c in PIPE if c.kind == "incident"],
        )

    def _pipe(self) -> tuple[PartyData, list[DisputeData]]:
        """The leaking pipe: the old man (老人) upstairs and the family below."""
        rng = self.rng
        old = self._person("applicant", old=True, contact=1.0)
        old.id_number = old.id_number or synthetic.id_number(
            rng, self.ids, self.area, (1940, 1946), male=True
        )
        old.phone = old.phone or synthetic.phone(rng, self.phones)
        below = self._person("respondent", contact=1.0)
        below.phone = below.phone or synthetic.phone(rng, self.phones)
        grid = rng.choices(self.finest, cum_weights=self.weights)[0]
        lon, lat = _point_in(grid.geometry, rng)
        community = self.community_name.get(grid.community or "", "")
        address = f"三台县{self.township}镇{community}{rng.randint(1, 160)}号4单元"
        first = PIPE[1]
        start = first.days_ago
        facts = (
            f"{old.name}（老人，独居，住五楼）家卫生间水管老化漏水，渗至四楼{below.name}家天花板，"
            f"双方多次争吵；{old.name}认为是楼栋主管道问题，反复向派出所及相关部门投诉。"
        )

        def at(days_ago: int, hour: int, minute: int = 0) -> int:
            return (start - days_ago) * DAY + hour * 60 + minute

        def people(tier: int, *roles: str) -> list[str]:
            return [self.by_tier_role[(tier, role)][0] for role in roles]

        def triaged(
            complaints: int, departments: int, risks: tuple[str, ...]
        ) -> list[dict[str, Any]]:
            t = rules.triage(
                rules.Facts(2, Decimal(3000), frozenset(risks), complaints, departments),
                THRESHOLDS,
            )
            return [r.as_dict() for r in t.reasons]

        parties = [
            PartyData("applicant", "person", old.name, old.id_number, old.phone, None),
            PartyData("respondent", "person", below.name, below.id_number, below.phone, None),
        ]
        deputy, cppcc = people(2, "deputy")[0], people(2, "cppcc_member")[0]
        sessions = [
            SessionData(
                at(87, 10),
                1,
                "agreed",
                people(1, "mediator", "grid_worker"),
                PLACES[1],
                "调解员与网格员上门查看漏水情况，双方陈述",
                "建议老人先行维修卫生间水管",
            ),
            SessionData(
                at(66, 15),
                2,
                "adjourned",
                [people(2, "mediator")[0], deputy, cppcc],
                PLACES[2],
                "人大代表、政协委员入户走访，老人情绪激动，坚持认为是主管道问题",
                "提出请物业公司查明漏水原因",
            ),
            SessionData(
                at(54, 10),
                2,
                "failed",
                [people(2, "mediator")[0], deputy],
                PLACES[2],
                "物业称主管道无问题，老人不认可；楼下住户要求赔偿天花板损失",
                "建议双方共同委托第三方检测",
            ),
            SessionData(
                at(43, 9, 30),
                3,
                "adjourned",
                people(3, "mediator", "officer", "judicial_office", "law_enforcement"),
                PLACES[3],
                "司法所、住建执法人员到场，决定对楼栋管道进行检测",
                "由住建部门组织检测，明确责任",
            ),
            SessionData(
                at(24, 14),
                3,
                "agreed",
                people(3, "mediator", "officer", "judicial_office", "law_enforcement"),
                PLACES[3],
                "检测结论：老人家支管老化为主要原因，主管道接口渗漏为次要原因",
                "物业更换主管道接口，老人更换支管，老人补偿楼下天花板修复费用",
            ),
        ]
        oral = AgreementData(
            0, "oral", facts, f"{old.name}于七日内自行维修卫生间漏水水管。", "七日内维修完毕",
            7, [old.name, below.name], 0,
            [FollowUpData(at(77, 16), "visit", "not_performed", "老人未维修，称不是自己的责任")],
            "unperformed",
        )  # fmt: skip
        written = AgreementData(
            4,
            "written",
            facts,
            f"一、物业公司于十日内更换楼栋主管道接口；二、{old.name}于十日内更换卫生间支管，"
            f"社区协助联系维修人员；三、{old.name}补偿{below.name}天花板修复费用1500元；"
            "四、双方今后和睦相处，不再因此事争吵。",
            "十日内完成维修；补偿款当场支付",
            10,
            [old.name, below.name],
            3,
            [
                FollowUpData(at(13, 10), "visit", "partly", "主管道接口已更换，支管更换中"),
                FollowUpData(at(9, 10), "visit", "performed", "维修完毕，不再漏水，双方满意"),
            ],
            "performed",
        )
        steps = [
            TierStepData(at(88, 15, 20), "triage", None, 1, triaged(2, 1, ())),
            TierStepData(
                at(74, 11), "escalate", 1, 2, triaged(3, 1, ("risk_petitions",)),
                "两周内反复投诉（两次报警、一次来所登记），协议未履行，提请警民和谐工作队调解",
            ),
            TierStepData(
                at(53, 16), "escalate", 2, 3, triaged(3, 3, ("risk_petitions",)),
                "涉及物业公司、供水公司、住建部门，需多部门到场联合调处",
            ),
        ]  # fmt: skip
        main = DisputeData(
            start, 15 * 60 + 20, "incident", "neighbours", facts, 3000, 2, 3, ("risk_petitions",),
            grid.code, lon, lat, address, parties, steps, "people", at(88, 15, 40), True,
            sessions, [oral, written], None, None, sessions[-1].participants[0], "performed", 1,
            at(9, 10), ("disputes.neighbour",), pipe=True,
        )  # fmt: skip
        referral = PIPE[3]
        forwarded = DisputeData(
            referral.days_ago, 10 * 60, "referral", "neighbours",
            f"县信访局转来：{old.name}反映楼下住户因漏水问题多次上门吵闹，要求处理。", None, 2, 1,
            ("risk_petitions",), grid.code, lon, lat, address,
            [
                PartyData("applicant", "person", old.name, old.id_number, old.phone, None),
                PartyData("respondent", "person", below.name, "", below.phone, None),
            ],
            [TierStepData(10 * 60, "triage", None, 2, triaged(4, 1, ("risk_petitions",)))],
            "", None, False, [], [], None,
            (10 * 60 + 45, "与在调纠纷为同一事项，并入该案调解"), None, "withdrawn", 0,
            10 * 60 + 45, (), pipe=True,
        )  # fmt: skip
        return old, [main, forwarded]


# ── the loader ──────────────────────────────────────────────────────────────────────────────


@dataclass
class DisputeRows:
    """What the disputes loader wrote: dispute ids by station (in the order generated) and the
    members' ids by key ("<tier>:<person key>")."""

    dispute_ids: dict[str, list[int]] = field(default_factory=dict)
    member_ids: dict[str, int] = field(default_factory=dict)


def load(part: DisputesDemo, loading: Loading, now: datetime | None = None) -> DisputeRows:
    """Write the bodies, their rosters and the year of disputes with bulk inserts (one
    ``load_demo`` event covers them all, as for the other parts)."""
    from django.utils import timezone

    from jingwang.core import workdays
    from jingwang.disputes.actions import BODY_NAMES
    from jingwang.disputes.models import Body, Member

    territory = loading.get("territory", TerritoryRows)
    people = loading.get("people", PeopleRows)
    accounts = loading.written.get("accounts")
    users = list(getattr(accounts, "users", {}).values())
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate(now)
    categories = _categories(territory.bureau.id)
    calendar = workdays.current_calendar()
    rows = DisputeRows()

    for data in part.stations:
        station = territory.stations[data.code]
        mediator = next(
            (u for u in users if u.role == "mediator" and u.station_id == station.id), None
        )
        bodies = Body.objects.bulk_create(
            Body(station=station, tier=tier, name=name) for tier, name in BODY_NAMES.items()
        )
        body_of = {b.tier: b for b in bodies}
        members = Member.objects.bulk_create(
            Member(
                body=body_of[m.tier],
                person_id=people.person_ids[m.person],
                role=m.role,
                since=today - timedelta(days=400),
            )
            for m in data.members
        )
        rows.member_ids.update(
            (m.key, row.pk) for m, row in zip(data.members, members, strict=True)
        )

        def moment(d: DisputeData, minute: int) -> datetime:
            """A step's local time: ``minute`` from the midnight of the registration day."""
            day = today - timedelta(days=d.days_ago) + timedelta(days=minute // DAY)
            return datetime.combine(day, time(), tzinfo=zone) + timedelta(minutes=minute % DAY)

        writer = _Writer(
            data,
            station,
            categories,
            territory.grid_ids,
            rows.member_ids,
            moment,
            calendar,
            mediator,
        )
        taken, his = _pipe_incidents(data, station.id, moment)
        writer.incidents = _incidents_for(data, station.id, moment, taken, his)
        rows.dispute_ids[data.code] = writer.write()
    return rows


class _Writer:
    """One station's disputes and everything under them, in bulk."""

    def __init__(
        self,
        data: StationDisputes,
        station: Any,
        categories: dict[str, int],
        grid_ids: dict[str, int],
        member_id: dict[str, int],
        moment: Any,
        calendar: Any,
        mediator: Any,
    ) -> None:
        self.data, self.station, self.categories = data, station, categories
        self.grid_ids = grid_ids
        self.member_id, self.moment, self.calendar = member_id, moment, calendar
        self.mediator = mediator
        self.incidents: dict[int, tuple[int, str, str]] = {}

    def numbers(self) -> list[str]:
        """``<station>-<year>-<seq>``, in registration order within each year."""
        disputes, moment = self.data.disputes, self.moment
        order = sorted(range(len(disputes)), key=lambda n: moment(disputes[n], disputes[n].minute))
        seq: Counter[int] = Counter()
        numbers = [""] * len(disputes)
        for n in order:
            year = moment(disputes[n], disputes[n].minute).year
            seq[year] += 1
            numbers[n] = f"{self.data.code}-{year}-{seq[year]:04d}"
        return numbers

    def write(self) -> list[int]:
        from jingwang.disputes.models import Dispute

        moment, member_id = self.moment, self.member_id
        numbers = self.numbers()
        disputes: list[Dispute] = []
        for n, d in enumerate(self.data.disputes):
            registered = moment(d, d.minute)
            incident = self.incidents.get(n)
            estimate = self.calendar.estimating()
            deadline = _deadline(d, moment, estimate)
            dispute = Dispute(
                station=self.station,
                number=numbers[n],
                registered_at=registered,
                source=d.source,
                category_id=self.categories[d.category],
                facts=d.facts,
                amount=Decimal(d.amount) if d.amount is not None else None,
                people_involved=d.people_involved,
                departments=d.departments,
                incident_id=incident[0] if incident else None,
                tier=d.tier,
                tier_reasons=_current_reasons(d),
                tier_overridden=any(s.kind != "triage" for s in d.steps),
                lead_id=member_id[d.lead] if d.lead else None,
                track=d.track,
                track_started=moment(d, d.track_at).date() if d.track_at is not None else None,
                deadline=deadline,
                deadline_uncertain=bool(estimate.guessed) if deadline else False,
                extended=d.extended,
                status=d.status,
                reopened=d.reopened,
                closed_at=moment(d, d.closed_at) if d.closed_at is not None else None,
                lon=d.lon,
                lat=d.lat,
                grid_id=self.grid_ids[d.grid],
                grid_at_time_id=self.grid_ids[d.grid],
                version=1,
                created_at=registered,
            )
            for risk in d.risks:
                setattr(dispute, risk, True)
            dispute.address = d.address
            disputes.append(dispute)
        created = Dispute.objects.bulk_create(disputes, batch_size=500)
        ids = [row.pk for row in created]
        self.under(ids, numbers)
        return ids

    def under(self, ids: list[int], numbers: list[str]) -> None:
        """Parties, tier changes, calls, sessions and their members, agreements, follow-ups and
        referrals of the disputes just written."""
        from jingwang.disputes.models import (
            Agreement,
            Call,
            FollowUp,
            Party,
            Referral,
            Session,
            TierChange,
        )

        moment, member_id, by = self.moment, self.member_id, self.mediator
        parties: list[Party] = []
        changes: list[TierChange] = []
        calls: list[Call] = []
        sessions: list[Session] = []
        participants: list[list[str]] = []
        agreements: list[Agreement] = []
        followups: list[tuple[int, FollowUp]] = []
        referrals: list[Referral] = []
        for n, d in enumerate(self.data.disputes):
            pk = ids[n]
            caller = self.incidents.get(n)
            for k, p in enumerate(d.parties):
                party = Party(dispute_id=pk, kind=p.kind, role=p.role, name=p.name, age=p.age)
                party.order = k
                party.id_number = p.id_number
                party.phone = p.phone
                if k == 0 and caller is not None and caller[1] and not d.pipe:
                    # The incident's caller is the applicant (their phone links the two).
                    party.name = caller[1]
                    party.phone = caller[2]
                parties.append(party)
            for step in d.steps:
                changes.append(
                    TierChange(
                        dispute_id=pk,
                        kind=step.kind,
                        from_tier=step.from_tier,
                        to_tier=step.to_tier,
                        reasons=step.reasons,
                        reason=step.reason,
                        at=moment(d, step.at),
                    )
                )
            first = {key: moment(d, s.at) for s in reversed(d.sessions) for key in s.participants}
            calls += [
                Call(dispute_id=pk, member_id=member_id[key], called_at=first[key])
                for key in d.calls
            ]
            for s in d.sessions:
                held = moment(d, s.at)
                sessions.append(
                    Session(
                        dispute_id=pk,
                        tier=s.tier,
                        held_at=held,
                        place=s.place,
                        said=s.said,
                        offered=s.offered,
                        result=s.result,
                        created_at=held + timedelta(minutes=40),
                        created_by=by,
                    )
                )
                participants.append(s.participants)
            for k, a in enumerate(d.agreements):
                signed = moment(d, d.sessions[a.session].at)
                perform_by = signed.date() + timedelta(days=a.perform_days)
                estimate = self.calendar.estimating()
                agreements.append(
                    Agreement(
                        dispute_id=pk,
                        number=f"{numbers[n]}-X{k + 1}",
                        form=a.form,
                        facts=a.facts,
                        terms=a.terms,
                        performance=a.performance,
                        perform_by=perform_by,
                        signed_on=signed.date(),
                        signatories=a.signatories,
                        copies=a.copies,
                        status=a.status,
                        followup_due=rules.followup_due(perform_by, 5, estimate.add_working_days),
                        created_at=signed + timedelta(minutes=30),
                        created_by=by,
                    )
                )
                followups += [
                    (
                        len(agreements) - 1,
                        FollowUp(
                            visited_at=moment(d, f.at),
                            method=f.method,
                            result=f.result,
                            notes=f.notes,
                            created_at=moment(d, f.at) + timedelta(minutes=20),
                            created_by=by,
                        ),
                    )
                    for f in a.followups
                ]
            if d.referral is not None:
                r = d.referral
                referrals.append(
                    Referral(
                        dispute_id=pk,
                        to=r.to,
                        department=r.department,
                        told=r.told,
                        referred_at=moment(d, r.at),
                        created_by=by,
                    )
                )
        Party.objects.bulk_create(parties, batch_size=1000)
        TierChange.objects.bulk_create(changes, batch_size=1000)
        Call.objects.bulk_create(calls, batch_size=1000)
        made = Session.objects.bulk_create(sessions, batch_size=1000)
        through = Session.participants.through
        through.objects.bulk_create(
            (
                through(session_id=row.pk, member_id=member_id[key])
                for row, keys in zip(made, participants, strict=True)
                for key in dict.fromkeys(keys)
            ),
            batch_size=1000,
        )
        written = Agreement.objects.bulk_create(agreements, batch_size=1000)
        for k, followup in followups:
            followup.agreement_id = written[k].pk
        FollowUp.objects.bulk_create([f for _k, f in followups], batch_size=1000)
        Referral.objects.bulk_create(referrals, batch_size=1000)


def _categories(bureau_id: int) -> dict[str, int]:
    """The bureau's dispute categories by code (the choice list's defaults, seeded once)."""
    from jingwang.core import choicelists
    from jingwang.disputes.models import Category

    choicelists.ensure(Category, bureau_id)
    return dict(Category.objects.filter(bureau_id=bureau_id).values_list("code", "id"))


def _current_reasons(d: DisputeData) -> list[dict[str, Any]]:
    """The reasons of the current tier: the triage's, or the escalation's (as the actions
    store a tier set by hand)."""
    last = d.steps[-1]
    if last.kind == "triage":
        return last.reasons
    return [rules.Reason("override", last.to_tier, {"reason": last.reason}).as_dict()]


def _deadline(d: DisputeData, moment: Any, estimate: Any) -> date | None:
    """The deadline of the dispute's track (``rules``, the default settings) from its
    acceptance; police mediation's after a first session that did not agree, from that
    session; a reopened one's from the follow-up that reopened it, extended once if so."""
    if not d.track or d.track_at is None:
        return None
    add, next_day = estimate.add_working_days, estimate.next_working_day
    accepted = moment(d, d.track_at).date()
    if d.track == "police":
        if d.sessions and d.sessions[0].result != "agreed":
            return rules.police_second_deadline(moment(d, d.sessions[0].at).date(), 7, add)
        return rules.police_deadline(accepted, 3, add)
    reopening = [f for a in d.agreements for f in a.followups if f.result == "not_performed"]
    start = moment(d, reopening[-1].at).date() if reopening else accepted
    due = rules.people_deadline(start, 1, next_day)
    if d.extended:
        due = rules.people_deadline(due, 1, next_day)
    return due


def _incidents_for(
    data: StationDisputes, station_id: int, moment: Any, taken: dict[int, int], his: list[int]
) -> dict[int, tuple[int, str, str]]:
    """Each police-mediated dispute linked to a demo incident of a fitting category received
    within the two days before it (the latest such), and the pipe case to his first call:
    dispute index → (incident id, caller name, caller phone)."""
    from jingwang.incidents.models import Incident

    found: dict[int, tuple[int, str, str]] = {
        n: (incident_id, "", "") for n, incident_id in taken.items()
    }
    wanted = {n: d for n, d in enumerate(data.disputes) if d.incident_kinds and n not in found}
    if not wanted:
        return found
    kinds = {k for d in wanted.values() for k in d.incident_kinds}
    first = min(moment(d, d.minute) for d in wanted.values()) - timedelta(days=2)
    rows = (
        Incident.objects.filter(
            station_id=station_id, category__code__in=kinds, received_at__gte=first
        )
        .exclude(pk__in=his)
        .values_list("pk", "category__code", "received_at")
        .order_by("received_at", "pk")
    )
    candidates = list(rows)
    used: set[int] = set()
    chosen: dict[int, int] = {}
    for n, d in wanted.items():
        registered = moment(d, d.minute)
        fits = [
            pk
            for pk, code, at in candidates
            if pk not in used
            and code in d.incident_kinds
            and registered - timedelta(days=2) <= at < registered
        ]
        if fits:
            used.add(fits[-1])
            chosen[n] = fits[-1]
    callers = Incident.objects.in_bulk(list(chosen.values()))
    for n, pk in chosen.items():
        incident = callers[pk]
        found[n] = (pk, incident.caller_name, incident.caller_phone.plaintext)
    return found


def _pipe_incidents(
    data: StationDisputes, station_id: int, moment: Any
) -> tuple[dict[int, int], list[int]]:
    """The old man's 110 calls: for each, the demo incident of a dispute (a neighbours' one or
    noise first) received last before the call's noon becomes his (his name and number, what he
    said), so his timeline shows them with his disputes. Answers ({index of the pipe case: its
    first call's incident id}, the ids of all his calls)."""
    from jingwang.incidents.models import Incident

    complainant = data.pipe_complainant
    main = next((n for n, d in enumerate(data.disputes) if d.pipe and d.source == "incident"), None)
    if complainant is None or main is None:
        return {}, []
    case = data.disputes[main]
    linked: dict[int, int] = {}
    used: list[int] = []
    preferred = ("disputes.neighbour", "public_order.noise")
    for k, call in enumerate(data.pipe_incidents):
        # His first call comes the day before the dispute it led to; the others by noon.
        end = (
            moment(case, case.minute)
            if k == 0
            else moment(case, (case.days_ago - call.days_ago) * DAY + 12 * 60)
        )
        near = Incident.objects.filter(
            station_id=station_id,
            category__code__in=(*preferred, "disputes.other", "disputes.family", "help.elderly"),
            received_at__gte=end - timedelta(days=1 if k == 0 else 3),
            received_at__lt=end,
        ).exclude(pk__in=used)
        incident = (
            near.filter(category__code__in=preferred).order_by("-received_at", "-pk").first()
            or near.order_by("-received_at", "-pk").first()
        )
        if incident is None:
            continue
        used.append(incident.pk)
        incident.caller_name = complainant.name
        incident.caller_phone = complainant.phone
        incident.summary = call.summary
        incident.save(update_fields=["caller_name", "summary", *Incident.caller_phone.columns()])
        if k == 0:
            linked[main] = incident.pk
    return linked, used
