"""Pages of the shared pieces: the configuration (views_config.py)."""

from django.urls import path

from jingwang.core import views_calendar, views_config, views_lists

app_name = "config"
urlpatterns = [
    path("", views_config.sections_view, name="sections"),
    path("calendar/", views_calendar.calendar_view, name="calendar"),
    path("calendar/<int:year>/", views_calendar.year_view, name="calendar_year"),
    path("lists/", views_lists.lists_view, name="lists"),
    path("lists/<slug:name>/<int:bureau_id>/", views_lists.list_view, name="list"),
    path(
        "lists/<slug:name>/<int:bureau_id>/<int:entry_id>/",
        views_lists.entry_view,
        name="list_entry",
    ),
    path("<int:bureau_id>/<slug:key>/", views_config.edit_view, name="edit"),
]
