from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from webhooks.access import on_login

        user_logged_in.connect(on_login, dispatch_uid="webhooks.nav_is_lead")
