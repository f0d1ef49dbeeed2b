"""Signed webhook deliveries from OpenAI (Standard Webhooks), verified on the raw body with the
project's one signing rule (config.standard_webhooks), then read as an event."""

from __future__ import annotations

from django.conf import settings

from config import parsing, standard_webhooks


class WebhookRejected(ValueError):
    pass


def unwrap_webhook(body: bytes, headers) -> tuple[str, str]:
    """Verify a delivery's signature on the raw body; return (event type, object id)."""
    secret = settings.OPENAI_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("OPENAI_WEBHOOK_SECRET is not set")
    try:
        standard_webhooks.verify(secret, headers, body)
        event = parsing.json_loads(body)
    except ValueError as exc:  # InvalidSignature is a ValueError
        raise WebhookRejected(str(exc)) from exc
    if not isinstance(event, dict):
        raise WebhookRejected("the event is not a JSON object")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    return str(event.get("type") or ""), str(data.get("id") or "")
