"""API intake: creates per second and latency of ``POST`` creates with ``Idempotency-Key`` on
PostgreSQL, with many clients at once, some retrying the same key, some timing out and retrying;
then every intended create counted in the database (lost, duplicated) and the audit chain
verified (``jingwang audit verify``). Issue 7: >= 200 creates/s, p99 < 250 ms on 2 cores.

    python bench/intake.py --database postgres://postgres@127.0.0.1:5432/jw_bench_intake
    python bench/intake.py --target incidents --servers 2 --threads 4 --clients 16 --seconds 30
    python bench/intake.py --variant plain        # the peer: a plain Django JSON view

The database: that name, dropped and created, migrated and set up (``--target`` chooses the
endpoint, its payload, its world and its check: ``people`` is ``POST /api/v1/people/`` with a
station and its chief; ``incidents`` is ``POST /api/v1/incidents`` on the demo's Tongchuan, its
grids, people and incidents, and the bureau's categories). The first run keeps a copy as a
template (``<name>_tpl_<hash of the migrations and setup>``) that later runs start from.

The servers: ``--servers`` waitress processes of ``--threads`` threads, a port each (the WSGI
application ``jingwang serve`` runs), or ``--server gunicorn`` with that many workers on one
port; with the production setting ``DATABASE_CONN_MAX_AGE=60`` (docs/deployment.md). Client
``i`` talks to port ``i % ports`` over one kept-alive connection, as behind nginx.

The load: ``--clients`` client processes send creates, each with a fresh key, for ``--warmup``
seconds and then the measured ``--seconds``, and finish the one in flight at the end. Of the
creates, ``--repeat-share`` are sent again with the same key and body once answered (a client
that lost the answer): the answer must be the first one (same id). ``--timeout-share`` are
first sent with a client timeout of ``--short-timeout`` seconds: when it runs out the client
drops the connection and sends the same request again (same key) until answered, while the
server may still be running the first. A 429/503 answer is retried after its Retry-After; a 5xx,
another 4xx or a refused connection is counted and shown.

Reported: distinct creates answered per second in the window (and in its slowest 5 seconds: it
is sustained), the latency of every answered request (p50/p95/p99; timed-out attempts are
counted apart), and of a create from its first send to its answer (retries included); then
lost (an intended create with no row), duplicated (rows beyond one per create) and the audit
chain. The clients share the 2 cores with the servers and PostgreSQL, and the machine may be
shared with other work: the CPU each part took in the window is measured (clients from their
own rusage; the servers and this database's PostgreSQL backends, not its WAL writer, from
/proc) beside the machine's total, as CPU ms per create, and as the rate 2 cores would carry
if nothing else ran on them (2,000 ms ÷ the three per create). ``--nice`` gives the run a
higher priority (root; the kernel's autogroups still share the cores between sessions).

Peers: ``--variant plain`` runs the same load against a plain Django JSON view doing the same
insert without the API stack (no token, idempotency, scope or audit: ``bench/intake_peer.py``);
as it has no Idempotency-Key, it runs without repeats and timeouts and its duplicates are not
counted. ``--tree DIR`` serves the code of another checkout (``git archive`` of an older
commit), for before/after rows in the same run. One Markdown row per run (``--json``: more).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# Targets: the endpoint, its payload, the world it needs and how its rows are counted.

PEOPLE_SETUP = """
import json
from jingwang.accounts.actions import create_api_token
from jingwang.accounts.models import User
from jingwang.territory.models import Bureau, Station

bureau = Bureau.objects.create(code="ST", name="三台县公安局")
station = Station.objects.create(bureau=bureau, code="TC", name="潼川派出所")
chief = User.objects.create(username="chief", role="station_chief", station=station)
print(json.dumps({"token": create_api_token(chief, "intake")[1], "station": "TC"}))
"""

PEOPLE_COUNT = """
import json
from collections import Counter
from jingwang.people.models import Person
rows = Counter(Person.objects.filter(name__startswith="载").values_list("name", flat=True))
print(json.dumps({"rows": {name[1:]: n for name, n in rows.items()}}))
"""

INCIDENTS_SETUP = """
import json
import shapely
from jingwang.accounts.actions import create_api_token
from jingwang.accounts.models import User
from jingwang.demo.generate import DEFAULT_SEED, generate
from jingwang.demo.load import load
from jingwang.incidents.categories import categories_of, ensure_categories
from jingwang.territory.models import Station

