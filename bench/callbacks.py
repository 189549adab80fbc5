"""The daily callback queue job over many closed incidents (issue 7).

    python bench/callbacks.py                       # SQLite file, 10,000 closed incidents
    python bench/callbacks.py --database postgres://postgres@127.0.0.1:5432/jw_bench_callbacks
    python bench/callbacks.py --incidents 50000

Loads the demo station TC's territory and people, inserts N incidents closed over the last
week with a caller's phone (about 1 in 12 of an officer-only category), turns on the SMS survey
for the station, then runs the daily job (``queue_callbacks``) twice: the first run makes every
callback and enqueues the surveys, the second must make none. Prints seconds and queries of
each run; the peer in the same run is the plain ORM way (one ``Callback.objects.create`` per
incident, with a working-day lookup each), on a copy of the same incidents.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import django_on  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="")
    parser.add_argument("--incidents", type=int, default=10_000)
    args = parser.parse_args()
    django_on(args.database, "callbacks", JINGWANG_JOBS_IMMEDIATE="0")
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from jingwang.core import workdays
    from jingwang.demo.load import load
    from jingwang.incidents import categories
    from jingwang.incidents.actions_callbacks import queue_callbacks
    from jingwang.incidents.models import Callback, Incident, StationCallbackSettings
    from jingwang.territory.models import Grid, Station

    load(stations=["TC"])
    station = Station.objects.get(code="TC")
    StationCallbackSettings.objects.update_or_create(station=station, defaults={"sms_survey": True})
    kinds = list(categories.categories_of(station.bureau_id))
    grids = list(
        Grid.objects.filter(station=station, version__is_current=True, children__isnull=True)
    )
    now = timezone.now()
    today = timezone.localdate()

    def insert(prefix: str) -> None:
        rows = []
        for i in range(args.incidents):
            closed = now - timedelta(days=1 + i % 7, minutes=i % 600)
            incident = Incident(
                station=station,
                number=f"{prefix}{i:07d}",
                received_at=closed - timedelta(hours=1),
                source="call_110",
                category=kinds[i % len(kinds)],
                status="closed",
                closed_at=closed,
                grid=grids[i % len(grids)],
                caller_name="报警人",
            )
            incident.caller_phone = f"139{i:08d}"
            rows.append(incident)
        Incident.objects.bulk_create(rows, batch_size=2000)

    insert("Q")
    runs = []
    for _ in range(2):
        began = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            queued = queue_callbacks(today)
        runs.append((time.perf_counter() - began, len(queries), queued))
    made = Callback.objects.filter(incident__number__startswith="Q").count()

    # The peer: one create per incident, in one transaction, on a fresh copy.
    insert("P")
    began = time.perf_counter()
    with transaction.atomic():
        for incident in Incident.objects.filter(number__startswith="P").only("id", "closed_at"):
            due = workdays.next_working_day(timezone.localdate(incident.closed_at))
            Callback.objects.create(incident_id=incident.id, station=station, due_on=due.on)
    peer = time.perf_counter() - began

    engine = "PostgreSQL" if args.database else "SQLite (file)"
    (first, first_q, queued), (second, second_q, again) = runs
    print(
        f"| {engine} | {args.incidents:,} | {made:,} | {len(queued.surveys):,} | {first:.2f} | "
        f"{first_q} | {second:.2f} ({again.callbacks} made) | {peer:.2f} "
        f"({peer / first:.1f}×) | {os.getloadavg()[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
