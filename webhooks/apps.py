from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from webhooks.access import on_login
        from webhooks.events import forget_subscriptions
        from webhooks.models import Endpoint

        user_logged_in.connect(on_login, dispatch_uid="webhooks.nav_is_lead")
        # Which event types are listened to is cached (webhooks.events.subscribed): an endpoint's
        # change forgets it.
        post_save.connect(forget_subscriptions, sender=Endpoint, dispatch_uid="webhooks.endpoint_saved")
        post_delete.connect(forget_subscriptions, sender=Endpoint, dispatch_uid="webhooks.endpoint_deleted")
