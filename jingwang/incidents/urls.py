from django.urls import path  # noqa: F401

app_name = "incidents"

# Recording and working incidents (views.py)
urlpatterns: list = []

# Callbacks, surveys and rectifications (views_callbacks.py)
urlpatterns += []

# Figures (views_figures.py)
urlpatterns += []
