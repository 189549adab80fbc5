"""The ``jingwang`` command: the Django management commands under friendlier names.

jingwang serve [--host 127.0.0.1] [--port 8000]   serve the site (waitress)
jingwang demo                                     load the demo jurisdiction (idempotent)
jingwang import-territory FILE --station CODE --kind community|base-unit [--crs gcj02] [--sheet NAME]
                                                  (FILE: .geojson, .json, .csv or .xlsx)
jingwang import-incidents FILE --station CODE [--crs gcj02] [--sheet NAME]
                                                  the 110 system's daily export (.csv, .xlsx)
jingwang divide --station CODE [--redivide] [--tolerance M] [--seconds S] [--policy FILE] [--seed N]
                                                  propose a grid division (docs/division.md)
jingwang complexity [--station CODE]              recompute base units' complexity from records
jingwang audit verify | seal                      check the audit chain | seal a checkpoint
jingwang jobs                                     run the job consumer alone (beside serve --no-jobs)
jingwang otp-code USERNAME                        the current second-factor code of a demo account
jingwang create-account USERNAME --role ROLE [--bureau CODE | --station CODE]
                                                  a new installation's first accounts
jingwang <any Django command>                     migrate, createsuperuser, ...
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

ALIASES = {
    "import-territory": "import_territory",
    "import-incidents": "import_incidents",
    "compile-messages": "compile_messages",
    "otp-code": "otp_code",
    "create-account": "create_account",
}


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="jingwang serve")
    parser.add_argument("--host", default=os.environ.get("JINGWANG_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("JINGWANG_PORT", "8000")))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--no-jobs", action="store_true", help="run no job consumer here (`jingwang jobs` does)"
    )
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.core.management import call_command
    from waitress import serve as waitress_serve

    from jingwang.core.personal import key_problem

    problem = key_problem()
    if problem:  # every page with personal data would fail: say why before serving anything
        sys.exit(problem)
    call_command("collectstatic", interactive=False, verbosity=0)
    from jingwang.wsgi import application  # after collectstatic: whitenoise indexes the files now

    consumer = None if args.no_jobs else _start_jobs()
    print(f"jingwang is serving on http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    try:
        waitress_serve(
            application,
            host=args.host,
            port=args.port,
            threads=args.threads,
            ident="jingwang",
            **_proxy_options(),
        )
    except KeyboardInterrupt:  # Ctrl+C before waitress listens (it handles it afterwards)
        pass
    finally:  # the jobs stop with the server
        if consumer is not None:
            consumer.stop(graceful=True)


def _proxy_options() -> dict[str, Any]:
    """Behind a proxy (nginx), the client's address is in X-Forwarded-For: waitress takes it
    from the proxy named in JINGWANG_TRUSTED_PROXY only, so the audit log records who it was."""
    proxy = os.environ.get("JINGWANG_TRUSTED_PROXY", "").strip()
    if not proxy:
        return {}
    return {
        "trusted_proxy": proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for"},
        "clear_untrusted_proxy_headers": True,
    }


def _start_jobs() -> Any:
    """The job consumer as threads of this process (docs/architecture.md, "Jobs")."""
    from django.conf import settings

    if settings.HUEY["immediate"]:
        return None  # tasks run where they are called: there is no queue to consume
    from jingwang.core.jobs import start_consumer

    consumer = start_consumer()
    where = settings.HUEY.get("filename") or "Redis"
    print(f"jobs: huey consumer with {consumer.workers} threads on {where}", flush=True)
    return consumer


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
