"""bench/map.py's URLconf: the app, and the map page as it was before issue 7 (the peer)."""

from django.urls import include, path

from bench.map_site import old_map_view

urlpatterns = [path("bench/old-map/", old_map_view), path("", include("jingwang.urls"))]
