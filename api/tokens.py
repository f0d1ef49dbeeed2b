"""Personal API tokens: created (the secret shown once), looked up by their hash, revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from api.models import ApiToken
from config import parsing, prepared

SECRET_PREFIX = "hd_"
MAX_SECRET_LENGTH = 100  # ours are 46 characters
# last_used_at is written at most this often per token, so reading costs no write per request.
LAST_USED_EVERY = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, scope: str, name: str = "", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token and its secret (256 random bits). Only the secret's sha256 is stored."""
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": f"Unknown scope {scope!r}: read or write."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if not user.is_active:
        raise ValidationError("This account is not active.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=parsing.one_line(name)[:80],
        scope=scope,
        prefix=secret[: len(SECRET_PREFIX) + 6],
        key_hash=_digest(secret),
        expires_at=expires_at,
    )
    return token, secret


def token_revoke(*, token: ApiToken, by) -> bool:
    """Revoke a token (its owner, or anyone allowed to manage it). Idempotent."""
    return bool(ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))


_TOKEN_FIELDS = tuple(f.attname for f in ApiToken._meta.concrete_fields)
_USER_FIELDS = tuple(f.attname for f in get_user_model()._meta.concrete_fields)


def _live_token(*, key_hash: str):
    return (
        ApiToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
        .values(*_TOKEN_FIELDS, *(f"user__{name}" for name in _USER_FIELDS))[:1]
    )


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret (not revoked, not expired by the database's clock, its user
    active), with its user, or None. One query, compiled once (config.prepared: every API request
    asks it); last_used_at is refreshed at most once a minute."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX) or len(secret) > MAX_SECRET_LENGTH:
        return None
    found = prepared.rows("api-token", _live_token, key_hash=_digest(secret))
    if not found:
        return None
    row = found[0]
    token = ApiToken.from_db(DEFAULT_DB_ALIAS, _TOKEN_FIELDS, [row[name] for name in _TOKEN_FIELDS])
    User = get_user_model()
    token.user = User.from_db(DEFAULT_DB_ALIAS, _USER_FIELDS, [row[f"user__{name}"] for name in _USER_FIELDS])
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_of(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at")
