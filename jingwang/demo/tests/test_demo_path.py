"""The one documented demo path (docs/demo.md), as a newcomer walks it, one process per step.

Keys are made by the Makefile's own rule, as ``make demo`` makes them, in a var/ directory of
this test's own; then the real ``jingwang`` command migrates and loads the demo, and a request
made from ``manage.py`` (another process, reading the keys the same way) sees the people page
with masked numbers: data written by one command is readable by every other.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from jingwang.accounts.demo import PASSWORD
from tests.tools import require_tool

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
# Every key settings.py reads from var/ when its variable is unset: (variable, file in var/).
KEYS = re.findall(
    r'secret\(\s*"([A-Z_]+)",\s*"([a-z_]+)"', (ROOT / "jingwang" / "settings.py").read_text()
)

REQUEST = f"""
from django.test import Client
client = Client()
login = client.post("/accounts/login/", {{"username": "suozhang", "password": "{PASSWORD}"}})
page = client.get("/people/?station=TC")
print("LOGIN", login.status_code, "PAGE", page.status_code)
print(page.content.decode())
"""


def environment(var_dir: Path) -> dict[str, str]:
    """This process's environment without any key, development flag or database of its own:
    what a shell on a fresh machine has, with JINGWANG_VAR_DIR pointing at ``var_dir``."""
    drop = {"JINGWANG_INSECURE_DEV_KEYS", "DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    for name, _file in KEYS:
        drop |= {name, f"{name}_FILE"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env["JINGWANG_VAR_DIR"] = str(var_dir)
    return env


def run(*command: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_demo_keys_then_jingwang_migrate_demo_and_the_people_page(tmp_path: Path) -> None:
    make = require_tool("make")
    var_dir = tmp_path / "var"
    env = environment(var_dir)
    assert {file for _name, file in KEYS} >= {"secret_key", "pii_key"}

    # Without keys nothing falls back to development keys: both commands stop and say why.
    for command in ([BIN / "jingwang", "check"], [sys.executable, "manage.py", "check"]):
        refused = run(*command, env=env)
        assert refused.returncode != 0, command
        assert "make demo" in refused.stderr, refused.stderr[-2000:]

    # The keys, made by the Makefile's rule for them (as `make demo` does).
    keys = [str(var_dir / file) for _name, file in KEYS]
    made = run(make, "-s", f"VAR={var_dir}", *keys, env=env)
    assert made.returncode == 0, made.stderr
    assert all(Path(key).stat().st_size >= 32 for key in keys)

    migrated = run(BIN / "jingwang", "migrate", "--noinput", "-v", "0", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    loaded = run(BIN / "jingwang", "demo", env=env)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "suozhang" in loaded.stdout and PASSWORD in loaded.stdout

    answered = run(sys.executable, "manage.py", "shell", "-v", "0", "-c", REQUEST, env=env)
    assert answered.returncode == 0, answered.stderr[-3000:]
    status, page = answered.stdout.split("\n", 1)
    assert status == "LOGIN 302 PAGE 200", answered.stdout[:2000]
    # ID and phone numbers are shown masked, never in full.
    assert len(re.findall(r"510722\*{8}\d{3}[\dX]", page)) >= 10
    assert len(re.findall(r"1\d{2}\*{4}\d{4}", page)) >= 10
    assert not re.search(r"510722\d{11}[\dX]", page)
