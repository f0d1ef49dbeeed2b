"""Help-desk actions. Views and tools call these; each keeps its own rule in one place."""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assistants import services as assistant
from assistants.metadata import validate_metadata
from assistants.models import Attachment, Message, Run, Thread
from config import parsing
from tickets import events, message_cards, notifications, uploads
from tickets.edit_distance import word_distance
from tickets.models import AssistantReply, CustomerProfile, Deflection, FlagChange, Ticket, validate_half_step_rating

User = get_user_model()
logger = logging.getLogger(__name__)

# Flags mirrored to the provider's conversation metadata (strings only, see assistants.metadata).
RESERVED_METADATA_KEYS = (
    "ticket",
    "customer",
    "escalated",
    "feedback_rating",
    "language_preference",
    "user_is_premium",
    "conversation_topic",
)


# --- people --------------------------------------------------------------------------------


def customer_create(*, email: str, password: str | None, first_name: str = "", is_premium: bool = False) -> User:
    """password=None: a customer who wrote by email, with no password until they set one."""
    user = User.objects.create_user(
        username=email, email=email, password=password, first_name=parsing.one_line(first_name)[:150]
    )
    CustomerProfile.objects.create(user=user, is_premium=is_premium)
    return user


# --- the metadata mirror and the assistant's view of a ticket -------------------------------


def ticket_metadata(ticket: Ticket, *, include_custom: bool = True) -> dict[str, str]:
    typed = {
        "ticket": ticket.reference,
        # Hashed like the safety identifier: the provider never learns our user ids.
        "customer": safety_identifier(ticket.customer_id),
        "escalated": "true" if ticket.escalated else "false",
        "feedback_rating": str(ticket.feedback_rating) if ticket.feedback_rating is not None else "",
        "language_preference": ticket.language_preference,
        "user_is_premium": "true" if ticket.user_is_premium else "false",
        "conversation_topic": ticket.conversation_topic,
    }
    custom = {k: v for k, v in ticket.thread.custom_metadata.items() if k not in typed} if include_custom else {}
    return validate_metadata({**typed, **custom})


def safety_identifier(user_id: int) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:customer:{user_id}".encode()).hexdigest()[:32]


def _locked(ticket: Ticket) -> Ticket:
    """The ticket's row lock, after its thread's: every writer takes the thread first (then the
    ticket, then runs and messages), so two writers never wait for each other in a circle."""
    assistant.lock_thread(ticket.thread_id)
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _mark_metadata_dirty(ticket: Ticket, *, push: bool = True) -> None:
    """`push=False`: the thread has no remote conversation yet, so there is nothing to push now (its
    first run creates it with the current metadata)."""
    Thread.objects.filter(pk=ticket.thread_id).update(metadata_dirty=True)
    if push:
        transaction.on_commit(partial(_push_metadata, ticket.thread_id))


def _push_metadata(thread_id: int) -> None:
    from assistants import tasks

    push = getattr(tasks, "sync_thread_metadata", None)
    if push is None:
        return
    try:
        push.delay(thread_id)
    except Exception:  # noqa: BLE001 - the dirty flag stays set; the sweeper pushes it later
        logger.warning("broker unavailable; metadata of thread %s waits for the sweeper", thread_id)


def _record(ticket: Ticket, field: str, old, new, *, by=None, run: Run | None = None, reason: str = "") -> None:
    if str(old) == str(new):
        return
    change = FlagChange.objects.create(
        ticket=ticket,
        field=field,
        old_value="" if old is None else str(old)[:300],
        new_value="" if new is None else str(new)[:300],
        changed_by=by,
        run=run,
        reason=reason[:300],
    )
    # Every recorded change of these two is an outgoing webhook event (one place for both).
    if field == "status":
        events.status_changed(ticket, str(old), str(new), change_id=change.pk)
    elif field == "escalated" and new:
        events.escalated(ticket, reason, change_id=change.pk)


def _touch(ticket: Ticket, preview: str | None = None) -> None:
    fields = {"updated_at": timezone.now()}
    if preview is not None:
        fields["last_message_preview"] = preview[:140]
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


# --- attachments ---------------------------------------------------------------------------

ALLOWED_UPLOAD_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
}
ALLOWED_EXTENSIONS = set(uploads.TYPES)
MAX_FILES_PER_MESSAGE = 5


