from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.models import ApiToken
from api.tokens import token_create


class Command(BaseCommand):
    help = "Create a personal API token for an account (staff or customer) and print its secret once."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ)
        parser.add_argument("--name", default="")
        parser.add_argument("--days", type=int, default=0, help="Expire after this many days (0: never).")

    def handle(self, *args, email, scope, name, days, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).order_by("pk").first()
        if user is None:
            raise CommandError(f"No account with the address {email}.")
        expires_at = timezone.now() + timedelta(days=days) if days > 0 else None
        try:
            _token, secret = token_create(
                user=user, scope=scope, name=name or "created with manage.py", expires_at=expires_at
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(secret)
