"""Mailbox passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256, from cryptography), keyed by
MAIL_ENCRYPTION_KEY or, when that is unset, a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.MAIL_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(f"mail-password:{settings.SECRET_KEY}".encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """The password, or ValueError if the key changed since it was stored."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "The stored password cannot be decrypted: was MAIL_ENCRYPTION_KEY or SECRET_KEY changed?"
        ) from exc