# The demo's Tongchuan (its grids, people and incidents), so each incident is placed in a grid.
demo = generate(DEFAULT_SEED, ["TC"])
load(demo)
station = Station.objects.get(code="TC")
ensure_categories(station.bureau_id)
leaves = categories_of(station.bureau_id).filter(parent__isnull=False).order_by("code")
grids = [g.geometry for s in demo.parts["territory"].stations if s.code == "TC" for g in s.grids]
chief = User.objects.create(username="intake", role="station_chief", station=station)
print(json.dumps({"token": create_api_token(chief, "intake")[1], "station": "TC",
                  "categories": [c.code for c in leaves[:20]],
                  "bounds": list(shapely.union_all(grids).bounds)}))
"""

INCIDENTS_COUNT = """
import json
from collections import Counter
from jingwang.incidents.models import Incident
rows = Counter(Incident.objects.filter(number__startswith="JWB").values_list("number", flat=True))
print(json.dumps({"rows": {number[3:]: n for number, n in rows.items()}}))
"""


def people_payload(world: dict[str, Any], key: str, rng: random.Random) -> dict[str, Any]:
    return {"station": world["station"], "name": f"载{key}", "kind": "officer"}


def incidents_payload(world: dict[str, Any], key: str, rng: random.Random) -> dict[str, Any]:
    """An incident of the 110 system: a point within Tongchuan's grids' bounds (WGS-84; some
    fall outside every grid and stay unplaced, as real ones do), a caller with a phone."""
    west, south, east, north = world["bounds"]
    return {
        "station": world["station"],
        "number": f"JWB{key}",
        "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": "call_110",
        "category": rng.choice(world["categories"]),
        "lon": round(rng.uniform(west, east), 6),
        "lat": round(rng.uniform(south, north), 6),
        "caller_name": "张先生",
        "caller_phone": f"138{rng.randrange(10**8):08d}",
    }


@dataclass(frozen=True)
class Target:
    path: str
    setup: str
    count: str
    payload: Any


TARGETS = {
    "people": Target("/api/v1/people/", PEOPLE_SETUP, PEOPLE_COUNT, people_payload),
    "incidents": Target("/api/v1/incidents", INCIDENTS_SETUP, INCIDENTS_COUNT, incidents_payload),
}
PLAIN_PATH = "/api/bench-peer/people/"  # bench/intake_peer.py


# ---------------------------------------------------------------------------------------------
# The servers and the database.


def django(env: dict[str, str], tree: Path, code: str) -> Any:
    """Run ``code`` in ``jingwang shell`` of ``tree``; the JSON its last line prints."""
    out = subprocess.run(
        [sys.executable, "-m", "jingwang.cli", "shell", "-c", code],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _admin(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return parts.path.lstrip("/"), urlunsplit(parts._replace(path="/postgres"))


def fresh_database(url: str, template: str = "") -> str | None:
    """Drop and create the database, from ``template`` when that exists: then the world its
    setup printed (kept as the template's comment), else None."""
    import psycopg

    name, admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        found = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [template],
        ).fetchone()
        if found and found[0]:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return str(found[0])
        connection.execute(f'CREATE DATABASE "{name}"')
    return None


def keep_as_template(url: str, template: str, world: str) -> None:
    """Copy the migrated and set-up database as ``template``, for the next runs."""
    import psycopg

    name, admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{template}"')
        connection.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
        connection.execute(f'COMMENT ON DATABASE "{template}" IS {psycopg.sql.quote(world)}')


