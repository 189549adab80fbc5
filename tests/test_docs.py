"""Docs that cannot drift (Datasette's test_docs.py): settings, roles and permissions."""

from __future__ import annotations

import re
from pathlib import Path

from jingwang.accounts.roles import PERMISSIONS, Perm, Role

ROOT = Path(__file__).resolve().parent.parent


def variables_read() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "jingwang" / "settings.py", ROOT / "jingwang" / "cli.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'(?:env(?:_bool|_int|_list)?|secret)\(\s*"([A-Z_]+)"', text))
        names |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z_]+)"', text))
    names.discard("DJANGO_SETTINGS_MODULE")
    return names


def test_every_variable_is_documented():
    documented = set(
        re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "docs" / "configuration.md").read_text(), re.M)
    )
    names = variables_read()
    assert len(names) > 15
    assert names - documented == set(), "read by the code but not in docs/configuration.md"
    assert documented - names == set(), "documented but no longer read"


def test_every_role_and_permission_is_documented_as_the_code_has_it():
    text = (ROOT / "docs" / "roles.md").read_text()
    for role in Role:
        assert f"`{role.value}`" in text
    rows = dict(re.findall(r"^\| `([a-z.]+)` \| [^|]+ \| ([a-z_, ]+) \|$", text, re.M))
    assert set(rows) == {perm.value for perm in Perm}
    for perm, roles in rows.items():
        holders = {role for role, perms in PERMISSIONS.items() if perm in perms}
        assert {r.strip() for r in roles.split(",")} == holders, perm


def test_readme_shows_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
