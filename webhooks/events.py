"""Emitting an event: the one helper every service calls, inside its own transaction.

`emit()` records the event under an id derived from what happened (`key`), so emitting the same
thing twice (a retried task, a redelivered signal) records one event; a Delivery row per subscribed,
active endpoint (unique per endpoint and event) is created with it, and each is sent by a Celery
task once the transaction commits. Nothing is sent for a change that rolls back.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.broker import send_or_leave_to_sweeper
from webhooks.models import Delivery, Endpoint, Event, EventType


def event_id_for(key: str) -> str:
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:32]


# Which event types some active endpoint listens to, cached: every run's end asks, and endpoints
# rarely change. A save or delete of an endpoint (and switching one on or off) forgets it at once in
# a shared cache (REDIS_CACHE_URL); with the per-process default cache another process sees the change
# within SUBSCRIPTIONS_TTL seconds. A stale "someone listens" costs only emit()'s own query.
SUBSCRIPTIONS_KEY = "webhooks:subscribed-event-types"
SUBSCRIPTIONS_TTL = 5


def subscribed(*event_types: str) -> set[str]:
    """Which of `event_types` some active endpoint listens to (cached, see above): lets a caller
    skip building a payload nobody would receive."""
    listened = cache.get(SUBSCRIPTIONS_KEY)
    if listened is None:
        rows = Endpoint.objects.filter(is_active=True).values_list("events", flat=True)
        listened = {t for events in rows for t in events}
        cache.set(SUBSCRIPTIONS_KEY, listened, SUBSCRIPTIONS_TTL)
    return listened & set(event_types)


def forget_subscriptions(**kwargs) -> None:
    """Also the receiver of an Endpoint's post_save and post_delete (WebhooksConfig.ready)."""
    cache.delete(SUBSCRIPTIONS_KEY)


def emit(event_type: str, data: dict, *, key: str, internal: bool = False) -> Event | None:
    """Record `event_type` with `data` (JSON) once per `key`, and queue its deliveries. An
    `internal` event (an internal note) goes only to endpoints that opted in to internal notes."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown event type {event_type!r}")
    event_id = event_id_for(f"{event_type}:{key}")
    listening = Endpoint.objects.filter(is_active=True)
    if internal:
        listening = listening.filter(include_internal_notes=True)
    endpoints = [e for e in listening.only("id", "events") if event_type in e.events]
    if not endpoints:
        return None  # nobody listens: nothing is stored
    with transaction.atomic():
        event = Event.objects.filter(event_id=event_id).first()
        if event is None:
            try:
                with transaction.atomic():
                    event = Event.objects.create(
                        event_id=event_id,
                        type=event_type,
                        payload={
                            "type": event_type,
                            "timestamp": timezone.now().isoformat(),
                            "data": data,
                        },
                    )
            except IntegrityError:
                event = Event.objects.get(event_id=event_id)
        known = set(Delivery.objects.filter(event=event).values_list("endpoint_id", flat=True))
        new = Delivery.objects.bulk_create(
            [Delivery(endpoint=e, event=event, next_attempt_at=timezone.now()) for e in endpoints if e.pk not in known],
            ignore_conflicts=True,
        )
        ids = list(
            Delivery.objects.filter(event=event, endpoint_id__in=[d.endpoint_id for d in new]).values_list(
                "pk", flat=True
            )
        )
    for pk in ids:
        _enqueue_on_commit(pk)
    return event


def _enqueue_on_commit(delivery_id: int, delay: float = 0.0) -> None:
    transaction.on_commit(lambda: enqueue(delivery_id, delay))


def enqueue(delivery_id: int, delay: float = 0.0) -> None:
    """Send one delivery's task (looked up at call time, so tests can replace it). A broker outage
    leaves the row pending; the sweeper sends it."""
    from webhooks import tasks

    send_or_leave_to_sweeper(tasks.deliver, delivery_id, countdown=delay)
