from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared pieces every app plugs into (docs/architecture.md, "Shared pieces")."""

    name = "jingwang.core"
    label = "core"
