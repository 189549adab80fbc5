"""A scratch database for a benchmark: a fresh PostgreSQL database of the given URL (dropped
and created), or a SQLite file in a new temporary folder; Django set up on it, migrated.

    from scratch import django_on
    folder = django_on(args.database, "replace")   # before importing any model
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def django_on(database: str, name: str, **environment: str) -> Path:
    """Point Django at a fresh database (``database``: a PostgreSQL URL, or empty for a SQLite
    file), with the development keys and ``environment``; set it up and migrate. The scratch
    folder (the SQLite file, the keys' and jobs' files) is returned."""
    folder = Path(tempfile.mkdtemp(prefix=f"jw-{name}-"))
    if database:
        db = database.rpartition("/")[2]
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", db])
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
    os.environ["DATABASE_URL"] = database or f"sqlite:///{folder / f'{name}.sqlite3'}"
    os.environ["JINGWANG_VAR_DIR"] = str(folder)
    os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return folder
