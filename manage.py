#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    # manage.py is the developers' tool (makemigrations, makemessages, shell); production runs
    # `jingwang` and the WSGI app, which never fall back to development keys.
    os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
