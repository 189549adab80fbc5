"""The site as bench/map.py serves it: the app, plus the territory map as it was before issue 7
(every grid of the level inline in the page) at /bench/old-map/, the peer measured in the same
run. DJANGO_SETTINGS_MODULE=bench.map_site; its URLconf is bench/map_urls.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from jingwang.settings import *  # noqa: F403

ROOT_URLCONF = "bench.map_urls"

OLD_TEMPLATE = """{% extends "base.html" %}{% load i18n static %}
{% block title %}{% translate "Map" %}{% endblock %}
{% block head %}<link rel="stylesheet" href="{% static 'leaflet/leaflet.css' %}">{% endblock %}
{% block content %}
<h1>{% translate "Map" %}{% if station %} · {{ station.name }}{% endif %}</h1>
{% include "territory/_station_picker.html" %}
<nav class="tabs" aria-label="{% translate 'Grid level' %}">
  {% for value, label in levels %}<a href="?{% if station %}station={{ station.code }}&amp;{% endif %}level={{ value }}"{% if value == level %} aria-current="page"{% endif %} data-level="{{ value }}">{{ label }}</a>{% endfor %}
</nav>
<div id="map" class="map"></div>
{{ map_data|json_script:"map-data" }}
{% endblock %}
{% block scripts %}<script src="{% static 'leaflet/leaflet.js' %}"></script><script src="{% static 'jingwang/map.js' %}"></script>{% endblock %}
"""


def old_map_view(request: HttpRequest) -> HttpResponse:
    """The map view before issue 7, as it was (git show d1c3b4e:jingwang/territory/views.py)."""
    from django.template import engines

    from jingwang.accounts.roles import Perm
    from jingwang.accounts.scope import require
    from jingwang.core.params import choice_param
    from jingwang.territory.maps import feature, grid_feature, map_data
    from jingwang.territory.models import Grid
    from jingwang.territory.queries import communities_visible_to, grids_visible_to
    from jingwang.territory.views import LEVELS, chosen_station

    require(request.user, Perm.TERRITORY_VIEW)
    station, stations = chosen_station(request)
    level = choice_param(request.GET, "level", LEVELS, "block")
    grids = (
        grids_visible_to(request.user).filter(station=station, level=level).defer("geometry_wkt")
    )
    communities = communities_visible_to(request.user).filter(station=station).defer("geometry_wkt")
    data = map_data(
        grids=[grid_feature(g) for g in grids],
        communities=[feature(c, code=c.code, name=c.name, kind=c.kind) for c in communities],
    )
    context: dict[str, Any] = {
        "station": station,
        "stations": stations,
        "level": level,
        "levels": Grid.Level.choices,
        "map_data": data,
    }
    template = engines["django"].from_string(OLD_TEMPLATE)
    return HttpResponse(template.render(context, request))
