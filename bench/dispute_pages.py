"""The dispute pages at county scale: p50/p95 of the dispute list, the overdue list and the
figures page with four readers at once (issue 8; budget p95 < 150 ms on 2 cores).

    python bench/dispute_pages.py --database postgres://postgres@127.0.0.1:5432/jw_h8_pages
    python bench/dispute_pages.py --database postgres://... --reuse   # keep a former run's data

The county is the one of ``bench/pages.py`` (its ``build``: ``--grids`` finest grids, 100
officers, ``--incidents`` incidents over five years), and ``--disputes`` disputes over the same
years (60,000 by default: the county of DESIGN.md), written with COPY: each with two parties,
its triage, sessions, and an agreement or a referral in the demo's shares (99.6% of the
mediated ones succeed); the last weeks' still open, some of them overdue.

Two waitress processes (4 threads each) serve it; ``--readers`` threads at once, each with the
station chief's session, request each page. The peer is the same pages without the dispute
indexes of ``disputes/migrations`` (dropped, then put back), alternating in ``--rounds`` rounds
so both meet the same load. Prints Markdown rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pages  # noqa: E402  (bench/pages.py: the county, the readers, the percentiles)

PAGES = {
    "dispute list": "/disputes/?station=TC",
    "dispute list, overdue only": "/disputes/?station=TC&overdue=1",
    "dispute list, one block": "/disputes/?station=TC&grid={block}",
    "dispute figures (the default: last 12 months)": "/disputes/figures/?station=TC",
    "dispute figures by block": "/disputes/figures/?station=TC&group=block",
}
CATEGORY_SHARES = {
    "neighbours": 0.30,
    "family": 0.20,
    "housing": 0.10,
    "land": 0.08,
    "labour": 0.08,
    "debts": 0.08,
    "traffic": 0.07,
    "consumer": 0.04,
    "medical": 0.02,
    "other": 0.03,
}


def build_disputes(count: int, years: int, seed: int) -> None:
    """Write ``count`` disputes of station TC by COPY (see module)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jingwang.core import choicelists
    from jingwang.disputes import actions
    from jingwang.disputes.models import (
        Agreement,
        Category,
        Dispute,
        Member,
        Party,
        Referral,
        Session,
        TierChange,
    )
    from jingwang.people.models import Person
    from jingwang.territory.models import Grid, Station

    rng = np.random.default_rng(seed + 8)
    started = time.perf_counter()
    station = Station.objects.get(code="TC")
    bodies = actions.ensure_bodies(station)
    mediators = Person.objects.bulk_create(
        Person(station=station, kind="mediator", name=f"调解员{i:02d}") for i in range(12)
    )
    members = Member.objects.bulk_create(
        Member(body=bodies[i % 3], person=p, role="mediator") for i, p in enumerate(mediators)
    )
    choicelists.ensure(Category, station.bureau_id)
    categories = {c.code: c.id for c in Category.objects.filter(bureau_id=station.bureau_id)}
    codes = list(CATEGORY_SHARES)
    shares = np.array([CATEGORY_SHARES[c] for c in codes])
    clusters = np.array(
        Grid.objects.filter(station=station, level="cluster").values_list("id", flat=True)
    )
    now = timezone.now()
    zone = timezone.get_current_timezone()
    span = 365 * years
    day0 = timezone.localdate(now) - timedelta(days=span)
    midnight = datetime.combine(day0, datetime.min.time(), tzinfo=zone)
    seconds = np.sort(rng.integers(0, span * 86400, count))
    tiers = rng.choice([1, 2, 3], count, p=[0.8, 0.16, 0.04])
    category_of = rng.choice(len(codes), count, p=shares)
    grid_of = clusters[rng.integers(0, len(clusters), count)]
    lead_of = rng.integers(0, len(members), count)
    outcome = rng.random(count)
    today = timezone.localdate(now)
    seq: Counter[int] = Counter()
    d_fields = [f.column for f in Dispute._meta.concrete_fields]
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for i in range(count):
        at = midnight + timedelta(seconds=int(seconds[i]))
        year = at.year
        seq[year] += 1
        registered = timezone.localtime(at, zone).date()
        recent = registered >= today - timedelta(days=30)
        status = "open" if recent else "agreed" if outcome[i] < 0.3 else "performed"
        if not recent and outcome[i] > 0.996:
            status = "referred"
        deadline = registered + timedelta(days=30)
        closed = at + timedelta(days=int(rng.integers(1, 40))) if status != "open" else None
        if closed is not None and closed > now:
            closed = now
        values = {
            "id": i + 1,
            "lon": None,
            "lat": None,
            "grid_id": int(grid_of[i]),
            "grid_at_time_id": int(grid_of[i]),
            "placed_by_hand": False,
            "station_id": station.id,
            "number": f"TC-{year}-{seq[year]:05d}",
            "registered_at": at,
            "source": "walk_in",
            "category_id": categories[codes[category_of[i]]],
            "facts": "楼上漏水，邻里争执",
            "amount": None,
            "people_involved": 2,
            "departments": 1,
            "pii_uid": uuid.UUID(bytes=rng.bytes(16), version=4),
            "address_encrypted": "",
            "address_hash": "",
            "risk_violence": False,
            "risk_criminal": False,
            "risk_group": False,
            "risk_petitions": False,
            "risk_vulnerable": False,
            "incident_id": None,
            "tier": int(tiers[i]),
            "tier_reasons": '[{"code": "general", "tier": 1, "params": {}}]',
            "tier_overridden": False,
            "lead_id": members[lead_of[i]].id,
            "track": "people",
            "track_started": registered,
            "deadline": deadline,
            "deadline_uncertain": False,
            "extended": False,
            "status": status,
            "reopened": 0,
            "closed_at": closed if status in ("performed", "referred") else None,
            "registered_by_id": None,
            "version": 1,
            "created_at": at,
        }
        rows["dispute"].append(tuple(values[c] for c in d_fields))
        for order, role in enumerate(("applicant", "respondent")):
            rows["party"].append(
                (i + 1, "person", role, f"当事人{i}-{order}", None, uuid.uuid4(), order) + ("",) * 7
            )
        rows["tier"].append((i + 1, "triage", None, int(tiers[i]), "[]", "", at, None))
        if status != "open":
            held = at + timedelta(days=1)
            result = "failed" if status == "referred" else "agreed"
            rows["session"].append((i + 1, int(tiers[i]), held, "", "", "", "", result, held))
            if status == "referred":
                rows["referral"].append((i + 1, "court", "", "告知当事人可向法院起诉", closed))
            else:
                rows["agreement"].append(
                    (
                        i + 1,
                        f"{values['number']}-X1",
                        "written",
                        "事实",
                        "条款",
                        "赔偿",
                        registered + timedelta(days=10),
                        registered + timedelta(days=1),
                        '["甲", "乙"]',
                        3,
                        "performed" if status == "performed" else "pending",
                        registered + timedelta(days=17),
                        held,
                    )
                )
    tables: list[tuple[Any, list[str], str]] = [
        (Dispute, d_fields, "dispute"),
        (
            Party,
            [
                "dispute_id",
                "kind",
                "role",
                "name",
                "age",
                "pii_uid",
                "order",
                "guardian_name",
                "id_number_encrypted",
                "id_number_hash",
                "phone_encrypted",
                "phone_hash",
                "guardian_phone_encrypted",
                "guardian_phone_hash",
            ],  # fmt: skip
            "party",
        ),
        (
            TierChange,
            ["dispute_id", "kind", "from_tier", "to_tier", "reasons", "reason", "at", "actor_id"],
            "tier",
        ),
        (
            Session,
            [
                "dispute_id",
                "tier",
                "held_at",
                "place",
                "others",
                "said",
                "offered",
                "result",
                "created_at",
            ],
            "session",
        ),  # fmt: skip
        (Referral, ["dispute_id", "to", "department", "told", "referred_at"], "referral"),
        (
            Agreement,
            [
                "dispute_id",
                "number",
                "form",
                "facts",
                "terms",
                "performance",
                "perform_by",
                "signed_on",
                "signatories",
                "copies",
                "status",
                "followup_due",
                "created_at",
            ],
            "agreement",
        ),  # fmt: skip
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        for model, fields, key in tables:
            table = model._meta.db_table
            columns = ", ".join(f'"{f}"' for f in fields)
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows[key]:
                    copy.write_row(row)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"disputes {count}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _indexes() -> list[tuple[str, str]]:
    """The dispute table's own indexes (not its keys), as the database holds them."""
    from django.db import connection

    from jingwang.disputes.models import Dispute

    names = [index.name for index in Dispute._meta.indexes]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [names]
        )
        return list(cursor.fetchall())


