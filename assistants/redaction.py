"""Removing a message (or one attachment) for good: the local text and files, the provider's copies,
and what the assistant would read next; recorded in the audit log (Redaction) with who and why.

What a redaction does, in one transaction under the thread's lock:
- the body becomes empty (pages, emails and the API show `Message.redaction_notice` instead), so
  the keyword search, whose PostgreSQL index is an expression over the body, no longer finds it;
- the files' content is deleted from storage once the transaction commits (the rows stay, emptied,
  for the placeholder);
- the text the offline assistant keeps in replies' metadata (the question it searched) is dropped,
  and a message not sent to the provider yet is never sent (sync_state LOCAL);
- the owner app is told (`message_redacted`) so it can drop its own copies (inbound mail, previews);
- a Redaction row records it; if the thread has a remote conversation, its copies of the text
  (the item itself, and seeded copies in rotated conversations) are deleted by a Celery task with
  retries (`delete_redacted_remote`), and the sweeper sends that task again if it was lost.

The removed text is never stored: the task finds the remote copies by keyed hashes of it
(`fingerprints`). Redacting twice changes nothing and records nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assistants.models import Attachment, Message, Redaction, Run
from assistants.providers import get_provider
from assistants.providers.base import ProviderError, TransientProviderError
from assistants.signals import message_redacted
from assistants.threads import lock_thread
from config.broker import send_or_leave_to_sweeper

logger = logging.getLogger(__name__)

MAX_REASON = 300
# The summary item a rotated conversation starts with quotes the first customer message this far.
SUMMARY_QUOTE_CHARS = 1500
REMOTE_MAX_ATTEMPTS = 12
# Metadata keys that may hold the customer's words (the offline assistant's search).
TEXT_METADATA_KEYS = ("query", "parts")


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Say why this is removed."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"At most {MAX_REASON} characters."})
    return reason


def _label(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# --- fingerprints: one rule for "this remote text is the removed text" ----------------------


def normalize(text: str) -> str:
    return " ".join((text or "").split())


def fingerprint(text: str) -> str:
    """A keyed hash of a text (whitespace-insensitive): finds copies without keeping the text."""
    key = hashlib.sha256(("redaction:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, normalize(text).encode(), hashlib.sha256).hexdigest()[:48]


def text_fingerprints(body: str) -> list[str]:
    """Fingerprints of the forms the text takes remotely: the message itself, and the quote of it
    in a rotated conversation's summary."""
    if not normalize(body):
        return []
    prints = [fingerprint(body)]
    if len(body) > SUMMARY_QUOTE_CHARS:
        prints.append(fingerprint(body[:SUMMARY_QUOTE_CHARS]))
    return prints


ATTACHMENTS_NOTE = re.compile(r"\n\[attachments: [^\]]*\]\s*$")
SUMMARY_QUOTE = "The customer's first message was:\n"


def remote_text_matches(text: str, prints: set[str]) -> bool:
    """Whether a remote item's text is (or quotes) a removed text, by its fingerprints. The forms:
    the text as sent, the seeded copy (with a note of its attachments), the summary's quote."""
    if not text or not prints:
        return False
    candidates = [text, ATTACHMENTS_NOTE.sub("", text)]
    if SUMMARY_QUOTE in text:
        candidates.append(text.split(SUMMARY_QUOTE, 1)[1])
    return any(fingerprint(c) in prints for c in candidates)


# --- quotes: later messages that repeat what was removed -----------------------------------

