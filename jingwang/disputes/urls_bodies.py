"""The rosters of the mediation bodies (views_bodies.py); disputes/urls.py includes ``patterns``."""

from django.urls import path

from jingwang.disputes import views_bodies

patterns = [
    path("bodies/", views_bodies.bodies_view, name="bodies"),
    path("bodies/<int:body_id>/", views_bodies.body_view, name="body"),
    path("bodies/<int:body_id>/add/", views_bodies.body_add, name="body_add"),
    path(
        "bodies/<int:body_id>/members/<int:member_id>/end/",
        views_bodies.member_end,
        name="member_end",
    ),
]
