from django.urls import path  # noqa: F401

app_name = "incidents"

# Recording and working incidents (views.py)
from jingwang.incidents import views  # noqa: E402

urlpatterns: list = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_form, name="new"),
    path("export/", views.export, name="export"),
    path("import/", views.import_view, name="import"),
    path("<int:incident_id>/", views.incident_view, name="detail"),
    path("<int:incident_id>/edit/", views.incident_form, name="edit"),
    path("<int:incident_id>/dispatch/", views.dispatch_view, name="dispatch"),
    path("<int:incident_id>/arrive/", views.arrive_view, name="arrive"),
    path("<int:incident_id>/close/", views.close_view, name="close"),
    path("<int:incident_id>/place/", views.place_view, name="place"),
    path("categories/", views.category_bureaus, name="category_bureaus"),
    path("categories/<int:bureau_id>/", views.categories_view, name="categories"),
    path(
        "categories/<int:bureau_id>/<int:category_id>/",
        views.category_edit,
        name="category_edit",
    ),
]

# Callbacks, surveys and rectifications (views_callbacks.py; the public survey is /s/<token>
# in jingwang/urls.py)
from jingwang.incidents import views_callbacks  # noqa: E402

urlpatterns += [
    path("callbacks/", views_callbacks.callback_list, name="callbacks"),
    path("callbacks/<int:callback_id>/", views_callbacks.callback_work, name="callback"),
    path(
        "callbacks/<int:callback_id>/number/",
        views_callbacks.callback_number,
        name="callback_number",
    ),
    path(
        "callbacks/<int:callback_id>/attempt/",
        views_callbacks.callback_attempt,
        name="callback_attempt",
    ),
    path(
        "callbacks/<int:callback_id>/answer/",
        views_callbacks.callback_answer,
        name="callback_answer",
    ),
    path("rectifications/", views_callbacks.rectification_list, name="rectifications"),
    path(
        "rectifications/<int:rectification_id>/",
        views_callbacks.rectification_detail,
        name="rectification",
    ),
    path(
        "rectifications/<int:rectification_id>/close/",
        views_callbacks.rectification_close,
        name="rectification_close",
    ),
    path("station-settings/", views_callbacks.station_settings, name="station_settings"),
]

# Figures (views_figures.py)
from jingwang.incidents import views_figures  # noqa: E402

urlpatterns += [
    path("figures/", views_figures.figures_view, name="figures"),
    path("figures/grids/<int:grid_id>/", views_figures.figures_grid, name="figures_grid"),
]
