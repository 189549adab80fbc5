"""Pages of the shared pieces: the configuration (views_config.py)."""

from django.urls import path

from jingwang.core import views_calendar, views_config

app_name = "config"
urlpatterns = [
    path("", views_config.sections_view, name="sections"),
    path("calendar/", views_calendar.calendar_view, name="calendar"),
    path("calendar/<int:year>/", views_calendar.year_view, name="calendar_year"),
    path("<int:bureau_id>/<slug:key>/", views_config.edit_view, name="edit"),
]
