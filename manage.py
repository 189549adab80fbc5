#!/usr/bin/env python
import os
import sys

# Commands that write code or catalogues, never data: they run on a fresh checkout without keys.
KEYLESS = {"makemigrations", "makemessages"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    # manage.py is the developers' tool (makemigrations, makemessages, shell). It reads the keys
    # exactly as `jingwang` does: from the environment, else from the files `make demo` generated
    # under var/; without either, any command that could read or write data stops, instead of
    # writing personal data under development keys that `make demo` could not read.
    if len(sys.argv) > 1 and sys.argv[1] in KEYLESS:
        os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