def _set_indexes(indexes: list[tuple[str, str]], *, present: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name, create in indexes:
            cursor.execute(create if present else f"DROP INDEX {name}")
        cursor.execute("ANALYZE disputes_dispute")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (its own database)")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--disputes", type=int, default=60_000)
    parser.add_argument("--grids", type=int, default=2000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100, help="per page and run")
    parser.add_argument("--rounds", type=int, default=5, help="alternations with the peer")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the data of a former run")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="jw-dispute-pages-"))
    name = args.database.rpartition("/")[2]
    admin = {**os.environ, "PGPASSWORD": ""}
    if not args.reuse:
        subprocess.run(
            ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name], env=admin
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], env=admin, check=True
        )
    pages.setup_django(args.database, var)
    from django.core.management import call_command
    from django.db import connection

    from jingwang.disputes.models import Dispute
    from jingwang.incidents.models import Incident
    from jingwang.territory.models import Grid
    from tests import live

    call_command("migrate", verbosity=0)
    if not Incident.objects.exists():
        pages.build(args.incidents, args.grids, args.seed, args.years)
    if not Dispute.objects.exists():
        build_disputes(args.disputes, args.years, args.seed)
    if args.build_only:
        return
    size = Dispute.objects.count()
    block = Grid.objects.filter(level="block").order_by("code").values_list("id", flat=True)[3]
    cookie = pages.session_cookie()
    connection.close()
    env = {
        **os.environ,
        "DATABASE_URL": args.database,
        "JINGWANG_VAR_DIR": str(var),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "DJANGO_SETTINGS_MODULE": "jingwang.settings",
    }
    paths = {label: p.format(block=block) for label, p in PAGES.items()}
    runs: dict[str, dict[str, list[float]]] = {"with": defaultdict(list), "peer": defaultdict(list)}
    failures: Counter[str] = Counter()
    load: list[float] = []
    dropped = _indexes()
    with live.servers(env, count=2, threads=4) as ports:
        for _round in range(args.rounds):
            for run in ("with", "peer"):
                if run == "peer":
                    _set_indexes(dropped, present=False)
                try:
                    for label, p in paths.items():
                        load.append(os.getloadavg()[0])
                        times, failed = pages.measure(
                            ports, cookie, p, args.readers, args.requests // args.rounds
                        )
                        runs[run][label] += times
                        failures[label] += failed
                finally:
                    if run == "peer":
                        _set_indexes(dropped, present=True)
    for label in paths:
        p50, p95 = pages.percentiles(runs["with"][label])
        peer50, peer95 = pages.percentiles(runs["peer"][label])
        print(
            f"| {label} | {size:,} | {args.readers} | {p50:.0f} | {p95:.0f} | "
            f"{peer50:.0f} / {peer95:.0f} | {peer95 / p95:.1f}× | {failures[label]} | "
            f"{statistics.mean(load):.1f} |"
        )


if __name__ == "__main__":
    main()
