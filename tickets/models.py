from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from assistants.models import KnowledgeArticle, Thread


def validate_half_step_rating(value: Decimal) -> None:
    if value is None:
        return
    if not (Decimal("1.0") <= value <= Decimal("5.0")) or (value * 2) % 1 != 0:
        raise ValidationError("A rating is 1.0 to 5.0 in steps of 0.5.")


class CustomerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_profile")
    is_premium = models.BooleanField(default=False)
    language = models.CharField(max_length=10, blank=True, help_text="Preferred language, e.g. 'en'.")
    company = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one rule for which tickets a user may open: staff see all, customers their own."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(customer=user)


def reference_of(ticket_id: int) -> str:
    """How people name a ticket: T- and its number (the inbox search reads it back)."""
    return f"T-{ticket_id}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Pending customer"
        ON_HOLD = "on_hold", "On hold"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    class AIMode(models.TextChoices):
        AUTO = "auto", "Auto: the assistant replies"
        DRAFT = "draft", "Draft: staff approve"
        OFF = "off", "Off"

    subject = models.CharField(max_length=200)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tickets")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    ai_mode = models.CharField(max_length=5, choices=AIMode.choices, default=AIMode.AUTO)
    escalated = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(max_length=300, blank=True)
    feedback_rating = models.DecimalField(
        max_digits=2, decimal_places=1, null=True, blank=True, validators=[validate_half_step_rating]
    )
    feedback_comment = models.TextField(blank=True)
    language_preference = models.CharField(max_length=10, blank=True)
    conversation_topic = models.CharField(max_length=60, blank=True)
    user_is_premium = models.BooleanField(default=False, help_text="Copied from the customer's profile.")
    thread = models.OneToOneField(Thread, on_delete=models.PROTECT, related_name="ticket")
    first_response_at = models.DateTimeField(null=True, blank=True)
    # The first public reply a person sent (written or approved): first_response_at counts the assistant too.
    first_human_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last activity (a message, a change): the inbox sorts by it.
    updated_at = models.DateTimeField(auto_now=True)
    last_message_preview = models.CharField(max_length=140, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            # The inbox's default order (updated_at, then id for ties), read straight off the index.
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_id"),
            models.Index(fields=["status", "-updated_at"], name="ticket_status_updated"),
            models.Index(fields=["assignee", "status", "-updated_at"], name="ticket_assignee_status"),
            models.Index(fields=["priority", "-updated_at"], name="ticket_priority_updated"),
            models.Index(fields=["-updated_at"], condition=Q(escalated=True), name="ticket_escalated_updated"),
            models.Index(fields=["customer", "-updated_at"], name="ticket_customer_updated"),
            # The "newest" sort, and the dashboard's recent window, whose times and ratings are
            # then read from the index alone (key columns rather than INCLUDE: SQLite has none).
            models.Index(
                fields=["created_at", "first_response_at", "resolved_at", "feedback_rating", "first_human_response_at"],
                name="ticket_created_times",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(feedback_rating__isnull=True)
                | Q(feedback_rating__gte=Decimal("1.0"), feedback_rating__lte=Decimal("5.0")),
                name="feedback_rating_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return reference_of(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class TicketCount(models.Model):
    """How many tickets have one combination of (status, escalated, assignee): a few hundred
    rows at most, kept by database triggers on every insert, update and delete of a ticket,
    whatever wrote it (services, queryset updates, the admin, COPY). The inbox chips and the
    dashboard sum these rows instead of counting every ticket. See migration 0004."""

    status = models.CharField(max_length=10)
    escalated = models.BooleanField()
    assignee_id = models.IntegerField(help_text="0 for unassigned (NULLs would not be unique on SQLite).")
    n = models.IntegerField(default=0)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["status", "escalated", "assignee_id"], name="ticket_count_key")]

    def __str__(self) -> str:
        return f"{self.status}/{self.escalated}/{self.assignee_id}: {self.n}"


class FlagChange(models.Model):
    """Audit of a ticket flag: who (a person, or the assistant's run) changed what, and when."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="flag_changes")
    field = models.CharField(max_length=40)
    old_value = models.CharField(max_length=300, blank=True)
    new_value = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey("assistants.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} -> {self.new_value!r}"


class AssistantReply(models.Model):
    """One row per reply the assistant wrote: what it did (answered, asked, handed off, ...) and how
    sure it was. Written when the reply is created; the dashboard counts these in its window."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered from the knowledge base"
        ASKED = "asked", "Asked a precise question"
        HANDOFF = "handoff", "Not sure: handed to a person"
        ESCALATED = "escalated", "Asked for a person (or upset): handed over"
        HELD = "held", "Not sure: best guess held for staff"
        STATUS = "status", "Ticket status"
        ACKNOWLEDGED = "acknowledged", "Thanked: offered to close"
        CLOSED = "closed", "Closed at the customer's request"
        OTHER = "other", "Other"

    class Review(models.TextChoices):
        NONE = "", "Not reviewed"
        APPROVED = "approved", "Approved as is"
        EDITED = "edited", "Approved after edits"
        DISCARDED = "discarded", "Discarded by a person"
        SUPERSEDED = "superseded", "Replaced by a newer draft"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="assistant_replies")
    message_id = models.BigIntegerField(unique=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    confidence = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    published = models.BooleanField(default=True)
    # What a person did with it when it was held as a draft (empty: published at once, or pending).
    review = models.CharField(max_length=10, choices=Review.choices, blank=True, default="")
    # Word-level Levenshtein distance between the draft and what was sent (edited drafts only).
    edit_distance = models.PositiveIntegerField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The dashboard's count by outcome over a window reads this index alone.
        indexes = [models.Index(fields=["created_at", "outcome"], name="assistant_reply_created")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.outcome}"


class Deflection(models.Model):
    """A customer found the answer in a suggested article while writing a new ticket, and sent none."""

    article = models.ForeignKey(KnowledgeArticle, null=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    query = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"Deflection {self.pk} ({self.article_id})"


class CannedReply(models.Model):
    """A saved reply staff insert from the composer: shared (owner empty, managed by leads) or an
    agent's own. Placeholders such as {{ customer_first_name }} are filled in when it is inserted
    (tickets.canned)."""

    title = models.CharField(max_length=120)
    body = models.TextField(max_length=5000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        help_text="Empty: shared with all staff. Otherwise only this person sees it.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    usage_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title

    @property
    def shared(self) -> bool:
        return self.owner_id is None


class LiveChange(models.Model):
    """The change feed the live pages poll: one row per visible change to a ticket (the ticket's
    own fields, one of its messages, its thread's assistant state, a run's status), written by
    database triggers in the writing transaction, whatever wrote it (services, the run engine,
    the admin, queryset updates). See migration 0010. Ids only grow, so a page's cursor is the
    last id it saw: the inbox asks for the newest id, a ticket page for rows of its ticket after
    its cursor. Old rows are pruned (tickets.tasks.prune_live_changes)."""

    id = models.BigAutoField(primary_key=True)
    ticket_id = models.BigIntegerField()  # no foreign key: the feed never locks or cascades
    message_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["ticket_id", "id"], name="live_change_ticket")]

    def __str__(self) -> str:
        return f"change {self.pk} on ticket {self.ticket_id}"
