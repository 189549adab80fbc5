"""Every model change has its migration, and a fresh checkout (no keys yet) can check that."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_model_changed_without_a_migration(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JINGWANG_", "SECRET_KEY", "DATABASE_URL"))
    }
    env["JINGWANG_VAR_DIR"] = str(tmp_path)  # no keys there: as on a fresh checkout
    done = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes detected" in done.stdout