# A run of 6 or more digits (spaces, dots or dashes between them allowed: "4111-1111-1111-1111"),
# an email address, or this long a stretch of the text (case and spacing aside).
DIGIT_RUN = re.compile(r"\d(?:[\s.\-]?\d){5,}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
QUOTE_WINDOW, QUOTE_STEP = 32, 8  # every common stretch of 39+ characters holds a whole window


def _digit_runs(text: str) -> set[str]:
    return {re.sub(r"\D", "", m.group()) for m in DIGIT_RUN.finditer(text)}


def sensitive_pieces(text: str) -> tuple[set[str], set[str], list[str]]:
    """What a later message must not repeat of a removed text: its digit runs, its email addresses
    and overlapping windows of it (for a long quote)."""
    flat = normalize(text).lower()
    windows = []
    if len(flat) >= QUOTE_WINDOW:
        starts = [*range(0, len(flat) - QUOTE_WINDOW + 1, QUOTE_STEP), len(flat) - QUOTE_WINDOW]
        windows = list(dict.fromkeys(flat[i : i + QUOTE_WINDOW] for i in starts))
    return _digit_runs(text), {e.lower() for e in EMAIL.findall(text)}, windows


def quotes(text: str, pieces: tuple[set[str], set[str], list[str]]) -> bool:
    """Whether `text` repeats a piece of a removed text (one rule, for the warning and the API)."""
    digits, emails, windows = pieces
    if digits and any(d in theirs or theirs in d for theirs in _digit_runs(text) for d in digits):
        return True
    flat = normalize(text).lower()
    return any(e in flat for e in emails) or any(w in flat for w in windows)


def messages_quoting(message: Message, removed_text: str) -> list[int]:
    """Ids of the later messages of the thread (not removed yet) that repeat a piece of the text
    removed from `message`: an assistant reply that quoted a card number keeps it otherwise."""
    pieces = sensitive_pieces(removed_text)
    if not any(pieces):
        return []
    later = (
        Message.objects.filter(thread_id=message.thread_id, seq__gt=message.seq, redacted_at__isnull=True)
        .exclude(body="")
        .order_by("seq")
        .values_list("id", "body")
    )
    return [pk for pk, body in later.iterator() if quotes(body, pieces)]


def quoting_redact(*, message: Message, ids, by) -> list[Message]:
    """Staff's "remove these too": the later messages of a removed message's thread (among `ids`,
    as `message_redact` reported them) are removed with the same reason, each in the audit log."""
    message = Message.objects.get(pk=message.pk)
    if not message.is_redacted:
        raise ValidationError("Remove the message itself first.")
    targets = Message.objects.filter(
        thread_id=message.thread_id, seq__gt=message.seq, pk__in=list(ids), redacted_at__isnull=True
    ).order_by("seq")
    return [message_redact(message=m, by=by, reason=message.redaction_reason) for m in targets]


# --- the services ---------------------------------------------------------------------------


def message_redact(*, message: Message, by, reason: str) -> Message:
    """Remove a message's text and files. Raises ValidationError (field `reason`) for a missing or
    too long reason. Idempotent: a removed message is returned as it is. The returned message's
    `quoted_by` lists the later messages that repeat what was removed (`messages_quoting`), found
    now because the text is gone afterwards; staff decide whether they go too (`quoting_redact`)."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        lock_thread(message.thread_id, "id")
        locked = Message.objects.select_for_update().filter(pk=message.pk).first()
        if locked is None or locked.is_redacted:
            found = Message.objects.get(pk=message.pk) if locked is None else locked
            found.quoted_by = []
            return found
        body = locked.body
        quoted_by = messages_quoting(locked, body)
        now = timezone.now()
        attachments = list(locked.attachments.filter(redacted_at__isnull=True))
        file_ids = [a.remote_file_id for a in attachments if a.remote_file_id]
        for attachment in attachments:
            _empty_attachment(attachment, by=by, reason=reason, now=now)
        remote = _has_remote_copy(locked)
        fields = dict(
            body="",
            redacted_at=now,
            redacted_by=by,
            redaction_reason=reason,
            metadata=_scrubbed_metadata(locked.metadata, keep=("email_delivery",)),
        )
        if locked.sync_state == Message.SyncState.PENDING:
            fields["sync_state"] = Message.SyncState.LOCAL  # never sent from now on
        Message.objects.filter(pk=locked.pk).update(**fields)
        _scrub_assistant_memory(locked)
        record = Redaction.objects.create(
            thread_id=locked.thread_id,
            message=locked,
            what=f"{locked.get_role_display()} message #{locked.seq}",
            by=by,
            by_label=_label(by),
            reason=reason,
            remote_state=Redaction.RemoteState.PENDING if remote else Redaction.RemoteState.NONE,
            remote_fingerprints=" ".join(text_fingerprints(body)) if remote else "",
            remote_file_id=" ".join(file_ids),
        )
        message_redacted.send(sender=Message, message=locked, attachment=None, by=by)
        if remote:
            _enqueue_on_commit(record.pk)
    locked.refresh_from_db()
    locked.quoted_by = quoted_by
    return locked


def attachment_redact(*, attachment: Attachment, by, reason: str) -> Attachment:
    """Remove one attachment's file (the message's text stays). Idempotent."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        message = Message.objects.only("id", "thread_id", "seq", "role").get(pk=attachment.message_id)
        lock_thread(message.thread_id, "id")
        locked = Attachment.objects.select_for_update().filter(pk=attachment.pk).first()
        if locked is None or locked.is_redacted:
            return locked or attachment
        remote = bool(locked.remote_file_id) and get_provider().remote
        file_id = locked.remote_file_id
        _empty_attachment(locked, by=by, reason=reason, now=timezone.now())
        record = Redaction.objects.create(
            thread_id=message.thread_id,
            message=message,
            attachment=locked,
            what=f"Attachment {locked.filename} of message #{message.seq}",
            by=by,
            by_label=_label(by),
            reason=reason,
            remote_state=Redaction.RemoteState.PENDING if remote else Redaction.RemoteState.NONE,
            remote_file_id=file_id if remote else "",
        )
        message_redacted.send(sender=Message, message=message, attachment=locked, by=by)
        if remote:
            _enqueue_on_commit(record.pk)
    locked.refresh_from_db()
    return locked


def _empty_attachment(attachment: Attachment, *, by, reason: str, now) -> None:
    """The row stays (for the placeholder); the content goes from storage once this commits (a
    rollback must not leave a row whose file is gone)."""
    name, storage = attachment.file.name, attachment.file.storage
    Attachment.objects.filter(pk=attachment.pk).update(
        file="", size=0, remote_file_id="", redacted_at=now, redacted_by=by, redaction_reason=reason
    )
    if name:
        transaction.on_commit(lambda: _delete_stored(storage, name))


