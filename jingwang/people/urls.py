from django.urls import path

from jingwang.people import views

app_name = "people"
urlpatterns = [
    path("", views.people_list, name="list"),
    path("new/", views.person_form, name="new"),
    path("coverage/", views.coverage_view, name="coverage"),
    path(
        "reassignments/<int:item_id>/resolve/",
        views.resolve_reassignment,
        name="resolve_reassignment",
    ),
    path("<int:person_id>/", views.person_view, name="person"),
    path("<int:person_id>/edit/", views.person_form, name="edit"),
    path("<int:person_id>/unmask/", views.unmask, name="unmask"),
    path("<int:person_id>/account/", views.link_account, name="link_account"),
    path("<int:person_id>/assignments/", views.add_assignment, name="add_assignment"),
    path(
        "<int:person_id>/assignments/<int:assignment_id>/end/",
        views.end_assignment,
        name="end_assignment",
    ),
    path("<int:person_id>/posts/", views.add_post, name="add_post"),
    path("<int:person_id>/posts/<int:post_id>/end/", views.end_post, name="end_post"),
]
