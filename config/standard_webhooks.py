"""The Standard Webhooks signature scheme (standardwebhooks.com), the one rule for both directions:
verifying OpenAI's deliveries to us (assistants.webhooks) and signing ours to the endpoints leads
register (webhooks.delivery).

A secret is ``whsec_`` + base64 of the key bytes. A delivery carries ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: space-separated ``v1,<base64>``
entries, each an HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` under the decoded key. A receiver
accepts when one entry matches in constant time and the timestamp is within the tolerance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
TOLERANCE = 300  # seconds either way


class InvalidSignature(ValueError):
    pass


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("the secret is not whsec_ followed by base64") from exc


def signature(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def sign(secret: str, webhook_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The three headers of a delivery of `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, webhook_id, timestamp, body),
    }


def verify(secret: str, headers, body: bytes, *, tolerance: int = TOLERANCE, now: float | None = None) -> None:
    """Raise InvalidSignature unless `body` with `headers` (any case-insensitive mapping, or a dict
    with lower-case keys) was signed with `secret` within the tolerance."""
    get = headers.get
    webhook_id = get("webhook-id") or get("Webhook-Id")
    timestamp = get("webhook-timestamp") or get("Webhook-Timestamp")
    signatures = get("webhook-signature") or get("Webhook-Signature")
    if not (webhook_id and timestamp and signatures):
        raise InvalidSignature("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        seconds = int(timestamp)
    except ValueError as exc:
        raise InvalidSignature("webhook-timestamp is not Unix seconds") from exc
    now = time.time() if now is None else now
    if abs(now - seconds) > tolerance:
        raise InvalidSignature("webhook-timestamp is outside the tolerance")
    expected = signature(secret, webhook_id, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures.split() if s.startswith("v1,")):
        raise InvalidSignature("no signature matches")
