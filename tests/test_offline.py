"""The intranet has no internet: no page, style or script may load anything from outside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = re.compile(
    r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//(?!127\.0\.0\.1|localhost)""", re.I
)


def test_no_template_or_asset_of_ours_names_an_outside_url():
    offenders = []
    for folder in ("templates", "static"):
        for path in (ROOT / "jingwang" / folder).rglob("*"):
            if path.suffix in {".html", ".js", ".css", ".svg"} and EXTERNAL.search(
                path.read_text("utf-8")
            ):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/territory/",
        "/territory/grids/",
        "/people/",
        "/people/coverage/",
        "/accounts/tokens/",
        "/people/new/?station=TC",
        "/territory/import/",
        "/api/v1/docs",
    ],
)
def test_rendered_pages_load_nothing_from_outside(world, url):
    page = world.client("chief").get(url).content.decode()
    assert EXTERNAL.search(page) is None, EXTERNAL.search(page)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert world.client("chief").get(asset).status_code == 200, asset
