from django.urls import path

from jingwang.territory import imports, views, views_admin, views_units

app_name = "territory"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("map/shapes/", views.map_shapes, name="map_shapes"),
    path("map/points/<slug:name>/", views.map_points, name="map_points"),
    path("grids/", views.grids_view, name="grids"),
    path("grids/<int:grid_id>/", views.grid_view, name="grid"),
    path("import/", imports.import_page, name="import"),
    path("divisions/", views.divisions_view, name="divisions"),
    path("divisions/<int:proposal_id>/", views.division_view, name="division"),
    path("divisions/<int:proposal_id>/move/", views.division_move, name="division_move"),
    path("divisions/<int:proposal_id>/apply/", views.division_apply, name="division_apply"),
    path("divisions/<int:proposal_id>/discard/", views.division_discard, name="division_discard"),
    # Base units and their complexity from records (views_units.py).
    path("units/", views_units.units_view, name="units"),
    path("units/<int:unit_id>/", views_units.unit_view, name="unit"),
    path("divisions/complexity/", views_units.recompute_view, name="recompute_complexity"),
    # The system admin's: bureaus and stations (views_admin.py).
    path("bureaus/", views_admin.bureaus_view, name="bureaus"),
    path("bureaus/<int:bureau_id>/", views_admin.bureau_view, name="bureau"),
    path("bureaus/<int:bureau_id>/stations/", views_admin.new_station, name="new_station"),
    path(
        "bureaus/<int:bureau_id>/stations/<int:station_id>/",
        views_admin.station_view,
        name="station_admin",
    ),
]
