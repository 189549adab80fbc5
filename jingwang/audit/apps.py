from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "jingwang.audit"
    label = "audit"