def template_name(url: str, tree: Path, setup: str) -> str:
    """The template of a database migrated by ``tree``'s migrations and set up by ``setup``."""
    digest = hashlib.sha256(setup.encode())
    for path in sorted(tree.glob("jingwang/*/migrations/*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return f"{_admin(url)[0]}_tpl_{digest.hexdigest()[:12]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_servers(
    env: dict[str, str], tree: Path, app: str, server: str, count: int, threads: int
) -> list[tuple[subprocess.Popen[bytes], int]]:
    """waitress: ``count`` processes of ``threads`` threads, a port each (``jingwang serve``
    is one of them); gunicorn: one port, ``count`` workers (sync, or gthread with ``threads``
    threads), the master forking them."""
    servers = []
    for _ in range(count if server == "waitress" else 1):
        port = free_port()
        if server == "waitress":
            command = ["waitress", "--listen", f"127.0.0.1:{port}", "--threads", str(threads)]
            command += ["--ident", "jingwang", app]
        else:
            command = ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(count)]
            command += ["--worker-class", "gthread" if threads > 1 else "sync"]
            command += ["--threads", str(threads), "--keep-alive", "30", app]
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            env=env,
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append((process, port))
    for _process, port in servers:
        wait_for(port)
    return servers


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start")


# ---------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc): what the servers, PostgreSQL and the whole machine used.

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def tree_cpu(pid: int) -> float:
    """A process and its children (gunicorn's workers)."""
    total = proc_cpu(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(tree_cpu(int(child)) for child in children)


def backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving this database (not other databases' work)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def postgres_cpu(url: str) -> dict[int, float]:
    return {pid: proc_cpu(pid) for pid in backends(url)}


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine, all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


# ---------------------------------------------------------------------------------------------
# The clients.


@dataclass
class ClientPlan:
    index: int
    port: int
    token: str
    path: str
    target: str
    world: dict[str, Any]
    start_at: float
    stop_at: float
    repeat_share: float
    timeout_share: float
    short_timeout: float
    timeout: float
    seed: int
    out: str


@dataclass
class ClientResult:
    requests: list[tuple[float, float, int]] = field(default_factory=list)  # start, s, status
    creates: list[tuple[str, float, float, int]] = field(default_factory=list)  # key, t0, s, id
    timeouts: int = 0
    repeats: int = 0
    repeat_mismatch: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    cpu: float = 0.0


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.http: http.client.HTTPConnection | None = None

    def send(self, path: str, body: bytes, headers: dict[str, str], timeout: float) -> Any:
        if self.http is None:
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        self.http.timeout = timeout
        if self.http.sock is not None:
            self.http.sock.settimeout(timeout)
        try:
            self.http.request("POST", path, body=body, headers=headers)
            response = self.http.getresponse()
            raw = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, raw, response.getheader("Retry-After")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None


def client(plan: ClientPlan) -> None:
    rng = random.Random(plan.seed)
    result = ClientResult()
    connection = Connection(plan.port)
    headers = {"Authorization": f"Bearer {plan.token}", "Content-Type": "application/json"}
    payload = TARGETS[plan.target].payload if plan.target != "plain" else people_payload
    while time.time() < plan.start_at:
        time.sleep(0.005)
    n = 0
    while time.time() < plan.stop_at:
        key = f"{plan.index:02d}-{n:06d}"
        n += 1
        body = json.dumps(payload(plan.world, key, rng), ensure_ascii=False).encode()
        request_headers = {**headers, "Idempotency-Key": key}
        timeout = plan.short_timeout if rng.random() < plan.timeout_share else plan.timeout
        started = time.time()
        answer = None
        attempts = 0
        while answer is None and attempts < 50:
            attempts += 1
            t0 = time.time()
            try:
                status, raw, retry_after = connection.send(
                    plan.path, body, request_headers, timeout
                )
            except TimeoutError:
                result.timeouts += 1
                timeout = plan.timeout  # the retry waits as long as a normal request
                continue
            except (OSError, http.client.HTTPException) as exc:
                result.statuses["refused"] += 1
                result.errors.append(f"{key}: {exc!r}")
                time.sleep(0.1)
                continue
            seconds = time.time() - t0
            result.requests.append((t0, seconds, status))
            result.statuses[str(status)] += 1
            if status in (429, 503):
                time.sleep(float(retry_after or 1))
                continue
            if status >= 500 or not 200 <= status < 300:
                result.errors.append(f"{key}: {status} {raw[:200]!r}")
                if status >= 500:
                    continue
                break
            answer = json.loads(raw)
        if answer is None:
            result.creates.append((key, started, time.time() - started, -1))
            continue
        result.creates.append((key, started, time.time() - started, int(answer.get("id", 0))))
        if plan.repeat_share and rng.random() < plan.repeat_share:
            t0 = time.time()
            try:
                status, raw, _ = connection.send(plan.path, body, request_headers, plan.timeout)
            except (OSError, http.client.HTTPException) as exc:
                result.errors.append(f"{key} repeat: {exc!r}")
                continue
            result.requests.append((t0, time.time() - t0, status))
            result.statuses[str(status)] += 1
            result.repeats += 1
            again = json.loads(raw) if 200 <= status < 300 else {}
            if again.get("id") != answer.get("id"):
                result.repeat_mismatch += 1
                result.errors.append(f"{key} repeat: {status} {raw[:200]!r}")
    connection.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu = usage.ru_utime + usage.ru_stime
    Path(plan.out).write_text(
        json.dumps(
            {
                "requests": result.requests,
                "creates": result.creates,
                "timeouts": result.timeouts,
                "repeats": result.repeats,
                "repeat_mismatch": result.repeat_mismatch,
                "statuses": result.statuses,
                "errors": result.errors[:20],
                "cpu": result.cpu,
            }
        )
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    tree = Path(args.tree).resolve() if args.tree else ROOT
    plain = args.variant == "plain"
    target = TARGETS[args.target]
    setup = PEOPLE_SETUP if plain else target.setup
    template = template_name(args.database, tree, setup) if args.template else ""
    kept = fresh_database(args.database, template)
    env = {
        **os.environ,
        "DATABASE_URL": args.database,
        "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
        "JINGWANG_VAR_DIR": str(tmp),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "DJANGO_SETTINGS_MODULE": "jingwang.settings",
        "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT / "bench")]),
    }
    if kept is not None:
        world = json.loads(kept)
    else:
        subprocess.run(
            [sys.executable, "-m", "jingwang.cli", "migrate", "--noinput", "-v", "0"],
            env=env,
            cwd=tree,
            check=True,
            timeout=600,
        )
        world = django(env, tree, setup)
        if template:
            keep_as_template(args.database, template, json.dumps(world))
    app = "intake_peer:application" if plain else "jingwang.wsgi:application"
    servers = start_servers(env, tree, app, args.server, args.servers, args.threads)
    ports = [port for _process, port in servers]
    try:
        start_at = time.time() + 1.5  # every client process started and connected
        measure_from = start_at + args.warmup  # connections open, caches warm
        stop_at = measure_from + args.seconds
        plans = [
            ClientPlan(
                index=i,
                port=ports[i % len(ports)],
                token=world["token"],
                path=PLAIN_PATH if plain else target.path,
                target="plain" if plain else args.target,
                world=world,
                start_at=start_at,
                stop_at=stop_at,
                repeat_share=0.0 if plain else args.repeat_share,
                timeout_share=0.0 if plain else args.timeout_share,
                short_timeout=args.short_timeout,
                timeout=args.timeout,
                seed=args.seed * 1000 + i,
                out=str(tmp / f"client{i}.json"),
            )
            for i in range(args.clients)
        ]
        processes = [
            multiprocessing.Process(target=client, args=(plan,), daemon=True) for plan in plans
        ]
        for client_process in processes:
            client_process.start()
        while time.time() < measure_from:
            time.sleep(0.01)
        load = os.getloadavg()[0]
        if args.nice:
            for pid in backends(args.database):
                os.setpriority(os.PRIO_PROCESS, pid, args.nice)
        pg0 = postgres_cpu(args.database)
        cpu0 = (machine_cpu(), 0.0, sum(tree_cpu(p.pid) for p, _ in servers))
        while time.time() < stop_at:
            time.sleep(0.05)
        pg1 = postgres_cpu(args.database)
        pg = sum(cpu - pg0.get(pid, 0.0) for pid, cpu in pg1.items())
        cpu1 = (machine_cpu(), pg, sum(tree_cpu(p.pid) for p, _ in servers))
        window = time.time() - measure_from
        for client_process in processes:
            client_process.join(timeout=args.timeout * 3 + 60)
        finished = time.time() - start_at
    finally:
        for process, _port in servers:
            process.terminate()
        for process, _port in servers:
            process.wait(timeout=30)
    results = [json.loads((tmp / f"client{i}.json").read_text()) for i in range(args.clients)]
    requests = [tuple(r) for res in results for r in res["requests"]]
    creates = [tuple(c) for res in results for c in res["creates"]]
    statuses: Counter[str] = Counter()
    for res in results:
        statuses.update(res["statuses"])
    answered = [c for c in creates if c[3] >= 0]
    in_window = [c for c in answered if measure_from <= c[1] + c[2] <= stop_at]
    rate = len(in_window) / args.seconds
    buckets = Counter(int((c[1] + c[2] - measure_from) // 5) for c in in_window)
    full = [buckets.get(b, 0) / 5 for b in range(int(args.seconds // 5))]
    latencies = [
        r[1] * 1000 for r in requests if 200 <= r[2] < 300 and measure_from <= r[0] < stop_at
    ]
    create_latencies = [c[2] * 1000 for c in answered if measure_from <= c[1] < stop_at]
    # What is in the database: one row per intended create, no more.
    rows = {} if plain else django(env, tree, target.count)["rows"]
    intended = {c[0] for c in creates}
    lost = sorted(k for k in intended if rows.get(k, 0) == 0) if not plain else []
    duplicated = sum(n - 1 for n in rows.values() if n > 1)
    strays = sorted(k for k in rows if k not in intended)
    verify = subprocess.run(
        [sys.executable, "-m", "jingwang.cli", "audit", "verify"],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    client_cpu = sum(res["cpu"] for res in results)
    machine = cpu1[0] - cpu0[0]
    return {
        "variant": args.label or ("plain" if plain else args.target),
        "servers": f"{args.server} {args.servers}",
        "threads": args.threads,
        "clients": args.clients,
        "seconds": args.seconds,
        "window_s": round(window, 1),
        "drain_s": round(finished - window, 1),
        "creates": len(in_window),
        "creates_per_s": round(rate, 1),
        "slowest_5s_per_s": round(min(full), 1) if full else None,
        "requests": len(requests),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "create_p99_ms": round(percentile(create_latencies, 0.99), 1),
        "timeouts": sum(res["timeouts"] for res in results),
        "repeats": sum(res["repeats"] for res in results),
        "repeat_mismatch": sum(res["repeat_mismatch"] for res in results),
        "statuses": dict(statuses),
        "unanswered": len(creates) - len(answered),
        "intended": len(intended),
        "lost": len(lost),
        "duplicated": duplicated,
        "strays": len(strays),
        "audit_verify": "intact" if verify.returncode == 0 else "BROKEN",
        "audit_output": (verify.stdout + verify.stderr).strip()[-500:],
        # CPU seconds per second of the window (2.0 = both cores busy).
        "cpu_machine": round(machine / window, 2),
        "cpu_servers": round((cpu1[2] - cpu0[2]) / window, 2),
        "cpu_postgres": round((cpu1[1] - cpu0[1]) / window, 2),
        "cpu_clients": round(client_cpu / finished, 2),
        # CPU milliseconds per create answered in the window, and what 2 cores would carry
        # if nothing else ran: 2,000 ms ÷ (servers + PostgreSQL + clients) per create.
        "ms_servers": round(1000 * (cpu1[2] - cpu0[2]) / max(1, len(in_window)), 2),
        "ms_postgres": round(1000 * (cpu1[1] - cpu0[1]) / max(1, len(in_window)), 2),
        "ms_clients": round(1000 * client_cpu / max(1, len(answered)), 2),
        "load": round(load, 1),
        "nice": args.nice,
        "errors": [e for res in results for e in res["errors"]][:10],
    }


def row(r: dict[str, Any]) -> str:
    problems = r["lost"] + r["duplicated"] + r["repeat_mismatch"] + r["unanswered"]
    other = sum(n for s, n in r["statuses"].items() if s not in ("200", "201"))
    return (
        f"| {r['variant']} | {r['servers']}×{r['threads']} | {r['clients']} | "
        f"{r['creates_per_s']:.0f} ({r['slowest_5s_per_s']:.0f}) | "
        f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} / {r['p99_ms']:.0f} | {r['create_p99_ms']:.0f} | "
        f"{r['timeouts']} / {r['repeats']} | {other} | "
        f"{r['lost']} / {r['duplicated']}{' !' if problems else ''} | {r['audit_verify']} | "
        f"{r['cpu_machine']:.2f} = {r['cpu_servers']:.2f} + {r['cpu_postgres']:.2f} + "
        f"{r['cpu_clients']:.2f} | {r['ms_servers']:.1f} / {r['ms_postgres']:.1f} / "
        f"{r['ms_clients']:.1f} | {2000 / (r['ms_servers'] + r['ms_postgres'] + r['ms_clients']):.0f} | "
        f"{r['load']:.1f} |"
    )


HEADER = (
    "| variant | servers×threads | clients | creates/s (slowest 5 s) | p50 / p95 / p99 ms | "
    "create p99 ms | timeouts / repeats | other answers | lost / duplicated | audit chain | "
    "CPU: machine = servers + PostgreSQL + clients | CPU ms per create: servers / PostgreSQL / "
    "clients | 2-core ceiling /s | load |\n"
    "|---|---|---:|---:|---|---:|---|---:|---|---|---|---|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/jw_bench_intake")
    parser.add_argument("--target", choices=sorted(TARGETS), default="people")
    parser.add_argument("--variant", choices=["api", "plain"], default="api")
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    parser.add_argument("--servers", type=int, default=2, help="processes (gunicorn: workers)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="the measured window")
    parser.add_argument("--warmup", type=float, default=3, help="load before the window")
    parser.add_argument("--repeat-share", type=float, default=0.1)
    parser.add_argument("--timeout-share", type=float, default=0.1)
    parser.add_argument("--short-timeout", type=float, default=0.03)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--conn-max-age", type=int, default=60)
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the servers, clients and this database's PostgreSQL "
        "backends (root may give a negative one: on a shared machine, others' work then takes "
        "less of the 2 cores from the run)",
    )
    parser.add_argument("--tree", default="", help="serve the code of this checkout instead")
    parser.add_argument("--label", default="", help="the row's name (default: the target)")
    parser.add_argument(
        "--no-template",
        dest="template",
        action="store_false",
        help="migrate and set up from scratch (default: copy a template database kept by an "
        "earlier run with the same migrations and setup, ``<name>_tpl_<hash>``)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print every figure as JSON too")
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()
    if args.clients < 1 or args.servers < 1:
        parser.error("at least one client and one server")
    tmp = Path(tempfile.mkdtemp(prefix="jw-intake-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # servers stop too
    if args.nice:  # the servers and clients inherit it; the PostgreSQL backends get it below
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    result = run(args, tmp)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    if not args.no_header:
        print(HEADER)
    print(row(result), flush=True)
    if result["errors"]:
        print("errors:", *result["errors"], sep="\n  ", file=sys.stderr)
    if result["audit_verify"] != "intact":
        print(result["audit_output"], file=sys.stderr)


if __name__ == "__main__":
    main()
