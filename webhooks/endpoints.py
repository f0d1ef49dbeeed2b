"""Registering endpoints (leads, in the workspace or the admin) and reading their delivery log."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from config import standard_webhooks
from webhooks.events import forget_subscriptions
from webhooks.models import Delivery, Endpoint, EventType
from webhooks.network import check_url

LOG_SIZE = 50


def clean_events(events) -> list[str]:
    chosen = [e for e in EventType.values if e in set(events or ())]
    unknown = set(events or ()) - set(EventType.values)
    if unknown:
        raise ValidationError({"events": f"Unknown event types: {', '.join(sorted(unknown))}."})
    if not chosen:
        raise ValidationError({"events": "Choose at least one event."})
    return chosen


def endpoint_create(
    *, url: str, events, description: str = "", include_internal_notes: bool = False, by=None
) -> tuple[Endpoint, str]:
    """A new endpoint and its secret (whsec_...), which is shown once and stored encrypted."""
    from mail import crypto

    url = (url or "").strip()
    check_url(url)
    secret = standard_webhooks.new_secret()
    endpoint = Endpoint.objects.create(
        url=url,
        events=clean_events(events),
        description=(description or "").strip()[:200],
        include_internal_notes=bool(include_internal_notes),
        secret_encrypted=crypto.encrypt(secret),
        created_by=by,
    )
    return endpoint, secret


def endpoint_set_active(*, endpoint: Endpoint, active: bool) -> None:
    """On: its failures are forgotten. Off: nothing more is sent until it is on again."""
    fields = {"is_active": active}
    if active:
        fields.update(consecutive_failures=0, disabled_at=None, disabled_reason="")
    Endpoint.objects.filter(pk=endpoint.pk).update(**fields)
    forget_subscriptions()


def endpoints_with_log() -> list[Endpoint]:
    endpoints = list(Endpoint.objects.all())
    for endpoint in endpoints:
        endpoint.log = list(
            Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-created_at")[:LOG_SIZE]
        )
    return endpoints
