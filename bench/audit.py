"""What the single audit chain head costs: audited writes per second with concurrent writers.

Each writer is a separate process with its own database connection, creating people through
the real action (``people.actions.create_person``: one row, one audit event, one transaction)
for ``--seconds``. Three variants run in the same conditions, one after the other for each
number of writers:

- ``plain``      the same insert, without the audit event (``record`` replaced by nothing);
- ``unchained``  the insert and an audit event with its MAC, but without the chain head's lock
                 (each event a sequence number of its own, unlinked): what the lock costs;
- ``audited``    the action as it is: the head locked, the event chained, the head moved.

    python bench/audit.py --database postgres://postgres@127.0.0.1:5432/jw_bench_audit
    python bench/audit.py --database sqlite

The database is created (PostgreSQL) or made in a temporary directory (SQLite), migrated, and
filled with ``--prefill`` audit events first (written with ``record_many``), so the table and its
indexes are not empty. Each variant runs ``--repeat`` times, interleaved with the others, and
the median run is shown. On PostgreSQL a fourth, diagnostic variant runs the audited action with
``synchronous_commit = off`` (commits do not wait for the disk): the gap to ``audited`` is what
the disk's flush costs while the head is locked. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("plain", "unchained", "audited")


def configure(database: str, var_dir: str) -> str:
    if database == "sqlite":
        database = f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}"
    os.environ["DATABASE_URL"] = database
    os.environ["JINGWANG_VAR_DIR"] = var_dir
    os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
    os.environ["JINGWANG_JOBS_IMMEDIATE"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "jingwang.settings"
    return database


def create_postgres_database(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            connection.execute(f'DROP DATABASE "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def prepare(prefill: int) -> tuple[int, int]:
    """Migrate, make a station and an actor, and prefill the audit table."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from jingwang.accounts.models import User
    from jingwang.audit.actions import record_many
    from jingwang.audit.vocabulary import register_actions
    from jingwang.territory.models import Bureau, Station

    bureau = Bureau.objects.create(code="BB", name="bench bureau")
    station = Station.objects.create(bureau=bureau, code="BS", name="bench station")
    actor = User.objects.create(username="bench", role="station_chief", station=station)
    register_actions({"bench_prefill": "bench prefill"})
    for start in range(0, prefill, 5000):
        record_many(actor, "bench_prefill", [station] * min(5000, prefill - start))
    return station.pk, actor.pk


def unchained_record(base: int) -> Any:
    """``record`` without the chain head: the same event, MAC and INSERT statement, under a
    sequence number of its own (unlinked): what remains when the lock is gone."""
    from django.db import connection
    from django.utils import timezone

    from jingwang.audit import actions, chain

    counter = iter(range(base, base + 10**8))

    def record(actor: Any, action: str, obj: Any = None, **kwargs: Any) -> Any:
        event = actions._event(
            actor,
            action,
            obj,
            at=timezone.now(),
            station_id=kwargs.get("station_id"),
            outcome=kwargs.get("outcome", "ok"),
            detail=kwargs.get("detail"),
            actor_name=None,
            object_type=None,
            object_id=None,
            subject=None,
        )
        event.seq, event.prev_hash = next(counter), chain.GENESIS
        event.hash = chain.event_hash(event)
        with connection.cursor() as cursor:
            cursor.execute(actions._insert_sql(connection), actions._params(event, connection))
        return event

    return record


def writer(
    worker: int,
    variant: str,
    run_number: int,
    seconds: float,
    ids: tuple[int, int],
    start: Any,
    results: Any,
) -> None:
    from django.db import connection, connections

    connections.close_all()
    from jingwang.accounts.models import User
    from jingwang.people import actions
    from jingwang.territory.models import Station

    if variant == "plain":
        actions.record = lambda *args, **kwargs: None  # type: ignore[assignment]
    elif variant == "unchained":
        actions.record = unchained_record(10**12 + run_number * 10**10 + worker * 10**8)
    elif variant == "audited_nosync":  # diagnostic: the commits do not wait for the disk
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    station = Station.objects.get(pk=ids[0])
    actor = User.objects.get(pk=ids[1])
    latencies: list[float] = []
    errors: dict[str, int] = {}
    start.wait()
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        try:
            actions.create_person(actor, station, name=f"w{worker}-{n}", kind="officer")
        except Exception as exc:  # counted, not hidden: a writer that fails is a result too
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        latencies.append(time.perf_counter() - began)
        n += 1
    results.put((len(latencies) - sum(errors.values()), errors, latencies))


