"""Browser journeys: real headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.tools import CHROMIUM, require_tool

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by fixtures
# in that thread are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _allow_flushing_the_audit_table(transactional_db: Any) -> None:
    """A transactional test ends by emptying every table; SQLite's guard would refuse that.

    (PostgreSQL empties tables with TRUNCATE, which the row triggers do not see.) The tests of
    the guard itself re-install it.
    """
    from django.db import connection

    from jingwang.audit import triggers

    if connection.vendor == "sqlite":
        triggers.remove(connection)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = require_tool(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh page that records every request, to prove nothing leaves the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    yield page
    context.close()


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 780}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
