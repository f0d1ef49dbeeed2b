"""Signed webhook deliveries from OpenAI, verified on the raw body by the SDK."""

from __future__ import annotations

import openai
from django.conf import settings

from assistants.providers.openai.client import get_client


class WebhookRejected(ValueError):
    pass


def unwrap_webhook(body: bytes, headers) -> tuple[str, str]:
    """Verify a delivery's signature on the raw body; return (event type, object id)."""
    secret = settings.OPENAI_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("OPENAI_WEBHOOK_SECRET is not set")
    try:
        event = get_client().webhooks.unwrap(body, dict(headers), secret=secret)
    except (openai.InvalidWebhookSignatureError, ValueError) as exc:
        raise WebhookRejected(str(exc)) from exc
    data = getattr(event, "data", None)
    return str(getattr(event, "type", "")), str(getattr(data, "id", "") or "")
