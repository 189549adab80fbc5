"""Real server processes on a database of their own, for tests and benchmarks of many writers
at once (tests/test_concurrency.py, bench/concurrency.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# A station, its chief with an API token, and ``people`` officers to edit.
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
print(json.dumps({"token": create_api_token(chief, "load")[1], "people": people}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def django(env: dict[str, str], code: str) -> Any:
    """Run ``code`` in ``jingwang shell`` with ``env``; the JSON its last line prints."""
    out = subprocess.run(
        [sys.executable, "-m", "jingwang.cli", "shell", "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "jingwang.cli", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=300,
    )


@contextmanager
def servers(env: dict[str, str], count: int = 2, threads: int = 8) -> Iterator[list[int]]:
    """``count`` waitress processes serving the site; their ports, until the block ends."""
    ports = [free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "waitress",
                "--listen",
                f"127.0.0.1:{port}",
                "--threads",
                str(threads),
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
            wait_for(port)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start")


def send(
    port: int, token: str, method: str, path: str, body: dict[str, Any], key: str | None = None
) -> tuple[int, Any]:
    """One API request; its status and parsed answer (with ``retry_after`` on an error)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")[:200]
        if isinstance(parsed, dict):
            parsed["retry_after"] = error.headers.get("Retry-After")
        return error.code, parsed
