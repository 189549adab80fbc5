"""The audit log speaks: every action in the code is registered with a label, the page shows the
label in the reader's language, and ``record()`` refuses an action no app registered."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from jingwang.audit import vocabulary
from jingwang.audit.actions import record, record_many
from jingwang.audit.models import AuditEvent

PACKAGE = Path(__file__).resolve().parents[2]
WRITERS = {"record", "record_many"}


def _strings(node: ast.expr | None) -> list[str] | None:
    """The action codes an expression can be: a literal, or either side of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


# Declarations whose argument is an audit action, and the type whose ``.name`` passes it on:
# an import's name is its audit action (jingwang/core/imports.py).
DECLARERS = {"Importer": "name"}


def _declared_by(
    function: ast.FunctionDef | ast.AsyncFunctionDef, argument: ast.expr | None
) -> str | None:
    """``importer.name`` where ``importer: Importer``: the declarer whose argument it passes."""
    if not isinstance(argument, ast.Attribute) or not isinstance(argument.value, ast.Name):
        return None
    for arg in function.args.args:
        if arg.arg == argument.value.id and arg.annotation is not None:
            kind = ast.unparse(arg.annotation)
            return kind if DECLARERS.get(kind) == argument.attr else None
    return None


def actions_in_code() -> tuple[dict[str, list[str]], list[str]]:
    """Every action passed to record()/record_many() in the package (tests aside): code → where.

    An action passed on from a parameter of the enclosing function (``_close(..., action)``) is
    followed to the calls of that function in the same module; ``importer.name`` of a parameter
    typed ``Importer`` to every ``Importer(name=...)``. Returns the codes and the call sites
    whose action could not be read.
    """
    found: dict[str, list[str]] = {}
    unreadable: list[str] = []
    declared: dict[str, list[str]] = {kind: [] for kind in DECLARERS}
    sites: list[tuple[str, str, int]] = []  # (declarer, where, line): read once all are found
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE.parent)
        functions = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        for call in calls:
            declarer = _name(call)
            if declarer is not None and declarer in DECLARERS:
                codes = _strings(_argument(call, 0, DECLARERS[declarer]))
                declared[declarer] += codes or []
        for function in functions:
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                if _name(call) not in WRITERS:
                    continue
                argument = _argument(call, 1, "action")
                codes = _strings(argument)
                params = [a.arg for a in function.args.args]
                if codes is None and isinstance(argument, ast.Name) and argument.id in params:
                    position = params.index(argument.id)
                    passed = [
                        _strings(_argument(c, position, argument.id))
                        for c in calls
                        if _name(c) == function.name
                    ]
                    if passed and all(p is not None for p in passed):
                        codes = [code for p in passed if p for code in p]
                kind = _declared_by(function, argument)
                if codes is None and kind is not None:
                    sites.append((kind, str(where), call.lineno))
                    continue
                if codes is None:
                    unreadable.append(f"{where}:{call.lineno}")
                    continue
                for code in codes:
                    found.setdefault(code, []).append(f"{where}:{call.lineno}")
    for kind, site, line in sites:
        for code in declared[kind]:
            found.setdefault(code, []).append(f"{site}:{line}")
    return found, unreadable


def test_every_action_in_the_code_is_registered_with_a_label():
    found, unreadable = actions_in_code()
    assert unreadable == [], "pass record() its action as a literal so it can be checked"
    assert len(found) > 30  # the scan sees the code base, not nothing
    assert {"access", "login", "create_person", "apply_grid_plan", "load_demo"} <= set(found)
    missing = {code: where for code, where in found.items() if not vocabulary.is_registered(code)}
    assert missing == {}, "register these in the app's AUDIT_ACTIONS (apps.py)"


def test_every_registered_action_has_a_chinese_label():
    with translation.override("zh-hans"):
        untranslated = [
            code
            for code, label in vocabulary.registered().items()
            if code != "test_event" and str(label) == vocabulary._msgid(label)
        ]
    assert untranslated == []


def test_record_refuses_an_unregistered_action(world):
    with pytest.raises(vocabulary.UnknownAction, match="not_an_action"):
        record(world.users["chief"], "not_an_action", world.block_a)
    with pytest.raises(vocabulary.UnknownAction):
        record_many(world.users["chief"], "not_an_action", [world.block_a])
    assert not AuditEvent.objects.exists()


def test_an_action_belongs_to_one_label():
    vocabulary.register_actions({"test_event": "test event"})  # the same again: fine
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        vocabulary.register_actions({"test_event": "another label"})
    with pytest.raises(ImproperlyConfigured, match="a-z"):
        vocabulary.register_actions({"Bad Code": "label"})


def test_the_audit_page_shows_labels_in_the_readers_language(world):
    record(world.users["chief"], "create_person", world.block_a)
    record(None, "access", outcome="denied", object_type="people.person", object_id="7")
    client = world.client("auditor")
    page = client.get("/audit/").content.decode()
    rows = page.split("<tbody>")[1]
    assert 'title="create_person">新增人员<' in rows
    assert 'title="access">拒绝访问<' in rows
    assert '<option value="create_person">新增人员</option>' in page
    client.cookies["jingwang_language"] = "en"
    page = client.get("/audit/?action=access").content.decode()
    rows = page.split("<tbody>")[1]
    assert 'title="access">Access refused<' in rows and "create_person" not in rows
    assert '<option value="access" selected>Access refused</option>' in page


def test_an_unregistered_code_of_an_old_event_shows_as_itself(world):
    # An event written by an older version of the code, whose action no app registers now.
    event = record(world.users["chief"], "test_event")
    assert event.action_label == "test event"
    event.action = "retired_action"
    assert event.action_label == "retired_action"
