from django.urls import path

from jingwang.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("login/enrol/", views.login_enrol, name="login_enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("language/", views.set_language_view, name="language"),
    path("me/", views.me, name="me"),
    path("password/", views.change_password, name="password"),
    path("me/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("tokens/", views.tokens, name="tokens"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/", views.account, name="account"),
    path("requests/", views.account_requests, name="requests"),
    path("requests/<int:request_id>/", views.decide_request, name="decide_request"),
]
