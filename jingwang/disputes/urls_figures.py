"""The dispute figures (included by disputes/urls.py, namespace ``disputes``)."""

from django.urls import URLPattern, path

from jingwang.disputes import views_figures

patterns: list[URLPattern] = [
    path("figures/", views_figures.figures_view, name="figures"),
    path("figures.xlsx", views_figures.export_figures, name="export_figures"),
]
