"""Sending one delivery: signed (config.standard_webhooks), claimed with a conditional UPDATE (two
task deliveries send once), retried with exponential backoff, and the endpoint disabled after
WEBHOOK_DISABLE_AFTER failed attempts in a row, with the leads told.

Addresses are checked where they are registered and again on every send, where the name is
resolved once and the connection made to the address that was checked (webhooks.network).
"""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from config import standard_webhooks
from webhooks import events, network
from webhooks.models import Delivery, Endpoint

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=60)
USER_AGENT = "ParcellyHelp-Webhooks/1"


# --- one attempt -----------------------------------------------------------------------------


def backoff(attempts: int) -> float:
    base = settings.WEBHOOK_BACKOFF_BASE * 2 ** max(attempts - 1, 0)
    return min(base, settings.WEBHOOK_BACKOFF_MAX) * random.uniform(0.9, 1.1)


def delivery_send(*, delivery_id: int) -> str:
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(status=Delivery.Status.SENDING, lease_until=now + SEND_LEASE, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "not claimed"
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _save(delivery, Delivery.Status.FAILED, error="The endpoint is disabled.")
        return "endpoint disabled"
    body = json.dumps(delivery.event.payload, separators=(",", ":"), sort_keys=True).encode()
    code, error = None, ""
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **standard_webhooks.sign(endpoint.secret, delivery.event.event_id, body),
        }
        code = network.post(endpoint.url, body, headers)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    except (OSError, ValueError) as exc:  # network failures and timeouts; a secret that cannot be decrypted
        error = f"{type(exc).__name__}: {exc}"
    if code is not None and 200 <= code < 300:
        _save(delivery, Delivery.Status.SUCCEEDED, code=code, delivered_at=timezone.now())
        Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return "delivered"
    error = error or f"The endpoint answered {code}."
    failures = _count_failure(endpoint)
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or failures is None:
        _save(delivery, Delivery.Status.FAILED, code=code, error=error)
        return "failed"
    delay = backoff(delivery.attempts)
    _save(
        delivery,
        Delivery.Status.PENDING,
        code=code,
        error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    events.enqueue(delivery.pk, delay)
    return "retry"


def _save(delivery: Delivery, status: str, *, code=None, error: str = "", **fields) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, lease_until=None, last_status_code=code, last_error=error[:500], **fields
    )


def _count_failure(endpoint: Endpoint) -> int | None:
    """Count a failed attempt; None when this one disabled the endpoint."""
    Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = Endpoint.objects.filter(pk=endpoint.pk).values_list("consecutive_failures", flat=True).first() or 0
    if failures < settings.WEBHOOK_DISABLE_AFTER:
        return failures
    reason = f"Disabled after {failures} failed attempts in a row."
    disabled = Endpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    if disabled:
        _tell_leads(endpoint, reason)
    return None


def _tell_leads(endpoint: Endpoint, reason: str) -> None:
    from django.urls import reverse

    from tickets import notifications
    from webhooks.access import leads

    url = settings.SITE_URL.rstrip("/") + reverse("webhooks:endpoints")
    notifications.staff_mail(
        subject=f"Webhook endpoint disabled: {endpoint.url}",
        body=f"The webhook endpoint {endpoint.url} was disabled. {reason}\n\nEnable it again once it answers: {url}\n",
        recipients=sorted(set(leads().values_list("email", flat=True))),
    )


def deliveries_sweep(*, grace: float = 60.0) -> int:
    """Send again deliveries whose task was lost: pending and overdue, or stuck sending."""
    now = timezone.now()
    overdue = Q(status=Delivery.Status.PENDING, next_attempt_at__lt=now - timedelta(seconds=grace))
    stuck = Q(status=Delivery.Status.SENDING, lease_until__lt=now)
    ids = list(Delivery.objects.filter(overdue | stuck).values_list("pk", flat=True)[:500])
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(status=Delivery.Status.PENDING)
    for pk in ids:
        events.enqueue(pk)
    return len(ids)
