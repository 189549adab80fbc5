"""Loaded by pytest before Django (``-p jingwang.testenv``): development keys for the test run,
jobs run in the caller (huey's immediate mode), and each test seals the audit chain into a file
of its own."""

import os
from typing import Any

import pytest

os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
os.environ.setdefault("JINGWANG_JOBS_IMMEDIATE", "1")


@pytest.fixture(autouse=True)
def _audit_seals_of_this_test(request: Any, tmp_path: Any) -> None:
    # Django-free packages (jingwang/lib) may be tested without pytest-django (-p no:django).
    if request.config.pluginmanager.has_plugin("django"):
        request.getfixturevalue("settings").AUDIT_SEAL_FILE = tmp_path / "audit-seals.log"
