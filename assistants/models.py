"""Threads, messages, runs: the local, authoritative copy of every assistant conversation.

Pages read only these tables; providers are called from background tasks only.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class Thread(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"
        DELETED = "deleted", "Deleted"

    class AIState(models.TextChoices):
        """A denormalised summary of the latest run, kept by the run engine for fast inbox filters."""

        IDLE = "idle", "Idle"
        RUNNING = "running", "Running"
        DRAFT_WAITING = "draft_waiting", "Draft waiting"
        FAILED = "failed", "Run failed"
        PAUSED = "paused", "Paused by a cap"

    provider = models.CharField(max_length=20)
    remote_id = models.CharField(max_length=100, blank=True, db_index=True)
    # Earlier remote conversations of this thread (rotations, re-creations), newest last:
    # [{"id": "conv_...", "reason": "...", "at": "iso time"}]
    remote_history = models.JSONField(default=list, blank=True)
    remote_deleted_at = models.DateTimeField(null=True, blank=True)
    remote_error = models.TextField(blank=True)
    # The mirror sent to the provider (dict of strings); the typed ticket fields are authoritative.
    metadata = models.JSONField(default=dict, blank=True)
    custom_metadata = models.JSONField(default=dict, blank=True)
    metadata_synced_at = models.DateTimeField(null=True, blank=True)
    metadata_dirty = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    ai_state = models.CharField(max_length=16, choices=AIState.choices, default=AIState.IDLE)
    # Why the assistant is not answering (caps, escalation, failures): shown to staff.
    attention = models.CharField(max_length=300, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    run_count = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    # Tokens of the remote context since the last rotation (what the next run will send).
    context_tokens = models.PositiveIntegerField(default=0)
    # What the engine knows of the remote conversation, recorded before each call so that a lost
    # request is recovered by position, never by text: {"last_item_id": "msg_..." or None (empty
    # conversation), "open_calls": [function calls in the conversation still waiting for output]}.
    remote_state = models.JSONField(default=dict, blank=True)
    # Since when the assistant has been working on the customer's current turn (the slow notice).
    ai_state_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "updated_at"], name="thread_state_updated"),
            models.Index(fields=["ai_state"], name="thread_ai_state"),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk} ({self.provider}{' ' + self.remote_id if self.remote_id else ''})"


class MessageQuerySet(models.QuerySet):
    def public(self):
        """The one rule for what a customer may see: public messages, and assistant replies
        only once published. Internal notes and drafts never pass."""
        return self.filter(visibility=Message.Visibility.PUBLIC).exclude(
            role=Message.Role.ASSISTANT, draft_state__in=[Message.DraftState.DRAFT, Message.DraftState.DISCARDED]
        )

    def drafts(self):
        return self.filter(role=Message.Role.ASSISTANT, draft_state=Message.DraftState.DRAFT)


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Customer"
        ASSISTANT = "assistant", "Assistant or staff reply"
        DEVELOPER = "developer", "Internal note"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal note"

    class DraftState(models.TextChoices):
        NONE = "", "Not a draft"
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        DISCARDED = "discarded", "Discarded"

    class SyncState(models.TextChoices):
        PENDING = "pending", "Pending"
        SYNCED = "synced", "Synced"
        LOCAL = "local", "Local only"

    class Kind(models.TextChoices):
        TEXT = "", "Message"
        NOTICE = "notice", "Automatic notice"  # e.g. "a person will reply": public, never sent to the model

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField(help_text="Order within the thread, assigned under the thread's row lock.")
    role = models.CharField(max_length=10, choices=Role.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    draft_state = models.CharField(max_length=10, choices=DraftState.choices, default="", blank=True)
    # For assistant messages: the run that wrote it. For customer messages: the run that answered it.
    run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    answered_by = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="answers")
    remote_id = models.CharField(max_length=100, blank=True)
    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.PENDING)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Removed by staff (assistants.redaction): the body and files are gone, a placeholder shows.
    redacted_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redaction_reason = models.CharField(max_length=300, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "seq"], name="message_thread_seq_unique"),
            # A run writes at most one reply, whatever redelivery or retry happens.
            models.UniqueConstraint(
                fields=["run"], condition=Q(role="assistant", run__isnull=False), name="one_reply_per_run"
            ),
        ]
        indexes = [
            models.Index(fields=["thread", "role", "answered_by"], name="message_unanswered"),
            models.Index(fields=["thread", "draft_state"], name="message_drafts"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} #{self.seq} on thread {self.thread_id}"

    @property
    def is_internal(self) -> bool:
        return self.visibility == self.Visibility.INTERNAL

    @property
    def is_draft(self) -> bool:
        return self.draft_state == self.DraftState.DRAFT

    @property
    def is_from_assistant(self) -> bool:
        return self.role == self.Role.ASSISTANT and self.run_id is not None

    @property
    def is_notice(self) -> bool:
        return self.kind == self.Kind.NOTICE

    @property
    def is_redacted(self) -> bool:
        return self.redacted_at is not None

    @property
    def redaction_notice(self) -> str:
        """What is shown where a removed message was (portal, staff page, emails, the API)."""
        return redaction_notice(self.redacted_by, self.redacted_at, "message")


def redaction_notice(user, when, what: str) -> str:
    name = "our support team"
    if user is not None:
        name = user.get_full_name() or user.get_username()
    day = when.strftime("%Y-%m-%d") if when else ""
    return f"This {what} was removed by {name} on {day}."


def attachment_path(instance, filename: str) -> str:
    return f"attachments/{instance.message.thread_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    remote_file_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Removed by staff: the file's content is deleted from storage; the row stays for the placeholder.
    redacted_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redaction_reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.filename

    @property
    def is_redacted(self) -> bool:
        return self.redacted_at is not None

    @property
    def redaction_notice(self) -> str:
        return redaction_notice(self.redacted_by, self.redacted_at, "attachment")


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "Thinking"
        REQUIRES_ACTION = "requires_action", "Calling a tool"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded"

    ACTIVE = (Status.QUEUED, Status.IN_PROGRESS, Status.REQUIRES_ACTION)

    class Trigger(models.TextChoices):
        CUSTOMER = "customer", "Customer message"
        FOLLOW_UP = "follow_up", "Messages that arrived during a run"
        STAFF = "staff", "Asked by staff"
        RETRY = "retry", "Retry"
        AUTO_RETRY = "auto_retry", "Retried after a transient failure"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.CUSTOMER)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=60, blank=True)
    # The last customer message this run answers (set when it starts).
    answers_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Fixed when the run is first claimed: it sends the thread's unsent messages up to this seq, and
    # answers the customer messages it took then (Message.answered_by); later ones are the follow-up's.
    input_seq = models.PositiveIntegerField(default=0)
    # A call of this run may have been processed without our knowing (a timeout, a dropped connection,
    # a 5xx, a worker that died mid-step): look in the conversation before sending again. Cleared when
    # a send succeeds; a clean error (429, a busy conversation) leaves it as it was.
    ambiguous = models.BooleanField(default=False)
    remote_response_id = models.CharField(max_length=100, blank=True)
    remote_response_ids = models.JSONField(default=list, blank=True)
    # What the provider needs between steps (pending tool calls, partial results).
    provider_state = models.JSONField(default=dict, blank=True)
    tool_calls = models.JSONField(default=list, blank=True, help_text="Every tool call and its output, in order.")
    attempts = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    needs_staff = models.BooleanField(default=False, help_text="A permanent error staff must look at.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["thread"],
                condition=Q(status__in=["queued", "in_progress", "requires_action"]),
                name="one_active_run_per_thread",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_step_at"], name="run_status_next_step"),
            models.Index(fields=["thread", "created_at"], name="run_thread_created"),
            models.Index(fields=["created_at"], name="run_created"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def live_label(self) -> str:
        """What staff and customers see while the run works."""
        if self.status == self.Status.REQUIRES_ACTION and self.provider_state.get("pending_calls"):
            names = ", ".join(c["name"] for c in self.provider_state["pending_calls"])
            return f"Calling a tool: {names}"
        if self.status == self.Status.QUEUED and (self.attempts or self.trigger == self.Trigger.AUTO_RETRY):
            # Not "Queued": the run before this one failed, and staff should read that it did.
            return "Retrying after a failed run"
        return self.get_status_display()


class KnowledgeArticle(models.Model):
    """A help-center article in Markdown. Articles that share a translation group are translations of
    one another; the assistant prefers the one in the customer's language."""

    class Language(models.TextChoices):
        EN = "en", "English"
        DE = "de", "German"
        FR = "fr", "French"
        ES = "es", "Spanish"

    class IndexState(models.TextChoices):
        PENDING = "pending", "Waiting for the indexing task"
        READY = "ready", "Passages and embeddings stored"
        LEXICAL = "lexical", "Passages stored; no embedding model installed"
        FAILED = "failed", "Indexing failed"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField(help_text="Markdown: ## headings, paragraphs, lists, **bold**, [links](https://...).")
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    translation_group = models.SlugField(
        max_length=200,
        blank=True,
        help_text="Articles with the same group are translations of one another (e.g. the English slug). "
        "Empty: the article is its own group.",
    )
    category = models.CharField(max_length=80, blank=True, help_text="The help center's section.")
    tags = models.CharField(max_length=200, blank=True, help_text="Comma-separated.")
    published = models.BooleanField(default=True)
    remote_file_id = models.CharField(max_length=100, blank=True)
    remote_synced_at = models.DateTimeField(null=True, blank=True)
    index_state = models.CharField(max_length=10, choices=IndexState.choices, default=IndexState.PENDING)
    index_error = models.CharField(max_length=300, blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    embedding_model = models.CharField(max_length=40, blank=True)
    # The whole article's embedding (title and text); its passages have their own.
    embedding = models.BinaryField(null=True, blank=True)
    # The title and tags alone, what the article is about: it sharpens every passage's vector.
    title_embedding = models.BinaryField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["published", "category"], name="article_published_category")]

    def __str__(self) -> str:
        return self.title

    @property
    def group(self) -> str:
        return self.translation_group or self.slug

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class KnowledgePassage(models.Model):
    """One section (or paragraph) of an article, as plain text, with its embedding when a model is
    installed. Written by the indexing task when the article is saved; read by retrieval."""

    article = models.ForeignKey(KnowledgeArticle, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveSmallIntegerField()
    heading = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    embedding = models.BinaryField(null=True, blank=True, help_text="float32 little-endian, L2-normalised.")

    class Meta:
        ordering = ["article", "position"]
        constraints = [models.UniqueConstraint(fields=["article", "position"], name="passage_article_position")]

    def __str__(self) -> str:
        return f"{self.article_id}#{self.position} {self.heading}"


class WebhookDelivery(models.Model):
    """Seen webhook-id values: a replayed delivery is acknowledged and ignored."""

    webhook_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=60)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"


