"""Outgoing webhooks: the endpoints leads register, the events the desk emits, and one delivery of
an event to an endpoint (unique per pair: an event emitted twice is delivered once)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EventType(models.TextChoices):
    TICKET_CREATED = "ticket.created", "A ticket was opened"
    MESSAGE_CREATED = "message.created", "A message was added to a ticket"
    RUN_COMPLETED = "run.completed", "An assistant run completed"
    RUN_FAILED = "run.failed", "An assistant run failed, expired or was cancelled"
    TICKET_ESCALATED = "ticket.escalated", "A ticket was escalated to a person"
    TICKET_STATUS_CHANGED = "ticket.status_changed", "A ticket's status changed"


class Endpoint(models.Model):
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types sent to this endpoint.")
    include_internal_notes = models.BooleanField(
        default=False,
        help_text="Send message.created for staff's internal notes too (off: integrations get public messages only).",
    )
    # whsec_..., encrypted at rest (mail.crypto); shown once, when the endpoint is created.
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        from mail import crypto

        return crypto.decrypt(self.secret_encrypted)


class Event(models.Model):
    """One thing that happened, with the id receivers deduplicate on (`webhook-id`)."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="one_delivery_per_endpoint_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"
