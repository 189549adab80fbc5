from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "jingwang.people"
    label = "people"
