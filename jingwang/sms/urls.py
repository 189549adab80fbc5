from django.urls import path

from jingwang.sms import views

app_name = "sms"

urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("opt-outs/", views.opt_outs, name="opt_outs"),
    path("messages/<int:message_id>/opt-out/", views.message_opt_out, name="message_opt_out"),
    # Outside the login (accounts.middleware.PUBLIC_PREFIXES): a text's opt-out link, and what
    # the gateway posts back, signed with the shared secret.
    path("u/<str:token>/", views.opt_out_page, name="opt_out_page"),
    path("gateway/reports", views.gateway_reports, name="gateway_reports"),
    path("gateway/replies", views.gateway_replies, name="gateway_replies"),
]
