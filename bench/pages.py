"""The incident pages at county scale: p50/p95 of the incident list, the figures page and the
callback queue with four readers at once (issue 7; budget p95 < 150 ms on 2 cores).

    python bench/pages.py --database postgres://postgres@127.0.0.1:5432/jw_h7_pages
    python bench/pages.py --database postgres://... --reuse      # keep the data of a former run

Builds a fresh PostgreSQL database (``--reuse``: keeps it if it holds the data already): one
county's year in one station, the worst case for a station's pages — ``--grids`` finest grids
(seeded Voronoi cells of a county-sized box, ``bench/synthetic.py``) under blocks, sectors and
districts, 100 officers, ``--incidents`` incidents over the last ``--years`` years (5 by default:
200,000 a year, a busy county, so the last 30 days hold about 16,000; a daily rhythm,
categories in the demo's shares, 85% with a caller's phone, encrypted like real ones), their
callbacks (the last three days' still due, the others done or unreachable, 2.5% of the done
ones dissatisfied) and rectifications. Everything is written with COPY.

Two waitress processes (4 threads each) serve it; ``--readers`` threads at once, each with the
station chief's session, request each page. The peer is the same pages without the indexes of
``incidents/migrations/0003_figures_indexes.py`` (dropped, then put back): ``--rounds`` rounds
alternate the two, ``--requests`` requests a page in each, so both meet the same load on a
shared machine. Prints Markdown rows (the load: the mean 1-minute load average).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

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
HOURS = np.array(
    [0.70, 0.50, 0.38, 0.26, 0.22, 0.24, 0.35, 0.60, 0.85, 1.00, 1.05, 1.00,
     0.95, 0.92, 1.00, 1.05, 1.10, 1.20, 1.35, 1.55, 1.60, 1.45, 1.15, 0.90]
)  # fmt: skip


def setup_django(url: str, var: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["JINGWANG_VAR_DIR"] = str(var)
    os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    import django

    django.setup()


def build(incidents: int, grid_count: int, seed: int, years: int) -> dict[str, Any]:
    """Write the county; returns what the readers need."""
    import shapely
    from django.db import connection, transaction
    from django.utils import timezone
    from synthetic import voronoi_grids

    from jingwang.accounts.models import User
    from jingwang.incidents.categories import ensure_categories
    from jingwang.incidents.models import Callback, Category, Incident, Rectification
    from jingwang.lib import pii
    from jingwang.people.models import Person
    from jingwang.territory.models import Bureau, Grid, GridVersion, Station

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    bureau = Bureau.objects.create(code="ST", name="三台县公安局")
    station = Station.objects.create(bureau=bureau, code="TC", name="潼川派出所")
    version = GridVersion.objects.create(station=station, number=1, is_current=True)
    cells = voronoi_grids(grid_count, seed=seed)
    centres = shapely.centroid(cells)
    order = np.lexsort((shapely.get_y(centres), np.floor(shapely.get_x(centres) * 20)))
    cells = [cells[i] for i in order]

    def make(level: str, code: str, geometry: Any, parent: Grid | None) -> Grid:
        grid = Grid(station=station, version=version, level=level, code=code, name=code)
        grid.parent = parent
        grid.set_geometry(geometry)
        grid.population = int(rng.integers(300, 3000))
        grid.households = grid.population // 3
        return grid

    # 5 clusters a block, 8 blocks a sector, 6 sectors a district.
    blocks_of = [cells[i : i + 5] for i in range(0, len(cells), 5)]
    sectors_of = [blocks_of[i : i + 8] for i in range(0, len(blocks_of), 8)]
    districts_of = [sectors_of[i : i + 6] for i in range(0, len(sectors_of), 6)]
    envelope = lambda gs: shapely.box(*shapely.total_bounds(gs))  # noqa: E731
    clusters: list[Grid] = []
    for d, sectors in enumerate(districts_of, 1):
        flat_d = [c for s in sectors for b in s for c in b]
        district = Grid.objects.bulk_create(
            [make("district", f"D{d:02d}", envelope(flat_d), None)]
        )[0]
        for s, blocks in enumerate(sectors, 1):
            flat_s = [c for b in blocks for c in b]
            sector = Grid.objects.bulk_create(
                [make("sector", f"D{d:02d}-S{s}", envelope(flat_s), district)]
            )[0]
            made = Grid.objects.bulk_create(
                [
                    make("block", f"D{d:02d}-S{s}-B{b}", envelope(block), sector)
                    for b, block in enumerate(blocks, 1)
                ]
            )
            clusters += Grid.objects.bulk_create(
                [
                    make("cluster", f"{parent.code}-C{c}", cell, parent)
                    for parent, block in zip(made, blocks, strict=True)
                    for c, cell in enumerate(block, 1)
                ]
            )
    officers = Person.objects.bulk_create(
        Person(station=station, kind="officer", name=f"民警{i:03d}") for i in range(100)
    )
    chief = User.objects.create(username="chief", role="station_chief", station=station)
    chief_person = officers[0]
    chief_person.user = chief
    chief_person.save(update_fields=["user"])
    ensure_categories(bureau.id)
    subs = list(
        Category.objects.filter(bureau=bureau, parent__isnull=False).select_related("parent")
    )
    weights = np.array(
        [
            TOP_SHARES[c.parent.code if c.parent else c.code]
            / sum(1 for s in subs if s.parent_id == c.parent_id)
            for c in subs
        ]
    )
    print(f"grids and people: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    # Incidents, by COPY.
    n = incidents
    now = timezone.now()
    span = 365 * years
    day0 = timezone.localdate(now) - timedelta(days=span)
    zone = timezone.get_current_timezone()
    midnight = datetime.combine(day0, datetime.min.time(), tzinfo=zone)
    days = rng.integers(0, span, n)
    hours = rng.choice(24, n, p=HOURS / HOURS.sum())
    seconds = days * 86400 + hours * 3600 + rng.integers(0, 3600, n)
    seconds.sort()
    received = [midnight + timedelta(seconds=int(s)) for s in seconds]
    cluster_ids = np.array([g.id for g in clusters])
    grid_of = cluster_ids[rng.integers(0, len(clusters), n)]
    category_ids = np.array([c.id for c in subs])
    category_of = category_ids[rng.choice(len(subs), n, p=weights / weights.sum())]
    officer_ids = np.array([p.id for p in officers])
    officer_of = officer_ids[rng.integers(0, len(officers), n)]
    dispatch = rng.lognormal(np.log(90), 0.6, n).astype(int)
    arrive = dispatch + (rng.lognormal(np.log(9 * 60), 0.5, n)).astype(int)
    close = arrive + (rng.lognormal(np.log(60 * 60), 0.6, n)).astype(int)
    phone = rng.random(n) < 0.85
    lon = rng.uniform(104.75, 105.25, n)
    lat = rng.uniform(30.90, 31.30, n)
    phone_hash = Incident.caller_phone.hash("13812345678")
    fields = [
        "id", "lon", "lat", "grid_id", "grid_at_time_id", "placed_by_hand", "station_id",
        "number", "received_at", "source", "category_id", "summary", "pii_uid",
        "address_encrypted", "address_hash", "caller_name", "caller_phone_encrypted",
        "caller_phone_hash", "officer_id", "status", "dispatched_at", "arrived_at", "closed_at",
        "result", "version", "created_at", "created_by",
    ]  # fmt: skip
    assert set(fields) == {f.column for f in Incident._meta.concrete_fields}, "columns changed"
    table = Incident._meta.db_table
    closed_on: list[date | None] = []
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(fields)}) FROM STDIN") as copy:
            for i in range(n):
                at = received[i]
                uid = uuid.UUID(bytes=rng.bytes(16), version=4)
                closed = at + timedelta(seconds=int(close[i]))
                done = closed <= now
                closed_on.append(timezone.localtime(closed, zone).date() if done else None)
                encrypted = (
                    pii.encrypt("13812345678", f"incidents.incident.caller_phone:{uid}".encode())
                    if phone[i]
                    else ""
                )
                copy.write_row(
                    (
                        i + 1, float(lon[i]), float(lat[i]), int(grid_of[i]), int(grid_of[i]),
                        False, station.id, f"TC{at:%Y%m%d}{i:07d}", at, "call_110",
                        int(category_of[i]), "", uid, "", "", "", encrypted,
                        phone_hash if phone[i] else "", int(officer_of[i]),
                        "closed" if done else "arrived", at + timedelta(seconds=int(dispatch[i])),
                        at + timedelta(seconds=int(arrive[i])), closed if done else None,
                        "", 1, at, "bench",
                    )
                )  # fmt: skip
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [n])
    print(f"incidents: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    # Callbacks of the closed incidents with a phone; rectifications of the dissatisfied.
    today = timezone.localdate(now)
    cb_fields = [
        "id", "incident_id", "station_id", "due_on", "officer_only", "status", "channel",
        "speed", "attitude", "handling", "suggestions", "failed_attempts", "done_at",
        "done_by_id", "version", "created_at",
    ]  # fmt: skip
    assert set(cb_fields) == {f.column for f in Callback._meta.concrete_fields}, "columns changed"
    rect_fields = [
        "id", "incident_id", "callback_id", "station_id", "owner_id", "opened_at", "due_on",
        "caller_words", "findings", "actions_taken", "closing_rating", "closing_note", "status",
        "closed_at", "version",
    ]  # fmt: skip
    assert set(rect_fields) == {f.column for f in Rectification._meta.concrete_fields}
    rects: list[tuple[Any, ...]] = []
    k = 0
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            f"COPY {Callback._meta.db_table} ({', '.join(cb_fields)}) FROM STDIN"
        ) as copy:
            for i in range(n):
                closed_day = closed_on[i]
                if not phone[i] or closed_day is None:
                    continue
                k += 1
                due = closed_day + timedelta(days=1)
                done_at = datetime.combine(due, datetime.min.time(), tzinfo=zone) + timedelta(
                    hours=10
                )
                r = rng.random()
                row: tuple[Any, ...]
                if due >= today - timedelta(days=2):
                    row = (k, i + 1, station.id, due, False, "due", "", "", "", "", "", 0, None)
                elif r < 0.9:
                    unhappy = r < 0.0225
                    handling = (
                        "dissatisfied" if unhappy else "satisfied" if r > 0.2 else "basically"
                    )
                    row = (k, i + 1, station.id, due, False, "done", "phone", "satisfied",
                           "satisfied", handling, "", 0, done_at)  # fmt: skip
                    if unhappy:
                        opened = done_at
                        overdue = rng.random() < 0.03
                        finished = not overdue and opened + timedelta(days=5) < now
                        rects.append(
                            (len(rects) + 1, i + 1, k, station.id, chief.id, opened,
                             due + timedelta(days=7), "", "", "", "", "",
                             "closed" if finished else "open",
                             opened + timedelta(days=5) if finished else None, 1)
                        )  # fmt: skip
                else:
                    row = (
                        k,
                        i + 1,
                        station.id,
                        due,
                        False,
                        "unreachable",
                        "",
                        "",
                        "",
                        "",
                        "",
                        3,
                        done_at,
                    )
                copy.write_row((*row, None, 1, received[i]))
        with raw.copy(
            f"COPY {Rectification._meta.db_table} ({', '.join(rect_fields)}) FROM STDIN"
        ) as copy:
            for rect in rects:
                copy.write_row(rect)
        for model in (Callback, Rectification):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {model._meta.db_table}))"
            )
    with connection.cursor() as cursor:  # the steady state autovacuum keeps
        cursor.execute("VACUUM ANALYZE")
    print(
        f"callbacks {k}, rectifications {len(rects)}: {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return {"seconds": time.perf_counter() - started}


def session_cookie() -> str:
    """A session of the station chief (as a login would make it)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from jingwang.accounts.models import User

    user = User.objects.get(username="chief")
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = next(  # the model backend (the lockout one only guards logins)
        b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b.lower()
    )
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def measure(
    ports: list[int], cookie: str, path: str, readers: int, requests: int
) -> tuple[list[float], int]:
    """The times in ms of ``requests`` GETs by ``readers`` threads at once, and the failures."""
    times: list[float] = []
    failures = 0
    lock = threading.Lock()

    def get(port: int) -> float:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            if response.status != 200 or response.url.endswith("/accounts/login/"):
                raise RuntimeError(f"{path}: {response.status} {response.url}")
        return (time.perf_counter() - started) * 1000

    for port in ports:  # warm up
        get(port)

    def reader(r: int) -> None:
        nonlocal failures
        for i in range(requests // readers):
            try:
                took = get(ports[(r + i) % len(ports)])
            except Exception:  # noqa: BLE001 - counted, and reported
                with lock:
                    failures += 1
                continue
            with lock:
                times.append(took)

    threads = [threading.Thread(target=reader, args=(r,)) for r in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, failures


def percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p95 (nearest rank)."""
    if not times:
        return float("nan"), float("nan")
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


PAGES = {
    "incident list": "/incidents/?station=TC",
    "incident list, one block, closed": "/incidents/?station=TC&grid={block}&status=closed",
    "figures, last 30 days by sector (the default)": "/incidents/figures/?station=TC",
    "figures, last 30 days by block (400 rows)": "/incidents/figures/?station=TC&group=block",
    "figures, last 90 days by category": "/incidents/figures/?station=TC&period=90d&group=category",
    "figures of a district, last 30 days": "/incidents/figures/grids/{district}/",
    "callback queue (chief)": "/incidents/callbacks/",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (its own database)")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=2000)
    parser.add_argument(
        "--years", type=int, default=5, help="the incidents spread over this many years"
    )
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100, help="per page and run")
    parser.add_argument("--rounds", type=int, default=5, help="alternations with the peer")
    parser.add_argument("--repeats", type=int, default=7, help="of the figures query alone")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the data of a former run")
    parser.add_argument("--no-peer", action="store_true", help="skip the run without indexes")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="jw-pages-"))
    name = args.database.rpartition("/")[2]
    admin = {**os.environ, "PGPASSWORD": ""}
    if not args.reuse:
        subprocess.run(
            ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name], env=admin
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], env=admin, check=True
        )
    setup_django(args.database, var)
    from django.core.management import call_command
    from django.db import connection

    from jingwang.incidents.models import Incident
    from jingwang.territory.models import Grid
    from tests import live

    call_command("migrate", verbosity=0)
    if not Incident.objects.exists():
        build(args.incidents, args.grids, args.seed, args.years)
    size = Incident.objects.count()
    grids = Grid.objects.count()
    block = Grid.objects.filter(level="block").order_by("code").values_list("id", flat=True)[3]
    district = (
        Grid.objects.filter(level="district").order_by("code").values_list("id", flat=True)[0]
    )
    cookie = session_cookie()
    connection.close()
    env = {
        **os.environ,
        "DATABASE_URL": args.database,
        "JINGWANG_VAR_DIR": str(var),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "DJANGO_SETTINGS_MODULE": "jingwang.settings",
    }
    paths = {label: p.format(block=block, district=district) for label, p in PAGES.items()}
    # Rounds alternate the run with the indexes and the run without them (the peer), so both
    # meet the same load when the machine is shared.
    runs: dict[str, dict[str, list[float]]] = {"with": defaultdict(list), "peer": defaultdict(list)}
    failures: Counter[str] = Counter()
    load: list[float] = []
    dropped = [] if args.no_peer else _indexes()
    with live.servers(env, count=2, threads=4) as ports:
        for _round in range(args.rounds):
            for run in ("with", "peer") if dropped else ("with",):
                if run == "peer":
                    _set_indexes(dropped, present=False)
                try:
                    for label, p in paths.items():
                        load.append(os.getloadavg()[0])
                        times, failed = measure(
                            ports, cookie, p, args.readers, args.requests // args.rounds
                        )
                        runs[run][label] += times
                        failures[label] += failed
                finally:
                    if run == "peer":
                        _set_indexes(dropped, present=True)
    for line in query_peer(args.repeats):
        print(line)
    for label in paths:
        p50, p95 = percentiles(runs["with"][label])
        if runs["peer"][label]:
            peer50, peer95 = percentiles(runs["peer"][label])
            ratio = f"{peer50:.0f} / {peer95:.0f} | {peer95 / p95:.1f}×"
        else:
            ratio = "— | —"
        print(
            f"| {label} | {size:,} | {grids:,} | {args.readers} | {p50:.0f} | {p95:.0f} | "
            f"{ratio} | {failures[label]} | {statistics.mean(load):.1f} |"
        )


def query_peer(repeats: int) -> list[str]:
    """The figures' grouped query alone, planned with solid-state costs (as the page does,
    ``figures.ssd_costs``) and with PostgreSQL's default costs, alternately: median ms."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jingwang.accounts.models import User
    from jingwang.incidents import figures

    chief = User.objects.get(username="chief")
    today = timezone.localdate()
    rows = []
    for preset, group in (("30d", "sector"), ("90d", "category"), ("365d", "sector")):
        period = figures.parse_period(preset, "", "", today)
        incidents = figures.selection(chief, period, station_id=chief.station_id)
        taken: dict[str, list[float]] = {"ssd": [], "default": []}
        for _ in range(repeats):
            for costs in taken:
                with transaction.atomic(), connection.cursor() as cursor:
                    if costs == "ssd":
                        cursor.execute("SET LOCAL random_page_cost = 1.1")
                    started = time.perf_counter()
                    figures.compute(incidents, group, today)
                    taken[costs].append((time.perf_counter() - started) * 1000)
        ssd, default = (statistics.median(taken[c]) for c in ("ssd", "default"))
        rows.append(
            f"| figures query, {preset} by {group} | {incidents.count():,} | {ssd:.0f} | "
            f"{default:.0f} | {default / ssd:.1f}× | {os.getloadavg()[0]:.1f} |"
        )
    return rows


def _set_indexes(indexes: list[tuple[str, str]], *, present: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name, create in indexes:
            cursor.execute(create if present else f"DROP INDEX {name}")
        cursor.execute("ANALYZE incidents_callback")


def _indexes() -> list[tuple[str, str]]:
    """The indexes of the figures_indexes migration, as the database holds them."""
    from django.db import connection

    names = _migration_indexes()
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [names]
        )
        return list(cursor.fetchall())


def _migration_indexes() -> list[str]:
    from django.db.migrations.operations import AddIndex

    found: list[str] = []
    for path in sorted(
        (ROOT / "jingwang" / "incidents" / "migrations").glob("*figures_indexes*.py")
    ):
        module: dict[str, Any] = {}
        exec(compile(path.read_text(), str(path), "exec"), module)  # noqa: S102
        for op in module["Migration"].operations:
            if isinstance(op, AddIndex):
                found.append(op.index.name)
        found += list(module.get("POSTGRESQL_INDEXES", {}))
    return found


if __name__ == "__main__":
    main()
