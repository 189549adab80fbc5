#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    # manage.py is the developers' tool (makemigrations, makemessages, shell). It reads the keys
    # exactly as `jingwang` does: from the environment, else from the files `make demo` generated
    # under var/; without either it stops, instead of writing personal data under development
    # keys that `make demo` could not read. Set JINGWANG_INSECURE_DEV_KEYS=1 for commands that
    # need no real keys (makemigrations on a fresh checkout).
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