def _delete_stored(storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        logger.exception("redacted file %s could not be deleted from storage", name)


def _has_remote_copy(message: Message) -> bool:
    """Could the provider hold this text? Any message of a thread with a conversation (a run in
    flight may be sending a pending one right now); notices are never sent."""
    if not get_provider().remote or message.kind == Message.Kind.NOTICE:
        return False
    thread = message.thread
    return bool(thread.remote_id or thread.remote_history)


def _scrubbed_metadata(metadata: dict, *, keep=()) -> dict:
    return {k: v for k, v in (metadata or {}).items() if k in keep}


def _scrub_assistant_memory(message: Message) -> None:
    """The offline assistant remembers the question it searched on its reply (and the run keeps the
    tool calls): drop them for the runs that read this message, so no later run reads it there."""
    run_ids = {message.answered_by_id, message.run_id} - {None}
    if not run_ids:
        return
    for reply in Message.objects.filter(run_id__in=run_ids, role=Message.Role.ASSISTANT):
        if any(k in reply.metadata for k in TEXT_METADATA_KEYS):
            metadata = {k: v for k, v in reply.metadata.items() if k not in TEXT_METADATA_KEYS}
            Message.objects.filter(pk=reply.pk).update(metadata=metadata)
    for run in Run.objects.filter(pk__in=run_ids).only("id", "tool_calls", "provider_state"):
        state = {k: v for k, v in (run.provider_state or {}).items() if k not in TEXT_METADATA_KEYS}
        calls = [
            {**c, "arguments": {k: "[removed]" if k == "query" else v for k, v in (c.get("arguments") or {}).items()}}
            for c in run.tool_calls or []
        ]
        Run.objects.filter(pk=run.pk).update(provider_state=state, tool_calls=calls)


# --- the remote copies ----------------------------------------------------------------------


def _enqueue_on_commit(redaction_id: int, delay: float = 0.0) -> None:
    transaction.on_commit(lambda: enqueue_remote_delete(redaction_id, delay))


def enqueue_remote_delete(redaction_id: int, delay: float = 0.0) -> None:
    from assistants import tasks

    send_or_leave_to_sweeper(tasks.delete_redacted_remote, redaction_id, countdown=delay)


class RemoteWait(Exception):
    """A run is working on the conversation: its items land when it finishes; look after it."""


def redaction_remote_delete(*, redaction_id: int) -> str:
    """Delete the provider's copies of a removed text or file. Raises TransientProviderError (the
    task retries with backoff) or RemoteWait; a permanent error marks the record failed for staff."""
    record = Redaction.objects.select_related("thread", "message").filter(pk=redaction_id).first()
    if record is None or record.remote_state != Redaction.RemoteState.PENDING:
        return "nothing to do"
    Redaction.objects.filter(pk=record.pk).update(remote_attempts=record.remote_attempts + 1)
    thread = record.thread
    file_ids = frozenset(record.remote_file_id.split())
    # The conversation items holding the text or a removed file: found by fingerprints of the text
    # and by the file ids they carry (an attachment removed alone leaves the text; its item goes).
    items = bool(record.remote_fingerprints or file_ids)
    if items and Run.objects.filter(thread=thread, status__in=Run.ACTIVE).exists():
        raise RemoteWait(f"thread {thread.pk} has an active run")
    provider = get_provider()
    try:
        deleted = 0
        if items:
            deleted = provider.delete_message(
                thread, record.message, fingerprints=set(record.remote_fingerprints.split()), file_ids=file_ids
            )
        delete_file = getattr(provider, "delete_file", None)
        for file_id in file_ids:
            if delete_file is not None:
                delete_file(file_id)
    except TransientProviderError as exc:
        Redaction.objects.filter(pk=record.pk).update(remote_error=str(exc)[:300])
        if record.remote_attempts + 1 >= REMOTE_MAX_ATTEMPTS:
            _remote_failed(record, str(exc))
            return "failed"
        raise
    except ProviderError as exc:
        _remote_failed(record, str(exc))
        return "failed"
    Redaction.objects.filter(pk=record.pk, remote_state=Redaction.RemoteState.PENDING).update(
        remote_state=Redaction.RemoteState.DONE,
        remote_fingerprints="",
        remote_items_deleted=deleted,
        remote_error="",
        remote_done_at=timezone.now(),
    )
    return "done"


def _remote_failed(record: Redaction, error: str) -> None:
    logger.error("redaction %s: remote copy not deleted: %s", record.pk, error)
    Redaction.objects.filter(pk=record.pk).update(remote_state=Redaction.RemoteState.FAILED, remote_error=error[:300])


def redactions_sweep(*, older_than: float = 120.0) -> int:
    """Send again the remote deletes whose task was lost (pending for a while)."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    ids = list(
        Redaction.objects.filter(remote_state=Redaction.RemoteState.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:200]
    )
    for pk in ids:
        enqueue_remote_delete(pk)
    return len(ids)
