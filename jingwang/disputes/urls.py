"""The dispute pages, under /disputes/ (namespace ``disputes``)."""

from django.urls import path

from jingwang.disputes import urls_bodies, urls_figures, views, views_steps

app_name = "disputes"

# The list, registering, a dispute's page and its edit (views.py)
urlpatterns: list = [
    path("", views.dispute_list, name="list"),
    path("export.xlsx", views.export, name="export"),
    path("new/", views.dispute_new, name="new"),
    path(
        "new/from-incident/<int:incident_id>/",
        views.dispute_from_incident,
        name="new_from_incident",
    ),
    path("<int:dispute_id>/", views.dispute_view, name="detail"),
    path("<int:dispute_id>/edit/", views.dispute_edit, name="edit"),
    path("parties/<int:party_id>/", views.party_view, name="party"),
    path("repeat/", views.repeat_view, name="repeat"),
    path("agreements/<int:agreement_id>/pdf/", views.agreement_pdf, name="agreement_pdf"),
]

# The steps on a dispute's page, each a POST (views_steps.py)
urlpatterns += [
    path("<int:dispute_id>/override/", views_steps.override_view, name="override"),
    path("<int:dispute_id>/tier/", views_steps.tier_view, name="tier"),
    path("<int:dispute_id>/call/", views_steps.call_view, name="call"),
    path("<int:dispute_id>/lead/", views_steps.lead_view, name="lead"),
    path("<int:dispute_id>/track/", views_steps.track_view, name="track"),
    path("<int:dispute_id>/extend/", views_steps.extend_view, name="extend"),
    path("<int:dispute_id>/session/", views_steps.session_view, name="session"),
    path("<int:dispute_id>/agreement/", views_steps.agreement_view, name="agreement"),
    path("agreements/<int:agreement_id>/followup/", views_steps.followup_view, name="followup"),
    path("<int:dispute_id>/refer/", views_steps.refer_view, name="refer"),
    path("<int:dispute_id>/withdraw/", views_steps.withdraw_view, name="withdraw"),
]

# The rosters of the mediation bodies (urls_bodies.py) and the figures (urls_figures.py)
urlpatterns += urls_bodies.patterns
urlpatterns += urls_figures.patterns
