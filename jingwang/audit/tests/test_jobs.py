"""Jobs: the periodic seal, a task through the real Redis queue, the consumer beside the server."""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from jingwang.audit.actions import record, verify
from jingwang.core import jobs

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("JINGWANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_the_seal_job_is_periodic_and_writes_a_checkpoint(world, settings):
    from jingwang.audit.tasks import seal_chain

    # The scheduler enqueues it every JINGWANG_AUDIT_SEAL_MINUTES (10): at :10, not at :11.
    def due(at):
        return [type(task) for task in jobs.HUEY.read_periodic(at)]

    assert seal_chain.task_class in due(datetime(2026, 12, 1, 8, 10))
    assert seal_chain.task_class not in due(datetime(2026, 12, 1, 8, 11))
    for _ in range(3):
        record(world.users["chief"], "test_event")
    seal_chain()  # as the consumer runs it (immediate mode in tests: at once, here)
    seal_chain()  # nothing new since: nothing appended
    lines = settings.AUDIT_SEAL_FILE.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3]
    assert verify().checkpoints == 1


noted: list[int] = []


@jobs.db_task()
def note(value: int) -> None:
    noted.append(value)


def test_a_task_is_enqueued_when_its_transaction_commits_and_never_after_a_rollback(
    db, django_capture_on_commit_callbacks
):
    noted.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            jobs.enqueue_on_commit(note, 1)
            assert noted == []  # not before the commit
        with pytest.raises(RuntimeError), transaction.atomic():
            jobs.enqueue_on_commit(note, 2)
            raise RuntimeError("the write failed")
    assert noted == [1]


def test_job_intervals_divide_an_hour_or_a_day():
    assert jobs.every(10)(datetime(2026, 1, 1, 3, 50))
    assert not jobs.every(10)(datetime(2026, 1, 1, 3, 55))
    assert jobs.every(120)(datetime(2026, 1, 1, 4, 0))
    assert not jobs.every(120)(datetime(2026, 1, 1, 5, 0))
    with pytest.raises(ImproperlyConfigured, match="7 minutes"):
        jobs.every(7)


def _redis_or_skip(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("JINGWANG_REQUIRE_TOOLS"):
            pytest.fail(f"Redis is required (JINGWANG_REQUIRE_TOOLS is set) but {url} answers not")
        pytest.skip(f"Redis is not running at {url}")


def test_a_task_runs_through_the_real_redis_queue(monkeypatch):
    _redis_or_skip(REDIS_URL)
    # The settings choose Redis when a URL is given...
    monkeypatch.setenv("JINGWANG_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("JINGWANG_JOBS_IMMEDIATE", "0")
    config = runpy.run_path(str(ROOT / "jingwang" / "settings.py"))["HUEY"]
    assert (config["huey_class"], config["url"], config["immediate"]) == (
        "huey.RedisHuey",
        REDIS_URL,
        False,
    )
    # ...and a task goes into Redis, waits there, and the consumer of `jingwang serve` runs it.
    from huey import RedisHuey

    queue = RedisHuey(f"jingwang-test-{uuid.uuid4().hex}", url=config["url"])

    @queue.task()
    def add(a: int, b: int) -> int:
        return a + b

    try:
        result = add(2, 3)
        assert queue.pending_count() == 1
        consumer = jobs.start_consumer(queue, workers=1, periodic=False)
        try:
            assert result.get(blocking=True, timeout=10) == 5
            assert queue.pending_count() == 0
        finally:
            consumer.stop(graceful=True)
    finally:
        queue.storage.flush_all()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_runs_the_consumer_and_ctrl_c_stops_both(tmp_path):
    env = {
        **os.environ,
        "JINGWANG_VAR_DIR": str(tmp_path),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "JINGWANG_JOBS_IMMEDIATE": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("JINGWANG_REDIS_URL", None)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jingwang.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As from a terminal: a run started in the background (CI, nohup) ignores SIGINT, and a
        # process inherits that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        assert (tmp_path / "huey.sqlite3").exists()  # the queue the consumer reads
        server.send_signal(signal.SIGINT)  # Ctrl+C
        output = server.communicate(timeout=30)[0]
        assert server.returncode == 0, output
        assert "jobs: huey consumer with 2 threads" in output
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
