"""The email channel's own records: mailboxes, every inbound mail (raw first), every outbound mail,
the bounce state of each address, and the single-use links that sign customers in.

Messages themselves live in assistants.Message (metadata["channel"] == "email"); these tables
point at them and never the other way round.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Mailbox(models.Model):
    """An IMAP mailbox the app polls. Leads add them in the admin; INBOUND_IMAP_URL adds one too
    (from_env: its settings, password included, are read from the variable on every poll)."""

    name = models.CharField(max_length=100, unique=True)
    address = models.EmailField(help_text="The support address customers write to, e.g. support@example.com.")
    host = models.CharField(max_length=200)
    port = models.PositiveIntegerField(default=993)
    use_tls = models.BooleanField(default=True, help_text="IMAP over TLS (port 993). Off only on loopback.")
    username = models.CharField(max_length=200)
    password_encrypted = models.TextField(blank=True, help_text="Set through the admin form; stored encrypted.")
    password_env = models.CharField(
        max_length=100, blank=True, help_text="Or the name of an environment variable that holds the password."
    )
    folder = models.CharField(max_length=200, default="INBOX")
    processed_folder = models.CharField(max_length=200, default="Processed")
    active = models.BooleanField(default=True)
    from_env = models.BooleanField(default=False, editable=False)
    # The poll lease: two app instances never poll one mailbox at the same time.
    poll_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class InboundMail(models.Model):
    """One received mail, stored raw before anything parses it, so nothing is ever lost.
    `message_key` (the Message-ID, or a hash of the bytes when there is none) makes ingest
    idempotent; (mailbox, uidvalidity, uid) makes two pollers of one mailbox store a mail once."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be parsed"
        PROCESSED = "processed", "Added to a ticket"
        HELD = "held", "Held for staff"
        IGNORED = "ignored", "Automatic: no ticket change"
        FAILED = "failed", "Failed to parse"
        DISCARDED = "discarded", "Discarded by staff"

    class Kind(models.TextChoices):
        UNKNOWN = "", "Not parsed yet"
        NEW = "new", "New ticket"
        REPLY = "reply", "Reply on a ticket"
        AUTOMATIC = "automatic", "Automatic mail"
        BOUNCE = "bounce", "Bounce"
        OWN = "own", "Our own mail"
        STRANGER = "stranger", "Another sender on a ticket"

    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="mails")
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    message_key = models.CharField(max_length=255, unique=True)
    sha256 = models.CharField(max_length=64)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.UNKNOWN, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # What parsing found (kept for the admin's list and for threading outbound replies).
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was ignored or held.")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.OneToOneField(
        "assistants.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mail"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper last sent its parse task again (a backlog is not sent again every sweep).
    swept_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                condition=Q(imap_uid__isnull=False),
                name="inbound_mail_imap_uid",
            )
        ]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inbound_state_received"),
            models.Index(fields=["ticket", "received_at"], name="inbound_ticket_received"),
            models.Index(fields=["from_address", "kind", "received_at"], name="inbound_sender_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.from_address or '?'}: {self.subject or '(no subject)'} [{self.state}]"


class OutboundMail(models.Model):
    """One mail we send to a customer. Its Message-ID is stored before it is sent (replies thread
    back to it); sending is a Celery task with retries. One per (message, recipient)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not sent"
        BOUNCED = "bounced", "Bounced"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "assistants.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_mails"
    )
    to_address = models.CharField(max_length=254)
    email_message_id = models.CharField(max_length=255, unique=True, help_text="Our Message-ID, without <>.")
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    subject = models.CharField(max_length=300)
    automatic = models.BooleanField(default=True, help_text="Sent with Auto-Submitted: auto-replied.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "to_address"], condition=Q(message__isnull=False), name="one_mail_per_message"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_status_next"),
            models.Index(fields=["to_address", "created_at"], name="outbound_to_created"),
            models.Index(fields=["ticket", "created_at"], name="outbound_ticket_created"),
        ]

    def __str__(self) -> str:
        return f"To {self.to_address}: {self.subject} [{self.status}]"


class AddressStatus(models.Model):
    """Delivery state of one customer address: a permanent bounce (5.x.x) stops mail to it until
    the customer writes to us again from it."""

    address = models.CharField(max_length=254, unique=True)
    failing = models.BooleanField(default=False)
    bounces = models.PositiveIntegerField(default=0)
    last_status = models.CharField(max_length=20, blank=True)
    last_diagnostic = models.CharField(max_length=500, blank=True)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "address statuses"

    def __str__(self) -> str:
        return f"{self.address}: {'failing' if self.failing else 'ok'}"


class EmailPreference(models.Model):
    """Whether a portal customer gets their ticket's replies by email (email tickets always do)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference")
    replies_by_email = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user}: {'email' if self.replies_by_email else 'portal only'}"


class SignInLink(models.Model):
    """A single-use, expiring link in an email that signs its customer into one ticket.
    The URL carries a signed (id, nonce); this row makes it single-use."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=43)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Link for {self.user} to {self.ticket_id}"
