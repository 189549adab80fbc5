from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "jingwang.demo"
    label = "demo"
