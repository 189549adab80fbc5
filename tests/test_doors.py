"""Every scoped fetch lives in an app's ``queries.py``: pages and API handlers use its doors.

A model is scoped when its rows belong to a station, directly or through the rows they point
at. A view, page module or API handler that names ``<ScopedModel>.objects`` fetches around the
door (the scope check and the ``denied`` audit event) and fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jingwang"

# Modules that serve pages or API calls. ``queries.py``, ``actions.py`` and ``lib`` are the
# other side of the door.
FRONT = ("views.py", "api.py", "imports.py", "views_*.py")

# Fetches that are not reads of case data, with the reason.
ALLOWED = {
    # Authentication finds a token by its digest, before there is a user to scope by.
    ("jingwang/api.py", "ApiToken"),
}


def scoped_models() -> set[str]:
    """Names of models whose rows belong to a station (through any chain of foreign keys)."""
    station = apps.get_model("territory", "Station")
    scoped: set[type[models.Model]] = {station}
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            if model in scoped:
                continue
            for field in model._meta.concrete_fields:
                target = getattr(field, "related_model", None)
                if field.is_relation and target in scoped:
                    scoped.add(model)
                    changed = True
                    break
    return {model.__name__ for model in scoped}


def front_modules() -> list[Path]:
    found: set[Path] = set()
    for pattern in FRONT:
        found |= {path for path in PACKAGE.rglob(pattern) if "tests" not in path.parts}
    return sorted(found)


def direct_fetches(path: Path, names: set[str], root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"objects", "_default_manager", "_base_manager"}
            and isinstance(node.value, ast.Name)
            and node.value.id in names
        ):
            rel = str(path.relative_to(root))
            if (rel, node.value.id) not in ALLOWED:
                found.append(f"{rel}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_the_scoped_models_are_known() -> None:
    names = scoped_models()
    assert {"Station", "Grid", "Person", "GridAssignment", "DivisionProposal", "BaseUnit"} <= names
    assert "AuditEvent" not in names


def test_no_page_or_api_handler_fetches_a_scoped_model_directly() -> None:
    names = scoped_models()
    modules = front_modules()
    assert len(modules) >= 6
    offenders = [hit for path in modules for hit in direct_fetches(path, names)]
    assert offenders == [], "fetch through the app's queries.py doors instead"


def test_the_check_finds_a_direct_fetch(tmp_path: Path) -> None:
    sample = tmp_path / "views.py"
    sample.write_text("from x import Person\n\ndef v(r):\n    return Person.objects.get(id=1)\n")
    assert direct_fetches(sample, scoped_models(), tmp_path) == ["views.py:4 Person.objects"]