class Redaction(models.Model):
    """The audit log of removed messages and attachments: who, when, why, which message. The text
    itself is never kept here; `remote_fingerprints` (keyed hashes of the removed text, used to find
    its copies in the provider's conversations) is cleared once the remote copies are deleted."""

    class RemoteState(models.TextChoices):
        PENDING = "pending", "Remote copy being deleted"
        DONE = "done", "Remote copy deleted"
        NONE = "none", "No remote copy"
        FAILED = "failed", "Remote delete failed"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="redactions")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="redactions")
    attachment = models.ForeignKey(
        Attachment, null=True, blank=True, on_delete=models.SET_NULL, related_name="redactions"
    )
    what = models.CharField(max_length=300, help_text="The message (role, number) or the attachment's name.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_label = models.CharField(max_length=254, blank=True, help_text="Who, kept when the account is deleted.")
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    remote_state = models.CharField(max_length=10, choices=RemoteState.choices, default=RemoteState.NONE)
    remote_fingerprints = models.CharField(max_length=200, blank=True)
    remote_file_id = models.CharField(max_length=100, blank=True)
    remote_attempts = models.PositiveIntegerField(default=0)
    remote_error = models.CharField(max_length=300, blank=True)
    remote_items_deleted = models.PositiveIntegerField(default=0)
    remote_done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["remote_state", "created_at"], name="redaction_remote_state")]

    def __str__(self) -> str:
        return f"Redaction of {self.what} by {self.by_label}"
