"""Signed, single-use, expiring links that sign an email customer into their ticket.

The URL carries signing.dumps((link id, nonce)) with a salt of its own; the SignInLink row makes
it single-use (a conditional UPDATE of used_at) and the signature's timestamp makes it expire.
Opening the link shows a button; only the POST signs in, so a mail scanner that follows links
does not use them up. Staff accounts are never signed in by a link.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from mail.models import SignInLink

SALT = "mail.sign-in-link"


def max_age() -> timedelta:
    return timedelta(days=settings.MAIL_LINK_MAX_AGE_DAYS)


def sign_in_url(*, user, ticket) -> str:
    link = SignInLink.objects.create(user=user, ticket=ticket, nonce=secrets.token_urlsafe(32))
    token = signing.dumps([link.pk, link.nonce], salt=SALT, compress=True)
    return settings.SITE_URL.rstrip("/") + reverse("mail:sign_in", args=[token])


class LinkError(Exception):
    pass


def _find(token: str) -> SignInLink:
    try:
        link_id, nonce = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired as exc:
        raise LinkError("This link has expired. Reply to our last email and we will send you a new one.") from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkError("This link is not valid.") from exc
    link = SignInLink.objects.select_related("user", "ticket").filter(pk=link_id).first()
    if link is None or not secrets.compare_digest(link.nonce, str(nonce)):
        raise LinkError("This link is not valid.")
    if link.user.is_staff or not link.user.is_active:
        raise LinkError("This link cannot be used to sign in.")
    return link


def link_check(*, token: str) -> SignInLink:
    link = _find(token)
    if link.used_at is not None:
        raise LinkError("This link was already used. Reply to our last email and we will send you a new one.")
    return link


def link_use(*, token: str) -> SignInLink:
    """Use the link up (once); returns it with its user and ticket, or raises LinkError."""
    link = _find(token)
    if SignInLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now()) != 1:
        raise LinkError("This link was already used. Reply to our last email and we will send you a new one.")
    return link
