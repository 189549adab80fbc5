from django.urls import path

from jingwang.audit import views

app_name = "audit"
urlpatterns = [path("", views.events, name="list")]
