"""Customer sign-up that never tells anyone whether an address already has an account.

Both outcomes look the same to the person signing up ("check your email"): a new address gets
an inactive account and a link that activates it and logs in (Django's token generator, the one
password reset uses: the link stops working once used, since logging in changes last_login); an
address that has an account gets an email saying so, with the log-in and password-reset links.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from config import parsing
from tickets import services

User = get_user_model()
logger = logging.getLogger(__name__)


def _existing(email: str):
    return User.objects.filter(username__iexact=email).first() or User.objects.filter(email__iexact=email).first()


def signup_request(*, email: str, password: str, first_name: str = "") -> None:
    """Start a sign-up for `email` (already normalised); the outcome is only ever told by email."""
    user = _existing(email)
    if user is not None:
        context = {"user": user, "site_url": settings.SITE_URL, "login": reverse("login")}
        context["reset"] = reverse("password_reset")
        _mail(email, "registration/signup_exists", context)
        return
    with transaction.atomic():
        user = services.customer_create(email=email, password=password, first_name=first_name)
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
    link = reverse("portal:signup_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)), activation_token(user)])
    _mail(email, "registration/signup_confirm", {"user": user, "site_url": settings.SITE_URL, "link": link})


def activation_token(user) -> str:
    return default_token_generator.make_token(user)


def signup_confirm(*, uidb64: str, token: str):
    """The account the link activates, now active; None for a link that is wrong or used."""
    try:
        pk = parsing.object_id(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=False, last_login__isnull=True).first() if pk else None
    if user is None or not default_token_generator.check_token(user, token):
        return None
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True
    return user


def _mail(to: str, template: str, context: dict) -> None:
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    body = render_to_string(f"{template}_email.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception as exc:  # noqa: BLE001 - the page says the same either way; the log says why
        logger.error("could not send the sign-up email %r to %s: %s", subject, to, exc, exc_info=True)
