"""Skips for tests that need a tool outside Python — never skipped in CI.

CI sets JINGWANG_REQUIRE_TOOLS=1 and installs the tools, so a missing one fails there instead of
silently skipping; on a developer's machine without them the test is skipped with a reason.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("JINGWANG_CHROMIUM", "/usr/bin/chromium")


def require_tool(name: str) -> str:
    path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
    if path:
        return path
    if os.environ.get("JINGWANG_REQUIRE_TOOLS"):
        pytest.fail(f"{name} is required (JINGWANG_REQUIRE_TOOLS is set) but not installed")
    pytest.skip(f"{name} is not installed")
