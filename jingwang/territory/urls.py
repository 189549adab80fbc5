from django.urls import path

from jingwang.territory import imports, views

app_name = "territory"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("grids/", views.grids_view, name="grids"),
    path("grids/<int:grid_id>/", views.grid_view, name="grid"),
    path("import/", imports.import_page, name="import"),
]