def validate_upload(upload) -> None:
    """Size, type and content limits, checked before anything is stored: the extension must be
    one we accept, the declared type must fit it, and the first bytes must be that kind of file
    (an SVG or HTML page named .png is refused)."""
    name = upload.name or ""
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if upload.size > settings.HELPDESK_MAX_UPLOAD_BYTES:
        limit_mb = settings.HELPDESK_MAX_UPLOAD_BYTES / (1024 * 1024)
        raise ValidationError(f"{name} is too large: the limit is {limit_mb:.0f} MB.")
    problem = uploads.problem(upload, ext)
    if problem is not None:
        raise ValidationError(f"{name}: this file is not accepted ({problem}).")


def validate_uploads(files) -> None:
    """Every file of one message, and how many there are."""
    files = list(files or ())
    if len(files) > MAX_FILES_PER_MESSAGE:
        raise ValidationError(f"Attach at most {MAX_FILES_PER_MESSAGE} files.")
    for upload in files:
        validate_upload(upload)


def _attach(message: Message, files) -> None:
    for upload in files or ():
        Attachment.objects.create(
            message=message,
            file=upload,
            filename=parsing.one_line(upload.name)[:255] or "attachment",
            content_type=(getattr(upload, "content_type", "") or "application/octet-stream")[:100],
            size=upload.size,
        )


# --- customer actions ----------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *, customer: User, subject: str, body: str, files=(), metadata: dict | None = None, request_run: bool = True
) -> Ticket:
    """Open a ticket with its first message; the assistant is asked on commit.
    request_run=False (automatic or capped inbound mail): the message is recorded, no run is asked."""
    validate_uploads(files)
    profile = CustomerProfile.objects.filter(user=customer).first()
    thread = assistant.thread_create()
    ticket = Ticket.objects.create(
        subject=parsing.one_line(subject)[:200],
        customer=customer,
        thread=thread,
        ai_mode=settings.HELPDESK_DEFAULT_AI_MODE,
        user_is_premium=bool(profile and profile.is_premium),
        language_preference=(profile.language if profile else "") or "",
        last_message_preview=body.strip()[:140],
    )
    message = assistant.message_add(
        thread=thread, role=Message.Role.USER, body=body.strip(), author=customer, metadata=metadata
    )
    _attach(message, files)
    events.ticket_created(ticket, message)
    if request_run:
        assistant.run_request(thread=thread)
    return ticket


@transaction.atomic
def customer_reply(
    *, ticket: Ticket, customer: User, body: str, files=(), metadata: dict | None = None, request_run: bool = True
) -> Message:
    """request_run=False (an out-of-office reply, say): recorded for staff; no run is asked and the
    ticket keeps its status."""
    if ticket.customer_id != customer.pk:
        raise PermissionDenied("Not your ticket.")
    validate_uploads(files)
    message = assistant.message_add(
        thread=ticket.thread, role=Message.Role.USER, body=body.strip(), author=customer, metadata=metadata
    )
    _attach(message, files)
    events.message_created(ticket, message)
    if request_run and ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED, Ticket.Status.PENDING):
        _set_status(ticket, Ticket.Status.OPEN, by=customer, reason="The customer replied.")
    _touch(ticket, body)
    if request_run:
        assistant.run_request(thread=ticket.thread)
    return message


def customer_asks_for_human(*, ticket: Ticket, customer: User) -> None:
    if ticket.customer_id != customer.pk:
        raise PermissionDenied("Not your ticket.")
    ticket_escalate(ticket=ticket, reason="The customer asked to talk to a person.", by=customer)


@transaction.atomic
def ticket_rate(*, ticket: Ticket, customer: User, rating: Decimal, comment: str = "") -> Ticket:
    if ticket.customer_id != customer.pk:
        raise PermissionDenied("Not your ticket.")
    if ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        raise ValidationError("You can rate a ticket once it is resolved.")
    rating = Decimal(str(rating))
    validate_half_step_rating(rating)
    locked = _locked(ticket)
    _record(locked, "feedback_rating", locked.feedback_rating, rating, by=customer)
    locked.feedback_rating = rating
    locked.feedback_comment = comment.strip()
    locked.save(update_fields=["feedback_rating", "feedback_comment", "updated_at"])
    _mark_metadata_dirty(locked)
    return locked


