"""Both languages are complete: every message in the code has a Chinese translation.

The message ids are English, so English is complete by construction; this extracts every
message of the package afresh (Django's makemessages, which needs GNU gettext) and fails on any
that the Chinese catalogue lacks, leaves empty or marks fuzzy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

from tests.tools import require_tool

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "jingwang" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_the_chinese_catalogue_is_complete(tmp_path):
    require_tool("xgettext")
    copy = tmp_path / "jingwang"
    shutil.copytree(
        ROOT / "jingwang", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "tests")
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            no_location=True,
            verbosity=0,
            ignore_patterns=["jingwang/static/*"],
        )
    finally:
        os.chdir(cwd)
    extracted = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in extracted if not entry.obsolete and not entry.translated()]
    assert len(extracted) > 100
    assert missing == [], f"{len(missing)} messages lack a Chinese translation: {missing[:20]}"


def test_the_committed_catalogue_has_no_fuzzy_or_empty_entries():
    catalogue = polib.pofile(str(CATALOGUE))
    assert catalogue.fuzzy_entries() == []
    assert [e.msgid for e in catalogue.untranslated_entries()] == []


@pytest.mark.parametrize("placeholder", ["%(", "{"])
def test_translations_keep_their_placeholders(placeholder):
    import re

    pattern = r"%\(\w+\)[sd]" if placeholder == "%(" else r"\{\{ ?\w+ ?\}\}"
    for entry in polib.pofile(str(CATALOGUE)):
        for source, target in [
            (entry.msgid, entry.msgstr),
            *[(entry.msgid_plural, text) for text in entry.msgstr_plural.values()],
        ]:
            if target:
                assert sorted(re.findall(pattern, source)) == sorted(re.findall(pattern, target)), (
                    entry.msgid
                )
