"""`jingwang serve` behind a proxy: the audit log records the client's address from the
proxy's X-Forwarded-For, and only when the proxy is the trusted one."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests import live

ROOT = Path(__file__).resolve().parent.parent

LAST_FAILED_LOGIN = """
import json
from jingwang.audit.models import AuditEvent
event = AuditEvent.objects.filter(action="login_failed").order_by("-seq").first()
print(json.dumps({"ip": event.ip if event else None}))
"""


def _failed_login(port: int, forwarded_for: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": "nobody", "password": "Wrong-1234"}
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/",
        data=body,
        headers={"X-Forwarded-For": forwarded_for, "Referer": f"http://127.0.0.1:{port}/"},
    )
    opener.open(request, timeout=30).read()


def _serve(env: dict[str, str], port: int) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "jingwang.cli", "serve", "--port", str(port), "--no-jobs"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize(
    "trusted, recorded",
    [("127.0.0.1", "10.20.30.40"), ("", "127.0.0.1"), ("192.0.2.1", "127.0.0.1")],
)
def test_the_audit_log_records_the_client_behind_the_trusted_proxy_only(
    tmp_path: Path, trusted: str, recorded: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "JINGWANG_VAR_DIR": str(tmp_path),
        "JINGWANG_INSECURE_DEV_KEYS": "1",
        "JINGWANG_TRUSTED_PROXY": trusted,
    }
    live.migrate(env)
    port = live.free_port()
    server = _serve(env, port)
    try:
        live.wait_for(port)
        _failed_login(port, "10.20.30.40")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert live.django(env, LAST_FAILED_LOGIN) == {"ip": recorded}
