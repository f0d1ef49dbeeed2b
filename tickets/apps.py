from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Help desk"

    def ready(self) -> None:
        from assistants import policy
        from config import checks  # noqa: F401 - registers the deployment checks
        from tickets import accounts, assistant_hooks

        policy.register(assistant_hooks.policy_for_thread, hand_off=assistant_hooks.hand_off)
        accounts.connect()
