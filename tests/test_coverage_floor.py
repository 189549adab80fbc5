"""The coverage floor CI enforces (tests/coverage-floor) only rises: every commit that changed
it raised it or kept it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "tests/coverage-floor"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_the_floor_is_a_percentage() -> None:
    value = float((ROOT / FLOOR).read_text().strip())
    assert 0 < value <= 100


def test_the_floor_never_went_down() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    commits = _git("log", "--format=%H", "--reverse", "--", FLOOR).split()
    values = [float(_git("show", f"{commit}:{FLOOR}").strip()) for commit in commits]
    values.append(float((ROOT / FLOOR).read_text().strip()))
    assert values == sorted(values), f"the coverage floor went down: {values}"