# --- staff actions -------------------------------------------------------------------------


@transaction.atomic
def staff_reply(*, ticket: Ticket, staff: User, body: str, internal: bool = False, files=()) -> Message:
    """A public reply to the customer, or an internal note that only staff (and the assistant) see.
    A public reply takes over from the assistant: AI mode auto becomes draft, and a run still
    working stops (an answer it may still get is kept as a discarded draft, never sent)."""
    validate_uploads(files)
    message = assistant.message_add(
        thread=ticket.thread,
        role=Message.Role.DEVELOPER if internal else Message.Role.ASSISTANT,
        body=body.strip(),
        author=staff,
        visibility=Message.Visibility.INTERNAL if internal else Message.Visibility.PUBLIC,
    )
    _attach(message, files)
    events.message_created(ticket, message)
    if internal:
        _touch(ticket)
        return message
    ticket = _locked(ticket)
    # The person's reply replaces a draft still waiting (the one-pending-draft rule, in this transaction).
    if assistant.supersede_drafts(ticket.thread, by_person=staff):
        _superseded_reviews(ticket)
        assistant.refresh_ai_state(ticket.thread)
    active = Run.objects.filter(thread_id=ticket.thread_id, status__in=Run.ACTIVE).first()
    if active is not None:
        assistant.run_cancel(run=active, by=staff, reason=f"{_name(staff)} replied to the customer.", answered=True)
    if ticket.ai_mode == Ticket.AIMode.AUTO:
        _record(ticket, "ai_mode", ticket.ai_mode, Ticket.AIMode.DRAFT, by=staff, reason="A person replied.")
        ticket.ai_mode = Ticket.AIMode.DRAFT
    _first_responses(ticket, message.published_at)
    if ticket.status == Ticket.Status.NEW:
        _set_status(ticket, Ticket.Status.OPEN, by=staff, reason="A person replied.")
    ticket.last_message_preview = body.strip()[:140]
    ticket.save(
        update_fields=[
            "ai_mode",
            "first_response_at",
            "first_human_response_at",
            "status",
            "last_message_preview",
            "updated_at",
        ]
    )
    transaction.on_commit(partial(notifications.reply_published, message.pk))
    return message


def _first_responses(ticket: Ticket, moment) -> None:
    """A person's public reply (written, or a draft they approved): the first response, if none
    was yet, and the first human response."""
    if ticket.first_response_at is None:
        ticket.first_response_at = moment
    if ticket.first_human_response_at is None:
        ticket.first_human_response_at = moment


@transaction.atomic
def draft_approve(*, message: Message, staff: User, body: str | None = None) -> Message:
    ticket = _locked(Ticket.objects.get(thread_id=message.thread_id))
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.draft_state != Message.DraftState.DRAFT:
        raise ValidationError("This draft was already handled.")
    now = timezone.now()
    if body is not None and body.strip() and body.strip() != locked.body:
        locked.metadata = {**locked.metadata, "original_body": locked.body, "edited_by": staff.pk}
        locked.body = body.strip()
    locked.draft_state = Message.DraftState.PUBLISHED
    locked.published_at = now
    locked.published_by = staff
    locked.save(update_fields=["body", "metadata", "draft_state", "published_at", "published_by"])
    original = locked.metadata.get("original_body")
    _review(
        locked,
        AssistantReply.Review.EDITED if original is not None else AssistantReply.Review.APPROVED,
        by=staff,
        edit_distance=word_distance(original, locked.body) if original is not None else None,
    )
    _first_responses(ticket, now)
    if ticket.status == Ticket.Status.NEW:
        _set_status(ticket, Ticket.Status.OPEN, by=staff, reason="A person approved the assistant's reply.")
    ticket.last_message_preview = locked.body[:140]
    ticket.save(
        update_fields=["first_response_at", "first_human_response_at", "status", "last_message_preview", "updated_at"]
    )
    assistant.refresh_ai_state(ticket.thread)
    transaction.on_commit(partial(notifications.reply_published, locked.pk))
    return locked


