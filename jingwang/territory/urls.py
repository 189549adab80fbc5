from django.urls import path

from jingwang.territory import imports, views

app_name = "territory"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("grids/", views.grids_view, name="grids"),
    path("grids/<int:grid_id>/", views.grid_view, name="grid"),
    path("import/", imports.import_page, name="import"),
    path("divisions/", views.divisions_view, name="divisions"),
    path("divisions/<int:proposal_id>/", views.division_view, name="division"),
    path("divisions/<int:proposal_id>/move/", views.division_move, name="division_move"),
    path("divisions/<int:proposal_id>/apply/", views.division_apply, name="division_apply"),
    path("divisions/<int:proposal_id>/discard/", views.division_discard, name="division_discard"),
]
