"""The peer of ``bench/intake.py``: a plain Django JSON view doing the same insert as
``POST /api/v1/people/`` without the API stack (no token, no idempotency row, no scope
query, no audit event), behind the same middleware and server. Never part of the site: the
benchmark serves it as ``intake_peer:application`` with ``bench/`` on the path.
"""

from __future__ import annotations

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingwang.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from jingwang.people.models import Person  # noqa: E402
from jingwang.territory.models import Station  # noqa: E402


@csrf_exempt
def create_person(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    station = Station.objects.get(code=data["station"])
    person = Person.objects.create(station=station, name=data["name"], kind=data["kind"])
    return JsonResponse(
        {"id": person.id, "station_id": person.station_id, "name": person.name}, status=201
    )


# The site's addresses (``/healthz``), and the plain view under ``/api/`` (no login redirect).
urlpatterns = [path("api/bench-peer/people/", create_person), path("", include("jingwang.urls"))]
settings.ROOT_URLCONF = __name__
application = WSGIHandler()
