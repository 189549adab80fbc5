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
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import live  # noqa: E402  (the same servers as tests/test_concurrency.py)

CHECK = """
import json
from collections import Counter
from jingwang.people.models import Person
from jingwang.audit.actions import verify
names = Counter(Person.objects.values_list("name", flat=True))
print(json.dumps({"duplicates": sum(1 for n in names.values() if n > 1),
                  "people": sum(names.values()), "audit_broken": verify().broken is not None}))
"""


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
    live.migrate(env)
    edits_per_round = args.writers // 5
    site = live.django(env, live.SETUP % {"people": edits_per_round * args.rounds})
    with live.servers(env) as ports:
        statuses: Counter[int] = Counter()
        creates = 0
        started = time.perf_counter()
        for r in range(args.rounds):
            people = site["people"][r * edits_per_round : (r + 1) * edits_per_round]
            jobs = [
                ("PATCH", f"/api/v1/people/{pid}", {"version": 1, "name": f"改{r}-{i}"}, None)
                for i, pid in enumerate(people)
            ]
            same = {"station": "TC", "name": f"重{r}", "kind": "officer"}
            jobs += [("POST", "/api/v1/people/", same, f"same{r}") for _ in range(5)]
            jobs += [
                (
                    "POST",
                    "/api/v1/people/",
                    {"station": "TC", "name": f"新{r}-{i}", "kind": "officer"},
                    f"k{r}-{i}",
                )
                for i in range(args.writers - len(jobs))
            ]
            creates += sum(1 for job in jobs if job[3] and not job[3].startswith("same"))
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                answers = pool.map(
                    lambda ij: live.send(ports[ij[0] % 2], site["token"], *ij[1])[0],
                    enumerate(jobs),
                )
                statuses.update(answers)
        seconds = time.perf_counter() - started
    check = live.django(env, CHECK)
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