@transaction.atomic
def draft_discard(*, message: Message, staff: User) -> Message:
    assistant.lock_thread(message.thread_id)
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.draft_state != Message.DraftState.DRAFT:
        raise ValidationError("This draft was already handled.")
    locked.draft_state = Message.DraftState.DISCARDED
    locked.metadata = {**locked.metadata, "discarded_by": staff.pk, "discarded_reason": f"by {_name(staff)}"}
    locked.save(update_fields=["draft_state", "metadata"])
    _review(locked, AssistantReply.Review.DISCARDED, by=staff)
    assistant.refresh_ai_state(locked.thread)
    return locked


def _review(message: Message, review: str, *, by: User | None, edit_distance: int | None = None) -> None:
    """What a person did with a held draft, for the dashboard's draft acceptance."""
    AssistantReply.objects.filter(message_id=message.pk).update(
        review=review, reviewed_by=by, edit_distance=edit_distance, published=review != AssistantReply.Review.DISCARDED
    )


def _name(user: User) -> str:
    return message_cards.person(user)


def run_stop(*, run: Run, staff: User) -> bool:
    """Staff stop the assistant's run from the ticket page; the customer's turn is theirs now."""
    return assistant.run_cancel(run=run, by=staff, reason=f"Stopped by {_name(staff)}.")


@transaction.atomic
def ticket_preview_refresh(*, thread_id: int) -> None:
    """The inbox preview after a message was removed: the latest remaining public text."""
    latest = (
        Message.objects.filter(thread_id=thread_id, redacted_at__isnull=True)
        .public()
        .exclude(kind=Message.Kind.NOTICE)
        .order_by("-seq")
        .values_list("body", flat=True)
        .first()
    )
    Ticket.objects.filter(thread_id=thread_id).update(last_message_preview=(latest or "").strip()[:140])


def message_remove(*, ticket: Ticket, message_id: int, staff: User, reason: str) -> Message:
    """Staff remove a message of this ticket (assistants.redaction does the work). Every staff
    member may (agents and leads): removing a pasted card number cannot wait for a lead."""
    from assistants import redaction

    message = Message.objects.get(pk=message_id, thread_id=ticket.thread_id)
    return redaction.message_redact(message=message, by=staff, reason=reason)


def quoting_remove(*, ticket: Ticket, message_id: int, ids, staff: User) -> list[Message]:
    """ "Remove these too": the later messages that quoted a removed one, with its reason."""
    from assistants import redaction

    message = Message.objects.get(pk=message_id, thread_id=ticket.thread_id)
    return redaction.quoting_redact(message=message, ids=ids, by=staff)


def attachment_remove(*, ticket: Ticket, attachment_id: int, staff: User, reason: str) -> Attachment:
    from assistants import redaction

    attachment = Attachment.objects.get(pk=attachment_id, message__thread_id=ticket.thread_id)
    return redaction.attachment_redact(attachment=attachment, by=staff, reason=reason)


def system_note(*, ticket: Ticket, body: str, metadata: dict | None = None) -> Message:
    """An internal note written by the help desk itself (a held mail, a bounce): staff only."""
    message = assistant.message_add(
        thread=ticket.thread,
        role=Message.Role.DEVELOPER,
        body=body.strip(),
        visibility=Message.Visibility.INTERNAL,
        metadata=metadata,
    )
    _touch(ticket)
    return message


def ask_assistant(*, ticket: Ticket, staff: User) -> Run | None:
    return assistant.run_request(thread=ticket.thread, trigger=Run.Trigger.STAFF, requested_by=staff)


def run_retry(*, run: Run, staff: User | None) -> Run | None:
    if run.is_active:
        raise ValidationError("This run is still going.")
    return assistant.run_request(thread=run.thread, trigger=Run.Trigger.RETRY, requested_by=staff, retry_of=run)


@transaction.atomic
def ticket_handed_off(*, ticket: Ticket, reason: str) -> None:
    """The assistant could not answer the customer's turn: the ticket shows as open (not new) and
    the staff are told; the customer was told in the thread (the notice is emailed like a reply)."""
    locked = _locked(ticket)
    if locked.status == Ticket.Status.NEW:
        _set_status(locked, Ticket.Status.OPEN, reason="The assistant handed the ticket to a person.")


