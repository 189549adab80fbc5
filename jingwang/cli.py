"""The ``jingwang`` command: the Django management commands under friendlier names.

jingwang serve [--host 127.0.0.1] [--port 8000]   serve the site (waitress)
jingwang demo                                     load the demo jurisdiction (idempotent)
jingwang import-territory FILE --station CODE --kind community|base-unit [--crs gcj02]
jingwang audit verify                             check the audit chain
jingwang <any Django command>                     migrate, createsuperuser, ...
"""

from __future__ import annotations

import argparse
import os
import sys

ALIASES = {"import-territory": "import_territory", "compile-messages": "compile_messages"}


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="jingwang serve")
    parser.add_argument("--host", default=os.environ.get("JINGWANG_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("JINGWANG_PORT", "8000")))
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.core.management import call_command
    from waitress import serve as waitress_serve

    call_command("collectstatic", interactive=False, verbosity=0)
    from jingwang.wsgi import application  # after collectstatic: whitenoise indexes the files now

    print(f"jingwang is serving on http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    waitress_serve(
        application, host=args.host, port=args.port, threads=args.threads, ident="jingwang"
    )


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    if argv[0] == "serve":
        serve(argv[1:])
        return
    from django.core.management import execute_from_command_line

    argv[0] = ALIASES.get(argv[0], argv[0])
    execute_from_command_line(["jingwang", *argv])


if __name__ == "__main__":
    main()
