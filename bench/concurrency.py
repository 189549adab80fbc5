"""Many writers at once against real servers: how many answers are 2xx, 409/429 or 5xx, and the
audited creates per second. Issue 6 item 1 (SQLite used to answer 33 of 50 parallel creates
with a 500).

    python bench/concurrency.py                                 # SQLite file
    python bench/concurrency.py --database postgres://postgres@127.0.0.1:5432/jw_bench

Two server processes (waitress, 8 threads each) serve a fresh database; each round sends
``--writers`` requests at once (creates with distinct Idempotency-Keys, edits of distinct
people, and retries of one key), ``--rounds`` times. Prints one Markdown row.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import json
from jingwang.accounts.actions import create_api_token
from jingwang.accounts.models import User
from jingwang.people.models import Person
from jingwang.territory.models import Bureau, Station

bureau = Bureau.objects.create(code="ST", name="三台县公安局")
station = Station.objects.create(bureau=bureau, code="TC", name="潼川派出所")
chief = User.objects.create(username="chief", role="station_chief", station=station)
people = [
    Person.objects.create(station=station, name=f"民警{i}", kind="officer").id
    for i in range(%(people)d)
]
print(json.dumps({"token": create_api_token(chief, "bench")[1], "people": people}))
"""

CHECK = """
import json
from collections import Counter
from jingwang.people.models import Person
from jingwang.audit.actions import verify
names = Counter(Person.objects.values_list("name", flat=True))
print(json.dumps({"duplicates": sum(1 for n in names.values() if n > 1),
                  "people": sum(names.values()), "audit_broken": verify().broken is not None}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def django(env: dict[str, str], code: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "jingwang.cli", "shell", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def send(
    port: int, token: str, method: str, path: str, body: dict[str, Any], key: str | None
) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite file)")
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jw-bench-"))
    url = args.database or f"sqlite:///{tmp / 'bench.sqlite3'}"
    if args.database:  # a fresh database of that name
        base, _sep, name = args.database.rpartition("/")
        admin = {**os.environ, "PGPASSWORD": ""}
        subprocess.run(
            ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name], env=admin
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], env=admin, check=True
        )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JINGWANG_VAR_DIR": str(tmp),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "DJANGO_SETTINGS_MODULE": "jingwang.settings",
    }
    subprocess.run(
        [sys.executable, "-m", "jingwang.cli", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    edits_per_round = args.writers // 5
    site = django(env, SETUP % {"people": edits_per_round * args.rounds})
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "waitress",
                "--listen",
                f"127.0.0.1:{port}",
                "--threads",
                "8",
                "jingwang.wsgi:application",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.2)
        statuses: Counter[int] = Counter()
        creates = 0
        started = time.perf_counter()
        for r in range(args.rounds):
            people = site["people"][r * edits_per_round : (r + 1) * edits_per_round]
            jobs = [
                ("PATCH", f"/api/v1/people/{pid}", {"version": 1, "name": f"改{r}-{i}"}, None)
                for i, pid in enumerate(people)
            ]
            jobs += [
                (
                    "POST",
                    "/api/v1/people/",
                    {"station": "TC", "name": f"重{r}", "kind": "officer"},
                    f"same{r}",
                )
                for _ in range(5)
            ]
            jobs += [
                (
                    "POST",
                    "/api/v1/people/",
                    {"station": "TC", "name": f"新{r}-{i}", "kind": "officer"},
                    f"k{r}-{i}",
                )
                for i in range(args.writers - len(jobs))
            ]
            creates += sum(1 for job in jobs if job[0] == "POST" and not job[3].startswith("same"))
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                answers = list(
                    pool.map(
                        lambda ij: send(ports[ij[0] % 2], site["token"], *ij[1]), enumerate(jobs)
                    )
                )
            statuses.update(answers)
        seconds = time.perf_counter() - started
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    check = django(env, CHECK)
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    clear = sum(n for s, n in statuses.items() if s in (409, 429))
    fivexx = sum(n for s, n in statuses.items() if s >= 500)
    engine = "PostgreSQL" if args.database else "SQLite (file)"
    load = os.getloadavg()[0]
    print(
        f"| {engine} | {args.writers} × {args.rounds} | {ok} | {clear} | {fivexx} | "
        f"{check['duplicates']} | {'intact' if not check['audit_broken'] else 'BROKEN'} | "
        f"{creates / seconds:.0f} | {seconds:.1f} | {load:.1f} |"
    )


if __name__ == "__main__":
    main()