@transaction.atomic
def ticket_escalate(*, ticket: Ticket, reason: str, by: User | None = None, run: Run | None = None) -> Ticket:
    """Hand the ticket to a person: auto replies stop (they become drafts) and staff are told."""
    locked = _locked(ticket)
    if locked.escalated:
        return locked
    _record(locked, "escalated", False, True, by=by, run=run, reason=reason)
    locked.escalated = True
    locked.escalated_at = timezone.now()
    locked.escalation_reason = reason[:300]
    if locked.status in (Ticket.Status.NEW, Ticket.Status.PENDING):
        _set_status(locked, Ticket.Status.OPEN, by=by, run=run, reason="Escalated to a person.")
    locked.save(update_fields=["escalated", "escalated_at", "escalation_reason", "status", "updated_at"])
    _mark_metadata_dirty(locked)
    transaction.on_commit(partial(notifications.escalated, locked.pk))
    return locked


@transaction.atomic
def ticket_deescalate(*, ticket: Ticket, by: User) -> Ticket:
    locked = _locked(ticket)
    if not locked.escalated:
        return locked
    _record(locked, "escalated", True, False, by=by)
    locked.escalated = False
    locked.escalation_reason = ""
    locked.save(update_fields=["escalated", "escalation_reason", "updated_at"])
    _mark_metadata_dirty(locked)
    return locked


def _set_status(ticket: Ticket, status: str, *, by=None, run: Run | None = None, reason: str = "") -> bool:
    """The one place a ticket's status changes, whatever moves it (a person, the assistant's reply,
    an escalation, the customer): written, recorded in the history (FlagChange) and so emitted as
    `ticket.status_changed`. The UPDATE is conditional on the status read, so a caller without the
    ticket's lock records a change only if it made it."""
    old = ticket.status
    if old == status:
        return False
    resolved_at = ticket.resolved_at if status == Ticket.Status.CLOSED else None
    if status == Ticket.Status.RESOLVED:
        resolved_at = timezone.now()
    changed = Ticket.objects.filter(pk=ticket.pk, status=old).update(
        status=status, resolved_at=resolved_at, updated_at=timezone.now()
    )
    if not changed:
        return False
    _record(ticket, "status", old, status, by=by, run=run, reason=reason)
    ticket.status, ticket.resolved_at = status, resolved_at
    return True


def reply_opened_ticket(*, thread_id: int, run: Run | None) -> None:
    """A published reply on a new ticket opens it (new -> open), through the one place."""
    ticket = Ticket.objects.filter(thread_id=thread_id, status=Ticket.Status.NEW).first()
    if ticket is not None:
        _set_status(ticket, Ticket.Status.OPEN, run=run, reason="The assistant replied.")


def _label(ticket: Ticket, field: str) -> str:
    """What people read in the history: names and labels, not ids and codes."""
    if field == "assignee":
        user = User.objects.filter(pk=ticket.assignee_id).first() if ticket.assignee_id else None
        return message_cards.person(user)
    if field == "priority":
        return ticket.get_priority_display()
    return str(getattr(ticket, field) or "")


EDITABLE_FIELDS = {"status", "priority", "assignee", "ai_mode", "conversation_topic", "language_preference"}
MIRRORED_FIELDS = {"conversation_topic", "language_preference"}


