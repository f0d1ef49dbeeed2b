"""Inbound mail: one service for every way a mail arrives (stdin, IMAP).

1. `inbound_store` keeps the raw bytes and commits: nothing is lost, whatever happens next. The
   Message-ID (or a hash of the bytes) is unique, so the same mail stored twice is one row; two
   pollers racing on one mail get one insert through and the other an IntegrityError.
2. `inbound_process` (a Celery task, on commit) parses the stored copy and applies it inside one
   transaction that also marks the row processed, so a crash half-way leaves it pending, and a
   second delivery of the task finds it taken. A mail that breaks the parser is marked failed
   with the reason, for staff to retry or discard in the admin; it never blocks the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from mail import addresses, bounces, jobs, loops
from mail.matching import find_ticket
from mail.models import AddressStatus, InboundMail, Mailbox
from mail.parsing import ParsedMail, header_message_id, parse
from tickets import services as desk

User = get_user_model()
logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 20_000
NO_TEXT = "(The mail had no text.)"


class UnusableMail(Exception):
    """A mail that cannot become a message (no sender, say): kept as failed, with this reason."""


class ParentPending(Exception):
    """The mail answers one that is stored but not parsed yet (two arrived together and another
    worker has the first): try again shortly rather than open a ticket of its own."""


# How long a reply waits for the mail it answers to be parsed, and how often it looks again.
PARENT_WAIT = timedelta(minutes=5)
PARENT_RETRY_SECONDS = 2.0


def message_key(raw: bytes, message_id: str | None = None) -> tuple[str, str]:
    """(key, sha256): the Message-ID when there is one, else the hash of the bytes."""
    sha = hashlib.sha256(raw).hexdigest()
    mid = header_message_id(raw) if message_id is None else message_id
    if not mid:
        return f"sha256:{sha}", sha
    if len(mid) > 255:
        return f"mid-sha256:{hashlib.sha256(mid.encode()).hexdigest()}", sha
    return mid, sha


def inbound_store(
    *,
    raw: bytes,
    mailbox: Mailbox | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    enqueue: bool = True,
) -> tuple[InboundMail, bool]:
    """Store one raw mail; its parse task is enqueued on commit (enqueue=False: the caller parses
    it at once, and the sweeper if that fails). Returns (row, created); a mail seen before
    returns the existing row and created=False."""
    key, sha = message_key(raw)
    try:
        with transaction.atomic():
            mail = InboundMail.objects.create(
                mailbox=mailbox,
                imap_uidvalidity=uidvalidity if uid is not None else None,
                imap_uid=uid,
                message_key=key,
                sha256=sha,
                raw=raw,
                size=len(raw),
            )
    except IntegrityError:
        existing = InboundMail.objects.filter(message_key=key).first()
        if existing is None and uid is not None:
            existing = InboundMail.objects.filter(mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid=uid).first()
        if existing is None:
            raise
        return existing, False
    if enqueue:
        transaction.on_commit(partial(jobs.enqueue, "process_inbound", mail.pk))
    return mail, True


# --- processing ------------------------------------------------------------------------------


_OWN_ADDRESSES: tuple[float, frozenset[str]] = (0.0, frozenset())
OWN_ADDRESSES_TTL = 30.0


def own_addresses() -> frozenset[str]:
    """The support address and every mailbox's, read at most every 30 s in a process (a mailbox
    saved here counts at once, one saved by another process within 30 s)."""
    global _OWN_ADDRESSES
    read_at, found = _OWN_ADDRESSES
    if time.monotonic() - read_at > OWN_ADDRESSES_TTL:
        found = frozenset(a.lower() for a in Mailbox.objects.values_list("address", flat=True))
        _OWN_ADDRESSES = (time.monotonic(), found)
    return found | {addresses.support_address()}


def forget_own_addresses(**kwargs) -> None:
    global _OWN_ADDRESSES
    _OWN_ADDRESSES = (0.0, frozenset())


def inbound_process(*, inbound_id: int) -> str:
    """Parse a stored mail and apply it. Returns the row's new state (or 'not pending').
    The claim (the row lock on a pending row), the ticket changes and the new state commit
    together; if applying fails, all of it rolls back and the failure is recorded on its own."""
    try:
        with transaction.atomic():
            mail = (
                InboundMail.objects.select_for_update().filter(pk=inbound_id, state=InboundMail.State.PENDING).first()
            )
            if mail is None:
                return "not pending"
            mail.attempts += 1
            _apply(mail, parse(bytes(mail.raw)))
            mail.processed_at = timezone.now()
            mail.save(update_fields=PARSED_FIELDS)
            return mail.state
    except (OperationalError, InterfaceError):
        raise  # transient: the row stays pending, the task or the sweeper tries again
    except ParentPending:
        jobs.enqueue("process_inbound", inbound_id, countdown=PARENT_RETRY_SECONDS)
        return "waiting for the mail it answers"
    except Exception as exc:  # noqa: BLE001 - a mail that breaks our code is kept for staff, never lost
        return _record_failure(inbound_id, exc)


def _record_failure(inbound_id: int, exc: Exception) -> str:
    error = str(exc) if isinstance(exc, UnusableMail) else _short_traceback(exc)
    logger.warning("inbound mail %s failed: %s", inbound_id, error.splitlines()[-1] if error else exc)
    fields = {"state": InboundMail.State.FAILED, "error": error, "processed_at": timezone.now()}
    raw = InboundMail.objects.filter(pk=inbound_id).values_list("raw", flat=True).first()
    try:  # what the admin's list shows, if the headers can be read at all
        parsed = parse(bytes(raw or b""))
        fields.update(from_address=parsed.from_address[:254], subject=parsed.subject[:200])
    except Exception:  # noqa: BLE001 - the error above is what matters
        pass
    updated = InboundMail.objects.filter(pk=inbound_id, state=InboundMail.State.PENDING).update(
        attempts=F("attempts") + 1, **fields
    )
    return InboundMail.State.FAILED if updated else "not pending"


PARSED_FIELDS = [
    "state",
    "kind",
    "attempts",
    "error",
    "from_address",
    "subject",
    "in_reply_to",
    "references",
    "reason",
    "ticket",
    "message",
    "processed_at",
]


def _short_traceback(exc: Exception) -> str:
    return "".join(traceback.format_exception(exc, limit=-4))[-3000:]


def inbound_retry(*, mail: InboundMail) -> bool:
    """Staff: parse a failed (or held) mail again."""
    updated = InboundMail.objects.filter(
        pk=mail.pk, state__in=[InboundMail.State.FAILED, InboundMail.State.HELD]
    ).update(state=InboundMail.State.PENDING, error="")
    if updated:
        transaction.on_commit(partial(jobs.enqueue, "process_inbound", mail.pk))
    return bool(updated)


def inbound_discard(*, mail: InboundMail) -> bool:
    return bool(
        InboundMail.objects.filter(pk=mail.pk)
        .exclude(state=InboundMail.State.PROCESSED)
        .update(state=InboundMail.State.DISCARDED)
    )


@transaction.atomic
def inbound_accept_held(*, mail: InboundMail) -> InboundMail:
    """Staff: a held mail (another sender wrote to a ticket's reply address) is added to its ticket
    as a customer message, credited to the ticket's customer, with the real sender in metadata."""
    locked = InboundMail.objects.select_for_update().get(pk=mail.pk)
    if locked.state != InboundMail.State.HELD or locked.ticket is None:
        raise ValidationError("Only a held mail with a ticket can be added to it.")
    parsed = parse(bytes(locked.raw))
    ticket = locked.ticket
    message = _post_reply(locked, parsed, ticket, request_run=True, extra={"accepted_from": parsed.from_address})
    locked.state, locked.message, locked.kind = InboundMail.State.PROCESSED, message, InboundMail.Kind.REPLY
    locked.save(update_fields=["state", "message", "kind"])
    return locked


def _apply(mail: InboundMail, parsed: ParsedMail) -> None:
    mail.from_address = parsed.from_address[:254]
    mail.subject = parsed.subject[:200]
    mail.in_reply_to = (parsed.in_reply_to[0] if parsed.in_reply_to else "")[:255]
    mail.references = " ".join(parsed.references)
    if not parsed.from_address:
        raise UnusableMail("The mail has no sender address (From), so there is nobody to answer.")
    kind, reason = loops.classify(parsed, own_addresses=own_addresses())
    mail.reason = reason[:300]
    if kind == loops.BOUNCE:
        mail.kind, mail.state = InboundMail.Kind.BOUNCE, InboundMail.State.IGNORED
        mail.ticket = bounces.record(parsed, mail)
        return
    if kind == loops.OWN:
        mail.kind, mail.state = InboundMail.Kind.OWN, InboundMail.State.IGNORED
        return
    match = find_ticket(parsed)
    if kind == loops.AUTOMATIC:
        mail.kind = InboundMail.Kind.AUTOMATIC
        mail.ticket = match.ticket
        if match.ticket is not None and match.sender_is_customer:
            # Recorded for staff (an out-of-office says when the customer is back); no run, no mail.
            mail.message = _post_reply(mail, parsed, match.ticket, request_run=False, extra={"automatic": reason})
            mail.state = InboundMail.State.PROCESSED
        else:
            mail.state = InboundMail.State.IGNORED
        return
    AddressStatus.objects.filter(address=parsed.from_address, failing=True).update(failing=False)
    if match.ticket is not None and not match.sender_is_customer:
        _hold(mail, parsed, match.ticket)
        return
    if match.ticket is not None:
        mail.kind, mail.state, mail.ticket = InboundMail.Kind.REPLY, InboundMail.State.PROCESSED, match.ticket
        mail.message = _post_reply(mail, parsed, match.ticket, request_run=True)
        return
    if _parent_pending(mail, parsed):
        raise ParentPending()
    _open_ticket(mail, parsed)


def _parent_pending(mail: InboundMail, parsed: ParsedMail) -> bool:
    if not parsed.thread_ids or mail.received_at < timezone.now() - PARENT_WAIT:
        return False
    return (
        InboundMail.objects.filter(message_key__in=parsed.thread_ids, state=InboundMail.State.PENDING)
        .exclude(pk=mail.pk)
        .exists()
    )


def _hold(mail: InboundMail, parsed: ParsedMail, ticket) -> None:
    mail.kind, mail.state, mail.ticket = InboundMail.Kind.STRANGER, InboundMail.State.HELD, ticket
    mail.reason = f"From {parsed.from_address}, not the ticket's customer: held for staff."[:300]
    desk.system_note(
        ticket=ticket,
        body=(
            f"A mail from {parsed.from_address} (not this ticket's customer) was sent to this ticket's reply "
            "address. It is held: open it in the admin (Email channel, Inbound mail) to add it or discard it."
        ),
        metadata={"channel": "email", "email": {"held": mail.pk}},
    )


def _customer_for(parsed: ParsedMail):
    user = User.objects.filter(email__iexact=parsed.from_address).order_by("pk").first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return desk.customer_create(email=parsed.from_address, password=None, first_name=parsed.from_name[:150])
    except IntegrityError:  # the same sender's other mail created it a moment ago
        return User.objects.get(username=parsed.from_address)


def _open_ticket(mail: InboundMail, parsed: ParsedMail) -> None:
    customer = _customer_for(parsed)
    cap = settings.MAIL_MAX_NEW_TICKETS_PER_SENDER_PER_HOUR
    recent = InboundMail.objects.filter(
        from_address=parsed.from_address,
        kind=InboundMail.Kind.NEW,
        received_at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    over_cap = recent >= cap
    files, dropped = _uploads(parsed)
    body = _body(parsed.reply if parsed.is_reply else parsed.text)
    ticket = desk.ticket_open(
        customer=customer,
        subject=parsed.clean_subject or "(no subject)",
        body=body,
        files=files,
        metadata=_metadata(mail, parsed, dropped),
        request_run=not over_cap,
    )
    mail.kind, mail.state, mail.ticket = InboundMail.Kind.NEW, InboundMail.State.PROCESSED, ticket
    mail.message = ticket.thread.messages.order_by("seq").first()
    if over_cap:
        mail.reason = f"{parsed.from_address} opened {recent} tickets by email in the last hour (cap {cap})."
        desk.system_note(
            ticket=ticket,
            body=f"Opened by email without asking the assistant: {mail.reason} A person should look at it.",
            metadata={"channel": "email"},
        )


def _post_reply(mail: InboundMail, parsed: ParsedMail, ticket, *, request_run: bool, extra: dict | None = None):
    files, dropped = _uploads(parsed)
    return desk.customer_reply(
        ticket=ticket,
        customer=ticket.customer,
        body=_body(parsed.reply),
        files=files,
        metadata=_metadata(mail, parsed, dropped, **(extra or {})),
        request_run=request_run,
    )


def _body(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + "\n[…] The rest is in the original mail."
    return text or NO_TEXT


def _metadata(mail: InboundMail, parsed: ParsedMail, dropped: list[dict], **extra) -> dict:
    email = {"inbound": mail.pk, "from": parsed.from_address, "html_only": parsed.html_only, **extra}
    if dropped:
        email["dropped"] = dropped
    return {"channel": "email", "email": email}


def _uploads(parsed: ParsedMail) -> tuple[list[SimpleUploadedFile], list[dict]]:
    """Attachments through the portal's own limits; a part that fails them is dropped and named
    for staff (never a failed ingest)."""
    files, dropped = [], []
    for part in parsed.attachments:
        upload = SimpleUploadedFile(part.filename, part.data, content_type=part.content_type)
        try:
            desk.validate_upload(upload)
        except ValidationError as exc:
            dropped.append({"filename": part.filename, "size": len(part.data), "reason": " ".join(exc.messages)})
            continue
        files.append(upload)
    return files, dropped


def inbound_sweep(*, grace: float = 60.0) -> int:
    """Parse what a lost task or a broker outage left pending (each at most once per `grace`, so a
    backlog the workers are still working through is not queued again and again)."""
    now = timezone.now()
    before = now - timedelta(seconds=grace)
    ids = list(
        InboundMail.objects.filter(state=InboundMail.State.PENDING, received_at__lt=before)
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lt=before))
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )
    if ids:
        InboundMail.objects.filter(pk__in=ids).update(swept_at=now)
    for pk in ids:
        jobs.enqueue("process_inbound", pk)
    return len(ids)
