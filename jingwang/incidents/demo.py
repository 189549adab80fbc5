"""Incidents' demo data: a year of incidents for every demo station, their next-day callbacks,
the dissatisfied answers and their rectifications.

Django-free, like every demo generator (``jingwang.demo.registry``); ``load`` writes it with bulk
inserts. Each station's year comes from its own stream (``"{seed}:{station}:incidents"``) over
the grids territory generated and the people people generated:

- **how many, and when**: a county-town station answers about ten calls a day; more in summer
  (a seasonal wave peaking in late July), more on Friday and Saturday, most in the evening and
  fewest from 3 to 6 am (and summer evenings busier still);
- **what**: help-seeking and disputes most, then public order, traffic and fraud (rising, as
  telecom fraud does), few criminal cases, the rest fire and accidents and other calls (fraud's share grows through the calendar year, January to
  December); the sub-categories in shares of their own;
- **where**: a point inside one of the finest grids, drawn by the grid's population weighted by
  its public-security complexity, so the town centre is busiest;
- **how fast**: dispatch within minutes, arrival after a lognormal delay (longer in the villages
  and at night), closing after a delay that depends on the kind (disputes take longest);
- **who called**: about 85% leave a phone number (110 callers nearly always, patrol findings
  rarely), so most incidents get a callback;
- **the callback**: most are done on their due day (some after a failed attempt or two, some
  by the SMS survey where the station enables it), a share closes unreachable after three
  failed attempts, and the categories where contact could endanger the caller are called by an
  officer only, never by SMS; a few answers are 不满意, and each opens a rectification, most
  closed within the deadline, some late, a few still open past it.

The generated year is not tied to a calendar year: each incident carries its ISO week, weekday
and time of day (so the same seed gives the same data whatever the day it is generated), and the
loader puts it on the most recent such day before the day it loads, so the year always ends
yesterday and the default figures (the last 30 days) show something. Callbacks whose due day has
not come yet stay due, and rectifications whose closing day has not come yet stay open.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import shapely

from jingwang.demo import synthetic
from jingwang.people.demo import PeopleDemo, PeopleRows, PeopleStation
from jingwang.territory.demo import GridData, StationTerritory, TerritoryDemo, TerritoryRows

if TYPE_CHECKING:
    from jingwang.demo.generate import Context
    from jingwang.demo.load import Loading

# Incidents a year per station (a county-town station answers about ten calls a day); a station
# not named here gets DEFAULT_PER_YEAR.
PER_YEAR = {"TC": 3600, "LX": 900, "XD": 700}
DEFAULT_PER_YEAR = 600
# Stations that send callers the SMS survey link.
SMS_STATIONS = {"TC"}

# Top-level shares (fraud's grows through the year: FRAUD_RISE more at the end than the start).
TOP_SHARES = {
    "help": 0.30,
    "disputes": 0.24,
    "public_order": 0.14,
    "traffic": 0.12,
    "fraud": 0.07,
    "criminal": 0.05,
    "fire_accident": 0.04,
    "other": 0.04,
}
FRAUD_RISE = 0.8  # fraud's weight goes from 0.6× to 1.4× of its share over the calendar year
SUB_SHARES: dict[str, dict[str, float]] = {
    "criminal": {
        "criminal.theft": 0.45,
        "criminal.burglary": 0.15,
        "criminal.robbery": 0.05,
        "criminal.assault": 0.15,
        "criminal.sexual_assault": 0.04,
        "criminal.drugs": 0.06,
        "criminal.other": 0.10,
    },
    "public_order": {
        "public_order.fight": 0.30,
        "public_order.domestic_violence": 0.12,
        "public_order.noise": 0.25,
        "public_order.gambling": 0.08,
        "public_order.provocation": 0.10,
        "public_order.other": 0.15,
    },
    "disputes": {
        "disputes.neighbour": 0.30,
        "disputes.family": 0.22,
        "disputes.economic": 0.15,
        "disputes.labour": 0.10,
        "disputes.land": 0.08,
        "disputes.consumer": 0.10,
        "disputes.other": 0.05,
    },
    "traffic": {
        "traffic.accident": 0.55,
        "traffic.drunk": 0.08,
        "traffic.blocked": 0.12,
        "traffic.parking": 0.20,
        "traffic.other": 0.05,
    },
    "fraud": {
        "fraud.telecom": 0.75,
        "fraud.contact": 0.15,
        "fraud.fundraising": 0.03,
        "fraud.other": 0.07,
    },
    "help": {
        "help.missing_person": 0.12,
        "help.lost_property": 0.25,
        "help.illness": 0.12,
        "help.locked_out": 0.20,
        "help.elderly": 0.11,
        "help.other": 0.20,
    },
    "fire_accident": {
        "fire_accident.fire": 0.35,
        "fire_accident.gas": 0.15,
        "fire_accident.drowning": 0.10,
        "fire_accident.injury": 0.30,
        "fire_accident.other": 0.10,
    },
    "other": {
        "other.enquiry": 0.45,
        "other.complaint": 0.20,
        "other.false_alarm": 0.20,
        "other.other": 0.15,
    },
}
# Contact could endanger the caller: an officer calls back, never an SMS.
OFFICER_ONLY = {"criminal.sexual_assault", "public_order.domestic_violence"}

# Relative calls per hour of the day (0-23): fewest from 3 to 6, most in the evening.
HOURS = (
    0.70, 0.50, 0.38, 0.26, 0.22, 0.24, 0.35, 0.60, 0.85, 1.00, 1.05, 1.00,
    0.95, 0.92, 1.00, 1.05, 1.10, 1.20, 1.35, 1.55, 1.60, 1.45, 1.15, 0.90,
)  # fmt: skip
WEEKDAYS = (1.0, 0.97, 0.97, 1.0, 1.08, 1.15, 1.05)  # Monday first
SOURCES = {"call_110": 0.80, "walk_in": 0.10, "patrol": 0.05, "grid_worker": 0.04, "other": 0.01}
# Share of callers who leave a phone number, by source.
PHONE_SHARE = {"call_110": 0.96, "walk_in": 0.80, "patrol": 0.15, "grid_worker": 0.45, "other": 0.6}
# Median minutes from dispatch to arrival, town and village; closing after arrival by kind.
ARRIVAL_MINUTES = {"urban": 7.0, "village": 14.0}
CLOSE_MINUTES = {
    "criminal": 150,
    "public_order": 70,
    "disputes": 90,
    "traffic": 60,
    "fraud": 80,
    "help": 40,
    "fire_accident": 75,
    "other": 20,
}

SUMMARIES = {
    "criminal": ("报警称{sub}，请求出警", "群众报称发生{sub}"),
    "public_order": ("报警称{sub}，请求处理", "群众反映{sub}"),
    "disputes": ("报警称发生{sub}，双方争执不下", "{sub}，请求民警调解"),
    "traffic": ("报警称{sub}，请求处理", "{sub}，有车辆受阻"),
    "fraud": ("报警称遭遇{sub}，被骗钱款", "群众反映疑似{sub}"),
    "help": ("{sub}，请求民警帮助", "报警人{sub}，需要协助"),
    "fire_accident": ("报警称发生{sub}", "{sub}，请求救助"),
    "other": ("{sub}", "群众来电{sub}"),
}
RESULTS = {
    "criminal": ("已受理立案，开展侦查", "已移交刑侦中队"),
    "public_order": ("已现场处置，当事人接受批评教育", "已受理为治安案件"),
    "disputes": ("经现场调解，双方达成和解", "已引导当事人到警民联调工作站调解"),
    "traffic": ("已疏导交通，移交交警处理", "已现场处置"),
    "fraud": ("已受理，开展反诈止付", "已登记并开展防诈宣传"),
    "help": ("已帮助求助人解决问题", "已联系家属，妥善处置"),
    "fire_accident": ("已配合消防、急救处置", "已现场处置"),
    "other": ("已解答", "经核实为误报"),
}
SUGGESTIONS = (
    "希望出警再快一点",
    "民警态度很好，感谢",
    "希望加强夜间巡逻",
    "希望后续跟进处理结果",
    "处理结果不太满意，希望再协调",
    "希望小区多安装监控",
)
CALLER_WORDS = (
    "等了很久民警才到",
    "觉得民警处理不公平",
    "对方没有受到处理",
    "民警说话态度生硬",
    "问题到现在还没有解决",
)
FINDINGS = (
    "经核查，出警途中道路拥堵导致到场较晚",
    "经核查，民警处置程序合规，但解释不到位",
    "经核查，纠纷双方分歧较大，调解未完全达成",
    "经核查，民警言语欠妥",
)
ACTIONS = (
    "已向报警人解释说明，并再次组织调解",
    "已对相关民警进行批评教育",
    "已优化片区巡逻路线，缩短到场时间",
    "已协调相关部门跟进处理",
)


@dataclass
class RectificationData:
    closes_after: int | None  # days after opening; None: never closed
    caller_words: str
    findings: str
    actions_taken: str
    closing_rating: str


@dataclass
class CallbackData:
    outcome: str  # done / unreachable (once its due day has come)
    channel: str  # phone / sms (done ones)
    officer_only: bool
    speed: str
    attitude: str
    handling: str
    suggestions: str
    failed: list[str]  # the outcomes of the failed attempts, in order
    answered_minute: int  # minute of the due day the answer came (or the last attempt)
    rectification: RectificationData | None


@dataclass
class IncidentData:
    week: int  # ISO week 1-52
    weekday: int  # 0 Monday
    second: int  # second of the day it was received
    source: str
    category: str  # a sub-category code (incidents.categories.DEFAULTS)
    grid: str  # the finest grid it lies in
    lon: float
    lat: float
    address: str
    caller_name: str
    caller_phone: str
    officer: str | None  # person key
    dispatch: int | None  # seconds after receiving
    arrive: int | None  # seconds after receiving
    close: int  # seconds after receiving
    summary: str
    result: str
    callback: CallbackData | None


@dataclass
class StationIncidents:
    code: str
    sms_survey: bool
    incidents: list[IncidentData]


@dataclass
class IncidentsDemo:
    stations: list[StationIncidents]

    def station(self, code: str) -> StationIncidents:
        return next(s for s in self.stations if s.code == code)

    def counts(self) -> dict[str, int]:
        incidents = [i for s in self.stations for i in s.incidents]
        return {
            "incidents": len(incidents),
            "callbacks": sum(1 for i in incidents if i.callback),
            "rectifications": sum(1 for i in incidents if i.callback and i.callback.rectification),
        }

    def fingerprint(self) -> Iterator[Sequence[object]]:
        for s in self.stations:
            yield "station", s.code, s.sms_survey
            for i in s.incidents:
                yield (
                    i.week, i.weekday, i.second, i.source, i.category, i.grid, i.lon, i.lat,
                    i.address, i.caller_name, i.caller_phone, i.officer, i.dispatch, i.arrive,
                    i.close, i.summary, i.result,
                )  # fmt: skip
                c = i.callback
                if c is not None:
                    yield (
                        c.outcome, c.channel, c.officer_only, c.speed, c.attitude, c.handling,
                        c.suggestions, ",".join(c.failed), c.answered_minute,
                    )  # fmt: skip
                    r = c.rectification
                    if r is not None:
                        yield r.closes_after, r.caller_words, r.findings, r.actions_taken


# ── the generator ───────────────────────────────────────────────────────────────────────────


def generate(ctx: Context) -> IncidentsDemo:
    territory = ctx.part("territory", TerritoryDemo)
    people = ctx.part("people", PeopleDemo)
    return IncidentsDemo(
        [
            _build_station(
                station,
                people.station(station.code),
                PER_YEAR.get(station.code, DEFAULT_PER_YEAR),
                ctx.random(station.code, "incidents"),
            )
            for station in territory.stations
        ]
    )


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def _season(week: int) -> float:
    """Calls by week of the year: a wave peaking in late July (week 30), +-22%."""
    return 1 + 0.22 * math.cos(2 * math.pi * (week - 30) / 52)


def _rating(rng: random.Random, dissatisfied: float, basically: float) -> str:
    x = rng.random()
    if x < dissatisfied:
        return "dissatisfied"
    return "basically" if x < dissatisfied + basically else "satisfied"


def _point_in(geometry: shapely.Geometry, rng: random.Random) -> tuple[float, float]:
    x0, y0, x1, y1 = geometry.bounds
    while True:
        # Rounded to 6 decimals (about 10 cm) first, so the stored point is inside too.
        x, y = round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)
        if shapely.contains_xy(geometry, x, y):
            return x, y


def _build_station(
    station: StationTerritory, people: PeopleStation, count: int, rng: random.Random
) -> StationIncidents:
    grids = {g.code: g for g in station.grids}
    parents = {g.parent for g in station.grids if g.parent}
    finest = [g for g in station.grids if g.code not in parents]
    weights = [max(g.population, 1) * (1 + g.complexity) for g in finest]
    kind = {c.code: c.kind for c in station.communities}
    community_name = {c.code: c.name for c in station.communities}
    township = station.name.removesuffix("派出所")
    for g in finest:
        shapely.prepare(g.geometry)

    # The officers: each sector's community officer handles most of its incidents.
    sector_officer = {a.grid: a.person for a in people.assignments if a.role == "community_officer"}
    officers = [p.key for p in people.people if p.kind == "officer"]

    def sector_of(grid: GridData) -> str | None:
        while grid.level != "sector" and grid.parent:
            grid = grids[grid.parent]
        return grid.code if grid.level == "sector" else None

    days = [(w, d) for w in range(1, 53) for d in range(7)]
    day_weights = [_season(w) * WEEKDAYS[d] for w, d in days]
    phones: set[str] = set()
    names: set[str] = set()
    sms = station.code in SMS_STATIONS
    incidents: list[IncidentData] = []
    for _n in range(count):
        week, weekday = rng.choices(days, day_weights)[0]
        summer = max(0.0, _season(week) - 1) / 0.22  # 0 in winter .. 1 at the peak
        hours = [h * (1 + 0.35 * summer if i >= 18 or i < 1 else 1) for i, h in enumerate(HOURS)]
        hour = rng.choices(range(24), hours)[0]
        second = hour * 3600 + rng.randrange(3600)
        progress = (week - 1) / 51
        shares = dict(TOP_SHARES)
        shares["fraud"] *= 1 - FRAUD_RISE / 2 + FRAUD_RISE * progress
        top = _pick(rng, shares)
        sub = _pick(rng, SUB_SHARES[top])
        sub_name = _SUB_NAMES.get(sub, sub)
        source = _pick(rng, SOURCES)
        grid = rng.choices(finest, weights)[0]
        lon, lat = _point_in(grid.geometry, rng)
        where = kind.get(grid.community or "", "urban")
        community = community_name.get(grid.community or "", "")
        address = f"三台县{township}镇{community}{rng.randint(1, 160)}号附近"
        has_phone = rng.random() < PHONE_SHARE[source]
        male = rng.random() < 0.55
        caller_name = synthetic.person_name(rng, names, male=male) if has_phone else ""
        caller_phone = synthetic.phone(rng, phones) if has_phone else ""
        sector = sector_of(grid)
        officer = (
            sector_officer.get(sector or "")
            if rng.random() < 0.8 and sector in sector_officer
            else rng.choice(officers)
        )
        night = hour < 6 or hour >= 22
        if source == "walk_in":
            dispatch = arrive = None  # handled at the station's counter
        else:
            dispatch = int(_lognormal(rng, 90, 0.6))
            arrive = None
            if rng.random() > 0.03:  # a few are called off before anyone arrives
                minutes = _lognormal(rng, ARRIVAL_MINUTES[where] * (1.2 if night else 1), 0.45)
                arrive = dispatch + int(minutes * 60)
        start = arrive if arrive is not None else dispatch if dispatch is not None else 0
        close = start + int(_lognormal(rng, CLOSE_MINUTES[top], 0.6) * 60)
        summary = rng.choice(SUMMARIES[top]).format(sub=sub_name)
        result = rng.choice(RESULTS[top])
        callback = _callback(rng, sub, sms, arrive) if has_phone else None
        incidents.append(
            IncidentData(
                week,
                weekday,
                second,
                source,
                sub,
                grid.code,
                lon,
                lat,
                address,
                caller_name,
                caller_phone,
                officer,
                dispatch,
                arrive,
                close,
                summary,
                result,
                callback,
            )  # fmt: skip
        )
    incidents.sort(key=lambda i: (i.week, i.weekday, i.second))
    return StationIncidents(station.code, sms, incidents)


def _callback(rng: random.Random, category: str, sms: bool, arrived: int | None) -> CallbackData:
    officer_only = category in OFFICER_ONLY
    reached = rng.random() < 0.91
    failed: list[str] = []
    if reached:
        for _attempt in range(rng.choices((0, 1, 2), (0.8, 0.15, 0.05))[0]):
            failed.append(rng.choice(("no_answer", "no_answer", "call_later")))
    else:
        failed = [
            rng.choice(("no_answer", "no_answer", "wrong_number", "refused")) for _ in range(3)
        ]
    channel = "sms" if reached and sms and not officer_only and rng.random() < 0.3 else "phone"
    speed = attitude = handling = suggestions = ""
    rectification = None
    if reached:
        slow = arrived is not None and arrived > 25 * 60
        speed = _rating(rng, 0.06 if slow else 0.012, 0.12)
        attitude = _rating(rng, 0.01, 0.08)
        handling = _rating(rng, 0.022, 0.14)
        if rng.random() < 0.12:
            suggestions = rng.choice(SUGGESTIONS)
        if "dissatisfied" in (speed, attitude, handling):
            x = rng.random()
            closes_after = (
                rng.randint(1, 6) if x < 0.78 else rng.randint(8, 16) if x < 0.95 else None
            )
            rectification = RectificationData(
                closes_after,
                rng.choice(CALLER_WORDS),
                rng.choice(FINDINGS),
                rng.choice(ACTIONS),
                rng.choice(("satisfied", "basically", "basically", "dissatisfied")),
            )
    minute = rng.randint(9 * 60, 17 * 60 + 30)
    return CallbackData(
        "done" if reached else "unreachable", channel, officer_only, speed, attitude, handling,
        suggestions, failed, minute, rectification,
    )  # fmt: skip


# Sub-category names for the summaries (as in incidents.categories.DEFAULTS).
_SUB_NAMES = {
    "criminal.theft": "盗窃",
    "criminal.burglary": "入室盗窃",
    "criminal.robbery": "抢劫抢夺",
    "criminal.assault": "故意伤害",
    "criminal.sexual_assault": "性侵害",
    "criminal.drugs": "涉毒",
    "criminal.other": "刑事案件",
    "public_order.fight": "打架斗殴",
    "public_order.domestic_violence": "家庭暴力",
    "public_order.noise": "噪声扰民",
    "public_order.gambling": "赌博",
    "public_order.provocation": "寻衅滋事",
    "public_order.other": "治安问题",
    "disputes.neighbour": "邻里纠纷",
    "disputes.family": "婚姻家庭纠纷",
    "disputes.economic": "经济纠纷",
    "disputes.labour": "劳资纠纷",
    "disputes.land": "土地山林纠纷",
    "disputes.consumer": "消费纠纷",
    "disputes.other": "纠纷",
    "traffic.accident": "交通事故",
    "traffic.drunk": "疑似酒驾",
    "traffic.blocked": "交通堵塞",
    "traffic.parking": "违法停车",
    "traffic.other": "交通问题",
    "fraud.telecom": "电信网络诈骗",
    "fraud.contact": "接触式诈骗",
    "fraud.fundraising": "非法集资",
    "fraud.other": "诈骗",
    "help.missing_person": "家人走失",
    "help.lost_property": "物品遗失",
    "help.illness": "突发急病",
    "help.locked_out": "被锁门外",
    "help.elderly": "老人儿童求助",
    "help.other": "求助",
    "fire_accident.fire": "火情",
    "fire_accident.gas": "燃气泄漏",
    "fire_accident.drowning": "有人落水",
    "fire_accident.injury": "意外受伤",
    "fire_accident.other": "意外事故",
    "other.enquiry": "咨询办事流程",
    "other.complaint": "投诉",
    "other.false_alarm": "误拨报警电话",
    "other.other": "其他事项",
}


# ── the loader ──────────────────────────────────────────────────────────────────────────────


def day_of(week: int, weekday: int, today: date) -> date:
    """The most recent day before ``today`` in ISO week ``week`` on ``weekday`` (0 Monday)."""
    year = today.isocalendar().year
    found = date.fromisocalendar(year, week, weekday + 1)
    if found >= today:
        found = date.fromisocalendar(year - 1, week, weekday + 1)
    return found


def _working_days(start: date, n: int) -> date:
    """``n`` working days after ``start`` (the Chinese calendar when it is known)."""
    try:
        from jingwang.core import workdays
    except ImportError:  # pragma: no cover - the calendar app is always there in the tree
        workdays = None  # type: ignore[assignment]
    if workdays is not None:
        try:
            return workdays.add_working_days(start, n).on
        except Exception:  # a calendar not readable yet (no table): weekends only
            pass
    day = start
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


@dataclass
class IncidentRows:
    """What the incidents loader wrote: incident ids by station, in the order generated."""

    incident_ids: dict[str, list[int]] = field(default_factory=dict)


def load(part: IncidentsDemo, loading: Loading, now: datetime | None = None) -> IncidentRows:
    from django.utils import timezone

    from jingwang.incidents.categories import ensure_categories
    from jingwang.incidents.models import (
        Callback,
        CallbackAttempt,
        Category,
        Incident,
        Rectification,
        StationCallbackSettings,
    )

    territory = loading.get("territory", TerritoryRows)
    people = loading.get("people", PeopleRows)
    accounts = loading.written.get("accounts")
    users = getattr(accounts, "users", {})
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate(now)
    ensure_categories(territory.bureau.id)
    categories = dict(Category.objects.filter(bureau=territory.bureau).values_list("code", "id"))
    rows = IncidentRows()
    workday_cache: dict[tuple[date, int], date] = {}

    def working(start: date, n: int) -> date:
        if (start, n) not in workday_cache:
            workday_cache[start, n] = _working_days(start, n)
        return workday_cache[start, n]

    for data in part.stations:
        station = territory.stations[data.code]
        chief = next(
            (u for u in users.values() if u.role == "station_chief" and u.station_id == station.id),
            None,
        )
        StationCallbackSettings.objects.create(station=station, sms_survey=data.sms_survey)
        received_at = [
            datetime.combine(day_of(i.week, i.weekday, today), time(), tzinfo=zone)
            + timedelta(seconds=i.second)
            for i in data.incidents
        ]
        order = sorted(range(len(data.incidents)), key=lambda n: received_at[n])
        per_day: Counter[date] = Counter()
        incidents: list[Incident] = []
        for n in order:
            i, at = data.incidents[n], received_at[n]
            local = timezone.localtime(at, zone).date()
            per_day[local] += 1
            dispatched = at + timedelta(seconds=i.dispatch) if i.dispatch is not None else None
            arrived = at + timedelta(seconds=i.arrive) if i.arrive is not None else None
            closed: datetime | None = at + timedelta(seconds=i.close)
            status = Incident.Status.CLOSED
            if closed is not None and closed > now:
                closed = None
                status = (
                    Incident.Status.ARRIVED
                    if arrived is not None and arrived <= now
                    else Incident.Status.DISPATCHED
                    if dispatched is not None and dispatched <= now
                    else Incident.Status.RECEIVED
                )
                arrived = arrived if arrived is not None and arrived <= now else None
                dispatched = dispatched if dispatched is not None and dispatched <= now else None
            grid_id = territory.grid_ids[i.grid]
            incident = Incident(
                station=station,
                number=f"{data.code}{local:%Y%m%d}{per_day[local]:04d}",
                received_at=at,
                source=i.source,
                category_id=categories[i.category],
                summary=i.summary,
                caller_name=i.caller_name,
                officer_id=people.person_ids[i.officer] if i.officer else None,
                status=status,
                dispatched_at=dispatched,
                arrived_at=arrived,
                closed_at=closed,
                result=i.result if closed else "",
                lon=i.lon,
                lat=i.lat,
                grid_id=grid_id,
                grid_at_time_id=grid_id,
                created_at=at,
                created_by="demo",
            )
            incident.address = i.address
            incident.caller_phone = i.caller_phone
            incidents.append(incident)
        created = Incident.objects.bulk_create(incidents, batch_size=1000)
        ids = [0] * len(data.incidents)
        for n, row in zip(order, created, strict=True):
            ids[n] = row.pk
        rows.incident_ids[data.code] = ids

        # Callbacks of the closed incidents whose caller left a number.
        callbacks: list[Callback] = []
        attempts: list[tuple[int, list[CallbackAttempt]]] = []
        rectifications: list[tuple[int, Rectification]] = []
        for n, row in zip(order, created, strict=True):
            c = data.incidents[n].callback
            if c is None or row.closed_at is None:
                continue
            due = working(timezone.localtime(row.closed_at, zone).date(), 1)
            callback = Callback(
                incident_id=row.pk,
                station=station,
                due_on=due,
                officer_only=c.officer_only,
                created_at=row.closed_at,
            )
            tried: list[CallbackAttempt] = []
            if due <= today:
                # The failed attempts spread over the due day and the next working day.
                last = due
                for k, outcome in enumerate(c.failed):
                    day = due if k < 2 else working(due, 1)
                    if day > today:
                        break
                    last = day
                    tried.append(
                        CallbackAttempt(
                            at=datetime.combine(day, time(9 + 3 * k), tzinfo=zone),
                            outcome=outcome,
                        )
                    )
                answered = datetime.combine(last, time(), tzinfo=zone) + timedelta(
                    minutes=c.answered_minute
                )
                finished = len(tried) == len(c.failed) and answered <= now
                callback.failed_attempts = len(tried)
                if finished and c.outcome == "done":
                    callback.status = Callback.Status.DONE
                    callback.channel = c.channel
                    callback.speed, callback.attitude = c.speed, c.attitude
                    callback.handling, callback.suggestions = c.handling, c.suggestions
                    callback.done_at = answered
                    r = c.rectification
                    if r is not None:
                        opened_on = answered.astimezone(zone).date()
                        rect = Rectification(
                            incident_id=row.pk,
                            station=station,
                            owner=chief,
                            opened_at=answered,
                            due_on=working(opened_on, 5),
                            caller_words=r.caller_words,
                        )
                        closes = (
                            answered + timedelta(days=r.closes_after)
                            if r.closes_after is not None
                            else None
                        )
                        if closes is not None and closes <= now:
                            rect.status = Rectification.Status.CLOSED
                            rect.closed_at = closes
                            rect.findings, rect.actions_taken = r.findings, r.actions_taken
                            rect.closing_rating = r.closing_rating
                        elif closes is not None and closes - timedelta(days=2) <= now:
                            rect.findings = r.findings  # being worked on
                        rectifications.append((len(callbacks), rect))
                elif finished and c.outcome == "unreachable":
                    callback.status = Callback.Status.UNREACHABLE
                    callback.done_at = tried[-1].at if tried else answered
            callbacks.append(callback)
            attempts.append((len(callbacks) - 1, tried))
        made = Callback.objects.bulk_create(callbacks, batch_size=1000)
        CallbackAttempt.objects.bulk_create(
            (_with_callback(attempt, made[k].pk) for k, tried in attempts for attempt in tried),
            batch_size=1000,
        )
        Rectification.objects.bulk_create(
            (_with_callback(rect, made[k].pk) for k, rect in rectifications), batch_size=1000
        )
    return rows


def _with_callback(row: Any, callback_id: int) -> Any:
    row.callback_id = callback_id
    return row


def summary(part: IncidentsDemo) -> dict[str, dict[str, int]]:
    """How many of each top-level category per station (for tests and the docs)."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for s in part.stations:
        found[s.code] = dict(Counter(i.category.split(".")[0] for i in s.incidents))
    return dict(found)