RUNS = iter(range(1, 10**6))


def run(variant: str, writers: int, seconds: float, ids: tuple[int, int]) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(writers)
    results = context.Queue()
    number = next(RUNS)
    processes = [
        context.Process(target=writer, args=(i, variant, number, seconds, ids, start, results))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    collected = [results.get() for _ in processes]
    for process in processes:
        process.join()
    errors: dict[str, int] = {}
    for _, errs, _ in collected:
        for name, count in errs.items():
            errors[name] = errors.get(name, 0) + count
    latencies = sorted(t for c in collected for t in c[2])
    return {
        "rate": sum(c[0] for c in collected) / seconds,
        "errors": errors,
        "p50": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="a PostgreSQL URL, or sqlite")
    parser.add_argument("--writers", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--prefill", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the median")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        database = configure(args.database, var_dir)
        if database.startswith("postgres"):
            create_postgres_database(database)
        ids = prepare(args.prefill)
        from django.db import connection

        postgres = connection.vendor == "postgresql"
        variants = VARIANTS + (("audited_nosync",) if postgres else ())
        print(
            f"{'PostgreSQL' if postgres else 'SQLite'}; {args.prefill:,} audit events before; "
            f"median of {args.repeat} runs of {args.seconds:g} s; {os.cpu_count()} cores (nproc); "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        extra = " audited, commits not waiting for the disk /s |" if postgres else ""
        print(
            "| writers | plain /s | unchained /s | audited /s | audited ÷ plain | "
            f"audited ÷ unchained | audited p50 / p99 ms |{extra} errors | load |"
        )
        print("|---:" * (9 + bool(postgres)) + "|")
        for writers in (int(w) for w in args.writers.split(",")):
            load = os.getloadavg()[0]
            runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
            for _ in range(args.repeat):  # interleaved, so drifting load hits every variant
                for variant in variants:
                    runs[variant].append(run(variant, writers, args.seconds, ids))
            got = {v: sorted(r, key=lambda x: x["rate"])[len(r) // 2] for v, r in runs.items()}
            for variant, results in runs.items():
                got[variant]["errors"] = {}
                for result in results:
                    for name, count in result["errors"].items():
                        got[variant]["errors"][name] = got[variant]["errors"].get(name, 0) + count
            plain, unchained, audited = (got[v] for v in VARIANTS)
            errors: dict[str, int] = {}
            for result in got.values():
                for name, count in result["errors"].items():
                    errors[name] = errors.get(name, 0) + count
            nosync = f" {got['audited_nosync']['rate']:.0f} |" if postgres else ""
            print(
                f"| {writers} | {plain['rate']:.0f} | {unchained['rate']:.0f} | "
                f"{audited['rate']:.0f} | {audited['rate'] / plain['rate']:.2f} | "
                f"{audited['rate'] / unchained['rate']:.2f} | "
                f"{audited['p50']:.1f} / {audited['p99']:.1f} |{nosync} "
                f"{sum(errors.values()) or 0}{' ' + str(errors) if errors else ''} | {load:.1f} |",
                flush=True,
            )
        from jingwang.audit.models import AuditEvent

        chained = AuditEvent.objects.filter(seq__lt=10**12).count()
        print(f"audit events at the end: {AuditEvent.objects.count():,} ({chained:,} chained)")
        print(f"chain check of the chained events: {verify_prefix()}")


def verify_prefix() -> str:
    """Walk the chained events (the unchained variant's stand apart, beyond 10^12)."""
    from jingwang.audit import actions
    from jingwang.audit.models import AuditEvent

    walker = actions._Walker(key=actions.chain.current_key())
    for event in AuditEvent.objects.filter(seq__lt=10**12).order_by("seq").iterator(5000):
        broken = walker.step(event)
        if broken is not None:
            return f"broken at {broken.seq} ({broken.reason})"
    return f"intact ({walker.checked:,} events)"


if __name__ == "__main__":
    main()