@transaction.atomic
def ticket_update(*, ticket: Ticket, by: User, **changes) -> Ticket:
    """Change status, priority, assignee, AI mode or a mirrored flag, with an audit record each."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} here.")
    locked = _locked(ticket)
    for field, value in changes.items():
        if field == "status":
            if value not in Ticket.Status.values:
                raise ValidationError(f"Unknown status {value!r}.")
            if value != locked.status:
                _set_status(locked, value, by=by)
            continue
        if field == "ai_mode" and value not in Ticket.AIMode.values:
            raise ValidationError(f"Unknown AI mode {value!r}.")
        if field == "priority" and int(value) not in Ticket.Priority.values:
            raise ValidationError(f"Unknown priority {value!r}.")
        attr = "assignee_id" if field == "assignee" else field
        new = value.pk if field == "assignee" and value is not None else value
        if field == "priority":
            new = int(value)
        old_label = _label(locked, field)
        setattr(locked, attr, new)
        _record(locked, field, old_label, _label(locked, field), by=by)
    locked.save()
    if MIRRORED_FIELDS & set(changes):
        _mark_metadata_dirty(locked)
    return locked


# --- what the assistant's replies leave on the ticket --------------------------------------


def _superseded_reviews(ticket: Ticket) -> None:
    """Drafts a newer reply replaced (assistants' supersede_drafts) count as superseded on the dashboard."""
    superseded = Message.objects.filter(
        thread_id=ticket.thread_id, draft_state=Message.DraftState.DISCARDED, metadata__discard_code="superseded"
    ).values("pk")
    AssistantReply.objects.filter(ticket=ticket, review="", message_id__in=superseded).update(
        review=AssistantReply.Review.SUPERSEDED, published=False
    )


def assistant_reply_recorded(*, message: Message, published: bool, superseded: bool = True) -> None:
    """After the assistant wrote a reply: count its outcome for the dashboard, and fill the ticket's
    language from the customer's messages when nobody set one. `superseded`: the reply replaced
    drafts (the engine says when it did not, which saves the look for them)."""
    metadata = message.metadata or {}
    outcome = metadata.get("outcome") or AssistantReply.Outcome.OTHER
    if outcome not in AssistantReply.Outcome.values:
        outcome = AssistantReply.Outcome.OTHER
    ticket = Ticket.objects.filter(thread_id=message.thread_id).select_related("thread").first()
    if ticket is None:
        return
    if superseded:
        _superseded_reviews(ticket)  # drafts this reply replaced (discarded in the reply's transaction)
    # One record per reply (message_id is unique): a second delivery of the signal adds nothing.
    AssistantReply.objects.bulk_create(
        [
            AssistantReply(
                message_id=message.pk,
                ticket=ticket,
                outcome=outcome,
                confidence=metadata.get("confidence"),
                language=(metadata.get("language") or "")[:8],
                published=published,
            )
        ],
        ignore_conflicts=True,
    )
    language = metadata.get("language") or ""
    if language and not ticket.language_preference:
        with transaction.atomic():
            # The one lock order (thread, then ticket): customers posting meanwhile lock the thread first.
            Thread.objects.select_for_update().only("id").get(pk=ticket.thread_id)
            updated = Ticket.objects.filter(pk=ticket.pk, language_preference="").update(language_preference=language)
            if updated:
                _record(
                    ticket, "language_preference", "", language, run=message.run, reason="Detected by the assistant."
                )
                # The offline assistant's threads have no remote conversation: no push task for them.
                _mark_metadata_dirty(ticket, push=bool(ticket.thread.remote_id))


@transaction.atomic
def ticket_resolve_by_assistant(*, ticket: Ticket, run: Run) -> Ticket:
    """The customer confirmed their problem is solved and agreed to close the ticket."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.is_open:
        _set_status(ticket, Ticket.Status.RESOLVED, run=run, reason="The customer confirmed it.")
    return ticket


def deflection_record(*, article_id: int | None, customer=None, query: str = "") -> Deflection:
    """'This solved it' on a suggested article: the customer sent no ticket."""
    from assistants.models import KnowledgeArticle

    article = KnowledgeArticle.objects.filter(pk=article_id, published=True).first() if article_id else None
    return Deflection.objects.create(
        article=article, customer=customer if customer and customer.is_authenticated else None, query=query[:300]
    )


# --- the API's thread and message metadata ---------------------------------------------------

READ_ONLY_METADATA = {
    "ticket": "the ticket's reference",
    "customer": "set from the ticket's customer",
    "user_is_premium": "copied from the customer's profile",
}
STAFF_TYPED_FLAGS = ("escalated", "language_preference", "conversation_topic")


def _metadata_error(key: str, message: str) -> ValidationError:
    return ValidationError({f"metadata.{key}": message})


def thread_metadata_update(*, ticket: Ticket, by: User, metadata: dict) -> Ticket:
    """Change a ticket's thread metadata from outside (the API), through the same rules as the
    admin and the portal: typed flags through their services (audited, mirrored), custom keys
    within the admin's limits (a null value removes a key). Staff change the flags and custom
    keys; a customer only rates (feedback_rating, once resolved, as in the portal)."""
    from assistants import lifecycle
    from assistants.metadata import MetadataError, validate_custom_metadata

    if not isinstance(metadata, dict):
        raise ValidationError({"metadata": "Metadata is an object of strings."})
    for key, value in metadata.items():
        if key in READ_ONLY_METADATA:
            raise _metadata_error(key, f"{key} is read-only here ({READ_ONLY_METADATA[key]}).")
        if value is not None and not isinstance(value, str):
            raise _metadata_error(key, "Values must be strings (write numbers and booleans in quotes).")
    if not by.is_staff:
        others = sorted(set(metadata) - {"feedback_rating"})
        if others:
            raise PermissionDenied(f"A customer may only set feedback_rating, not {', '.join(others)}.")
    elif "feedback_rating" in metadata:
        raise _metadata_error("feedback_rating", "The rating is the customer's to give.")
    custom = {k: v for k, v in metadata.items() if k not in RESERVED_METADATA_KEYS}
    if custom:
        merged = {**ticket.thread.custom_metadata}
        for key, value in custom.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        try:
            validate_custom_metadata(merged, reserved_keys=RESERVED_METADATA_KEYS)
        except MetadataError as exc:
            raise ValidationError({"metadata": str(exc)}) from exc
    updates = {}
    for key in ("language_preference", "conversation_topic"):
        if key in metadata:
            value = (metadata[key] or "").strip()
            try:
                Ticket._meta.get_field(key).clean(value, ticket)
            except ValidationError as exc:
                raise _metadata_error(key, " ".join(exc.messages)) from exc
            updates[key] = value
    escalate = None
    if "escalated" in metadata:
        escalate = parsing.choice(metadata["escalated"], ("true", "false"))
        if escalate is None:
            raise _metadata_error("escalated", 'escalated is "true" or "false".')
    rating = None
    if "feedback_rating" in metadata:
        try:
            rating = Decimal(metadata["feedback_rating"] or "")
        except ArithmeticError as exc:
            raise _metadata_error("feedback_rating", "A rating is 1.0 to 5.0 in steps of 0.5.") from exc
        if not rating.is_finite():
            raise _metadata_error("feedback_rating", "A rating is 1.0 to 5.0 in steps of 0.5.")
    with transaction.atomic():
        if rating is not None:
            try:
                ticket_rate(ticket=ticket, customer=by, rating=rating)
            except ValidationError as exc:
                raise _metadata_error("feedback_rating", " ".join(exc.messages)) from exc
        if escalate == "true":
            ticket_escalate(ticket=ticket, reason=f"Escalated by {_name(by)} through the API.", by=by)
        elif escalate == "false":
            ticket_deescalate(ticket=ticket, by=by)
        if updates:
            ticket_update(ticket=ticket, by=by, **updates)
        if custom:
            Thread.objects.filter(pk=ticket.thread_id).update(custom_metadata=merged)
            lifecycle.request_metadata_resync(thread_ids=[ticket.thread_id])
    return Ticket.objects.select_related("thread", "customer").get(pk=ticket.pk)


def thread_delete(*, ticket: Ticket, by: User) -> None:
    """Delete the ticket's remote conversation (the lifecycle's deletion: the local history stays,
    the thread is marked deleted). Staff only."""
    from assistants import lifecycle

    if not by.is_staff:
        raise PermissionDenied("Only staff delete a thread.")
    lifecycle.request_remote_deletion(thread_ids=[ticket.thread_id])


def message_metadata_update(*, message: Message, by: User, metadata: dict) -> Message:
    """The metadata an outside client keeps on a message (strings, the provider's limits; null
    removes a key), apart from what the help desk records there. Staff on any message they see,
    a customer on their own."""
    from assistants.metadata import MetadataError

    if not by.is_staff and message.author_id != by.pk:
        raise PermissionDenied("A customer may only change the metadata of their own messages.")
    if not isinstance(metadata, dict) or any(v is not None and not isinstance(v, str) for v in metadata.values()):
        raise ValidationError({"metadata": "Metadata is an object of strings (null removes a key)."})
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        current = dict((locked.metadata or {}).get("client") or {})
        for key, value in metadata.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        try:
            validate_metadata(current)
        except MetadataError as exc:
            raise ValidationError({"metadata": str(exc)}) from exc
        locked.metadata = {**(locked.metadata or {}), "client": current}
        locked.save(update_fields=["metadata"])
    return locked
