from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jingwang.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.conf import settings

        from jingwang.lib import pii

        pii.configure(settings.PII_KEY)
