"""A small fake SMS platform (http.server on 127.0.0.1, a random port) and a movable clock."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jingwang.sms import rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "gateway-shared-secret"


class FakeGateway:
    """Answers each POST with the next behaviour of ``plan`` ("accept", "fail", "reject",
    "timeout"), then "accept"; keeps what it received; posts delivery reports back on demand."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.accepted: list[str] = []  # the ids it gave, in order
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                with gateway.lock:
                    gateway.received.append(body)
                    behaviour = gateway.plan.pop(0) if gateway.plan else "accept"
                    number = len(gateway.received)
                if behaviour == "timeout":
                    time.sleep(1.5)  # longer than the client's timeout in the tests
                    return self._answer(200, {"code": 0, "msgId": f"late-{number}"})
                if behaviour == "fail":
                    return self._answer(503, {"code": 503, "msg": "busy"})
                if behaviour == "reject":
                    return self._answer(200, {"code": 40001, "msg": "号码无效"})
                message_id = f"gw-{number}"
                with gateway.lock:
                    gateway.accepted.append(message_id)
                return self._answer(200, {"code": 0, "msgId": message_id})

            def _answer(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client gave up (a timeout): nothing to answer
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def report(
        self, base_url: str, reports: list[dict[str, Any]], secret: str = SECRET
    ) -> tuple[int, dict[str, Any]]:
        """Post delivery reports to the server at ``base_url``, signed as a platform does."""
        return post_signed(f"{base_url}/sms/gateway/reports", {"reports": reports}, secret)


def post_signed(
    url: str, data: Any, secret: str = SECRET, timestamp: str | None = None
) -> tuple[int, dict[str, Any]]:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    stamp = timestamp or str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Timestamp": stamp,
            "X-Signature": rules.signature(secret, stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def fake_gateway(settings: Any) -> Iterator[FakeGateway]:
    gateway = FakeGateway()
    settings.SMS_BACKEND = "http"
    settings.SMS_URL = gateway.url
    settings.SMS_ACCOUNT = "santai"
    settings.SMS_PASSWORD = "pw"
    settings.SMS_TEMPLATE = "T-001"
    settings.SMS_SIGNATURE = "【三台公安】"
    settings.SMS_TIMEOUT = 1
    settings.SMS_REPORT_SECRET = SECRET
    yield gateway
    gateway.close()


class Clock:
    """The clock of ``sms.actions``, set to a local time in Shanghai."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)

    def set(self, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
        self.now = datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
        return self.now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from jingwang.sms import actions

    found = Clock()
    monkeypatch.setattr(actions, "clock", found)
    return found


@pytest.fixture
def live(transactional_db: Any, live_server: Any) -> Any:
    """The running server, for the fake platform to post back to. A transactional test ends by
    emptying every table, which SQLite's append-only guard of the audit log would refuse (as in
    tests/browser/conftest.py)."""
    from django.db import connection

    from jingwang.audit import triggers

    if connection.vendor == "sqlite":
        triggers.remove(connection)
    return live_server
