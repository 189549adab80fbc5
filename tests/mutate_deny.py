"""How many deliberate removals of a permission, scope or audit line in the write paths the
suite catches (issue 6, item 16). Not a test: a measurement of the tests.

    .venv/bin/python -m tests.mutate_deny            # every mutation, prints a table
    .venv/bin/python -m tests.mutate_deny --list     # the mutations only

Each mutation removes or weakens one line; the tests that guard write paths then run
(the scope matrix, the apps' own tests); a mutation is *caught* when they fail. The file is put
back after each run, whatever happens.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    path: str
    old: str
    new: str
    what: str
    # More replacements in the same file, for a check made twice on one path (both go).
    also: tuple[tuple[str, str], ...] = ()

    def apply(self, text: str) -> str:
        for old, new in ((self.old, self.new), *self.also):
            if text.count(old) != 1:
                sys.exit(f"{self.path}: the text to mutate is not there once ({self.what})")
            text = text.replace(old, new)
        return text


MUTATIONS = [
    # Permission checks
    Mutation(
        "jingwang/people/views.py",
        "    require(request.user, Perm.PEOPLE_MANAGE)\n    person = access_person",
        "    person = access_person",
        "people: the form page no longer requires people.manage",
    ),
    Mutation(
        "jingwang/people/queries.py",
        "        write=write,\n        write_perm=Perm.PEOPLE_MANAGE,\n    )\n\n\ndef assignments_visible_to",
        "        write=False,\n    )\n\n\ndef assignments_visible_to",
        "people: access_person(write=True) no longer checks people.manage",
    ),
    Mutation(
        "jingwang/people/queries.py",
        "        write=True,\n        write_perm=Perm.PEOPLE_MANAGE,\n    )\n",
        "        write=False,\n    )\n",
        "people: resolving a reassignment no longer needs people.manage",
    ),
    Mutation(
        "jingwang/people/api.py",
        "    require(request.user, Perm.PEOPLE_MANAGE)\n    return idempotent",
        "    return idempotent",
        "API: creating a person no longer requires people.manage (either check)",
        also=(("payload.station, perm=Perm.PEOPLE_MANAGE)", "payload.station)"),),
    ),
    Mutation(
        "jingwang/territory/queries.py",
        "        write=write,\n        write_perm=Perm.TERRITORY_DIVIDE,",
        "        write=False,",
        "division: proposals no longer need territory.divide (to read or write)",
        also=(
            (
                "DivisionProposal.objects.all(), perm=Perm.TERRITORY_DIVIDE)",
                "DivisionProposal.objects.all(), perm=Perm.TERRITORY_VIEW)",
            ),
        ),
    ),
    Mutation(
        "jingwang/core/personal.py",
        "    if any(not has_perm(actor, fields[name].unmask_perm) for name in names):\n"
        '        deny(actor, label, obj.pk, mode="unmask", fields=names)\n',
        "",
        "unmask: the permission check is gone",
    ),
    # Scope
    Mutation(
        "jingwang/core/personal.py",
        "    if not visible_to(actor).filter(pk=obj.pk).exists():\n"
        '        deny(actor, label, obj.pk, mode="unmask", fields=names)\n',
        "",
        "unmask: the scope check is gone",
    ),
    Mutation(
        "jingwang/accounts/scope.py",
        '        scope = Q(**{f"{station}__in": station_ids(user)})',
        "        scope = Q()",
        "scope: the station filter of every door is gone",
    ),
    Mutation(
        "jingwang/accounts/scope.py",
        '                scope &= Q(**{f"{grid}__in": limited})',
        "                pass",
        "scope: the grid filter (by lookup) is gone",
    ),
    Mutation(
        "jingwang/accounts/scope.py",
        "                scope &= grid(limited)",
        "                pass",
        "scope: the grid filter (by function) is gone",
    ),
    Mutation(
        "jingwang/territory/queries.py",
        "    found = stations.filter(code=code).first() if code else None",
        "    found = Station.objects.filter(code=code).first() if code else None",
        "territory: access_station looks beyond the user's stations",
    ),
    Mutation(
        "jingwang/people/queries.py",
        '        .filter(person=person, ended_at__isnull=True)\n        .select_related("grid"),',
        '        .filter(ended_at__isnull=True)\n        .select_related("grid"),',
        "people: ending an assignment no longer checks it belongs to the person",
    ),
    # Audit of refusals and of writes
    Mutation(
        "jingwang/accounts/scope.py",
        "    if pending is not None:\n        pending.append(refusal)\n    else:\n        write_refusals([refusal])\n",
        "",
        "refusals are no longer audited",
    ),
    Mutation(
        "jingwang/people/actions.py",
        '            record(actor, "create_person", person, detail={"kind": kind})\n',
        "",
        "creating a person is no longer audited",
    ),
    Mutation(
        "jingwang/people/actions.py",
        '                record(actor, "update_person", current, detail={"fields": sorted(shown)})\n',
        "",
        "editing a person is no longer audited",
    ),
    Mutation(
        "jingwang/core/personal.py",
        '        record(actor, "unmask", obj, detail={"fields": names})\n',
        "        pass\n",
        "unmasking is no longer audited",
    ),
    # Stale edits and uniqueness
    Mutation(
        "jingwang/people/actions.py",
        "            if current.version != version:\n                raise StaleEdit()\n",
        "",
        "a stale edit is no longer refused",
    ),
    Mutation(
        "jingwang/people/actions.py",
        "            if id_number and _taken(station.pk, id_number):\n                raise DuplicatePerson()\n",
        "",
        "one ID number per station: neither the check nor the constraint's message (the constraint stays)",
        also=(
            (
                "        if id_number and _taken(station.pk, id_number):\n            raise DuplicatePerson() from exc\n",
                "",
            ),
        ),
    ),
]

TESTS = [
    "tests/test_scope_matrix.py",
    "jingwang/people",
    "jingwang/core/tests/test_personal.py",
    "jingwang/territory/tests/test_division.py",
    "jingwang/audit",
]


def run_tests() -> str | None:
    """None when the tests pass, else the first failing test."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-n", "2", "-p", "no:cacheprovider", *TESTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return None
    failed = [
        line
        for line in done.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR ")) and "::" in line
    ]
    return failed[0] if failed else done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--only", type=int, action="append", help="run mutation N (from 1)")
    args = parser.parse_args()
    if args.list:
        for mutation in MUTATIONS:
            print(f"{mutation.path}: {mutation.what}")
        return
    caught = 0
    chosen = [MUTATIONS[n - 1] for n in args.only] if args.only else MUTATIONS
    for mutation in chosen:
        path = ROOT / mutation.path
        original = path.read_text(encoding="utf-8")
        mutated = mutation.apply(original)
        started = time.perf_counter()
        try:
            path.write_text(mutated, encoding="utf-8")
            failure = run_tests()
        finally:
            path.write_text(original, encoding="utf-8")
        caught += failure is not None
        verdict = "survived" if failure is None else "caught"
        print(f"{verdict:8}  {time.perf_counter() - started:5.0f} s  {mutation.what}", flush=True)
        if failure:
            print(f"          by {failure}", flush=True)
    print(f"{caught} of {len(chosen)} removals caught")


if __name__ == "__main__":
    main()
