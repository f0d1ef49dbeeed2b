"""Outbound mail: every public message that reaches a customer (assistant replies, staff replies,
approved drafts, the help desk's automatic notices) is emailed through here when the ticket came
by email or the customer wants replies by email.

`queue_public_message` records an OutboundMail (its Message-ID fixed before sending) and enqueues
`send_outbound` on commit; it runs after the run's completing transaction, never inside it, and
the SMTP conversation happens only in the task, with retries and backoff. Delivery state is
mirrored into the message's metadata ("email_delivery") for the staff ticket page.
"""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from assistants.models import Message
from mail import addresses, jobs, links
from mail.models import AddressStatus, EmailPreference, InboundMail, OutboundMail
from tickets.models import Ticket

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=120)
BACKOFF_BASE, BACKOFF_MAX = 5.0, 1800.0
MAX_REFERENCES = 20
TEMPLATE = "mail/reply.html"


# --- who gets mail ---------------------------------------------------------------------------


def _is_automatic(message: Message) -> bool:
    """Written by the assistant or the help desk and sent without a person's approval."""
    return message.author_id is None and message.published_by_id is None


def _thread_headers(ticket: Ticket) -> tuple[str, str]:
    """(In-Reply-To, References): the customer's last mail on the ticket if there is one, else our
    last mail to them, so every client keeps the conversation together."""
    last_in = (
        InboundMail.objects.filter(ticket=ticket, state=InboundMail.State.PROCESSED)
        .exclude(message_key__startswith="sha256:")
        .exclude(message_key__startswith="mid-sha256:")
        .order_by("-received_at", "-pk")
        .values("message_key", "references", "received_at")
        .first()
    )
    last_out = (
        OutboundMail.objects.filter(ticket=ticket)
        .exclude(status=OutboundMail.Status.SUPPRESSED)
        .order_by("-created_at", "-pk")
        .values("email_message_id", "references", "created_at")
        .first()
    )
    parent = None
    if last_in and (last_out is None or last_in["received_at"] >= last_out["created_at"]):
        parent = (last_in["message_key"], last_in["references"])
    elif last_out:
        parent = (last_out["email_message_id"], last_out["references"])
    if parent is None:
        return "", ""
    chain = [*parent[1].split(), parent[0]]
    return parent[0], " ".join(dict.fromkeys(chain[-MAX_REFERENCES:]))


# --- queueing --------------------------------------------------------------------------------


@transaction.atomic
def queue_public_message(*, message_id: int) -> OutboundMail | None:
    """Email this message to its ticket's customer, if it is public and they get mail. Idempotent:
    one OutboundMail per (message, recipient), however often the signal comes. It runs after every
    reply's commit, in the worker, so it reads what decides in as few queries as it can: the
    message (locked: its delivery state is written below), then the ticket with its customer,
    whether it came by email, the customer's preference and a failing address, in one query."""
    message = Message.objects.public().select_for_update().filter(pk=message_id, role=Message.Role.ASSISTANT).first()
    if message is None:
        return None
    ticket = _ticket_for_mail(message.thread_id)
    if ticket is None or not ticket.customer.email or not _wants_email(ticket):
        return None
    to = ticket.customer.email.lower()
    automatic = _is_automatic(message)
    status, error = OutboundMail.Status.QUEUED, ""
    if ticket.failing_status is not None:
        status, error = (
            OutboundMail.Status.SUPPRESSED,
            f"Not sent: mail to {to} bounced ({ticket.failing_status or 'permanent'}).",
        )
    elif automatic and _automatic_mails_last_hour(to) >= settings.MAIL_MAX_AUTO_PER_RECIPIENT_PER_HOUR:
        cap = settings.MAIL_MAX_AUTO_PER_RECIPIENT_PER_HOUR
        status, error = (
            OutboundMail.Status.SUPPRESSED,
            f"Not sent: {cap} automatic mails went to {to} in the last hour.",
        )
    in_reply_to, references = _thread_headers(ticket)
    try:
        # The unique (message, recipient) constraint is the idempotency check: a second delivery
        # of the signal finds the first one's mail.
        with transaction.atomic():
            outbound = OutboundMail.objects.create(
                ticket=ticket,
                message=message,
                to_address=to,
                email_message_id=addresses.new_message_id(ticket, message.pk),
                in_reply_to=in_reply_to,
                references=references,
                # One line, whatever the subject came with (a header may not contain a newline).
                subject=" ".join(f"Re: {ticket.subject} {addresses.subject_tag(ticket)}".split())[:300],
                automatic=automatic,
                status=status,
                last_error=error,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return OutboundMail.objects.filter(message=message, to_address=to).first()
    _write_delivery(message, outbound)
    if status == OutboundMail.Status.QUEUED:
        transaction.on_commit(partial(jobs.enqueue, "send_outbound", outbound.pk))
    return outbound


def _ticket_for_mail(thread_id: int) -> Ticket | None:
    """The ticket and its customer, with what decides whether and how they get mail (one query)."""
    came_by_email = InboundMail.objects.filter(
        ticket=OuterRef("pk"),
        state=InboundMail.State.PROCESSED,
        kind__in=[InboundMail.Kind.NEW, InboundMail.Kind.REPLY],
    )
    preference = EmailPreference.objects.filter(user_id=OuterRef("customer_id")).values("replies_by_email")[:1]
    failing = AddressStatus.objects.filter(address=Lower(OuterRef("customer__email")), failing=True).values(
        "last_status"
    )[:1]
    return (
        Ticket.objects.select_related("customer")
        .annotate(came_by_email=Exists(came_by_email), replies_by_email=Subquery(preference))
        .annotate(failing_status=Subquery(failing))
        .filter(thread_id=thread_id)
        .first()
    )


def _wants_email(ticket: Ticket) -> bool:
    """The one rule: email tickets always; portal tickets when the customer wants replies by email
    (a ticket read by _ticket_for_mail)."""
    if ticket.came_by_email:
        return True
    return settings.MAIL_PORTAL_REPLIES if ticket.replies_by_email is None else ticket.replies_by_email


def _automatic_mails_last_hour(address: str) -> int:
    since = timezone.now() - timedelta(hours=1)
    return (
        OutboundMail.objects.filter(to_address=address, automatic=True, created_at__gte=since)
        .exclude(status=OutboundMail.Status.SUPPRESSED)
        .count()
    )


def mirror_delivery(outbound: OutboundMail) -> None:
    """What staff see under the message on the ticket page (no extra query there)."""
    if outbound.message_id is None:
        return
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=outbound.message_id).first()
        if message is not None:
            _write_delivery(message, outbound)


def _write_delivery(message: Message, outbound: OutboundMail) -> None:
    """mirror_delivery's write, for a caller that holds the message's row lock."""
    message.metadata = {
        **message.metadata,
        "email_delivery": {
            "status": outbound.status,
            "to": outbound.to_address,
            "error": outbound.last_error[:300],
            "attempts": outbound.attempts,
        },
    }
    message.save(update_fields=["metadata"])


# --- sending ---------------------------------------------------------------------------------


def build_email(outbound: OutboundMail) -> EmailMultiAlternatives:
    ticket = Ticket.objects.select_related("customer").get(pk=outbound.ticket_id)
    message = Message.objects.filter(pk=outbound.message_id).prefetch_related("attachments").first()
    site = settings.SITE_URL.rstrip("/")
    cited = [c for c in ((message.metadata or {}).get("citations", []) if message else []) if c.get("slug")]
    context = {
        "ticket": ticket,
        "customer": ticket.customer,
        "message": message,
        "sign_in_url": links.sign_in_url(user=ticket.customer, ticket=ticket),
        "preferences_url": site + reverse("mail:preferences"),
        # The articles the assistant quoted, and the help center, open without signing in.
        "articles": [{"title": c["title"], "url": site + reverse("help:article", args=[c["slug"]])} for c in cited],
        "help_url": site + reverse("help:index"),
    }
    headers = {"Message-ID": f"<{outbound.email_message_id}>"}
    if outbound.in_reply_to:
        headers["In-Reply-To"] = f"<{outbound.in_reply_to}>"
    if outbound.references:
        headers["References"] = " ".join(f"<{i}>" for i in outbound.references.split())
    if outbound.automatic:
        # RFC 3834: an automatic reply, which no auto-responder should answer; Exchange honours the second.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    email = EmailMultiAlternatives(
        subject=outbound.subject,
        body=render_to_string(f"{TEMPLATE}#text", context),
        from_email=addresses.support_from(),
        to=[outbound.to_address],
        reply_to=[addresses.reply_address(ticket)],
        headers=headers,
    )
    email.attach_alternative(render_to_string(f"{TEMPLATE}#html", context), "text/html")
    return email


def _backoff(attempts: int) -> float:
    return min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_MAX) * random.uniform(0.9, 1.1)


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, ValueError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500 and exc.smtp_code != 552


def outbound_send(*, outbound_id: int) -> str:
    """Send one queued mail. The claim is a conditional UPDATE (two deliveries send once); a
    transient failure is retried with backoff up to MAIL_SEND_MAX_ATTEMPTS, a permanent one (5xx)
    fails at once; either is shown to staff under the message."""
    now = timezone.now()
    claimed = (
        OutboundMail.objects.filter(pk=outbound_id, status=OutboundMail.Status.QUEUED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(status=OutboundMail.Status.SENDING, lease_until=now + SEND_LEASE)
    )
    if claimed != 1:
        return "not claimed"
    outbound = OutboundMail.objects.get(pk=outbound_id)
    if Message.objects.filter(pk=outbound.message_id, redacted_at__isnull=False).exists():
        # Removed by staff before it went out: it is never sent.
        outbound.status, outbound.lease_until = OutboundMail.Status.SUPPRESSED, None
        outbound.last_error = "The message was removed before it was sent."
        outbound.save(update_fields=["status", "lease_until", "last_error"])
        return "removed"
    outbound.attempts += 1
    try:
        build_email(outbound).send(using="default")
    except (smtplib.SMTPException, OSError, ValueError) as exc:  # ValueError: a header Django refuses
        outbound.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        if _permanent(exc) or outbound.attempts >= settings.MAIL_SEND_MAX_ATTEMPTS:
            outbound.status = OutboundMail.Status.FAILED
            delay = None
        else:
            outbound.status = OutboundMail.Status.QUEUED
            delay = _backoff(outbound.attempts)
            outbound.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        outbound.lease_until = None
        outbound.save(update_fields=["status", "attempts", "last_error", "next_attempt_at", "lease_until"])
        mirror_delivery(outbound)
        if delay is not None:
            jobs.enqueue("send_outbound", outbound.pk, countdown=delay)
        logger.warning("mail %s to %s: %s", outbound.pk, outbound.to_address, outbound.last_error)
        return "retry" if delay is not None else "failed"
    outbound.status, outbound.sent_at, outbound.lease_until, outbound.last_error = (
        OutboundMail.Status.SENT,
        timezone.now(),
        None,
        "",
    )
    outbound.save(update_fields=["status", "attempts", "sent_at", "lease_until", "last_error"])
    mirror_delivery(outbound)
    return "sent"


def outbound_retry(*, outbound: OutboundMail) -> bool:
    """Staff: send a failed mail again."""
    updated = OutboundMail.objects.filter(pk=outbound.pk, status=OutboundMail.Status.FAILED).update(
        status=OutboundMail.Status.QUEUED, attempts=0, next_attempt_at=timezone.now()
    )
    if updated:
        transaction.on_commit(partial(jobs.enqueue, "send_outbound", outbound.pk))
    return bool(updated)


def outbound_sweep(*, grace: float = 30.0) -> int:
    """Send again what a lost task or a dead worker left: queued mail that is overdue, and mail
    whose sender's lease ran out."""
    now = timezone.now()
    overdue = Q(status=OutboundMail.Status.QUEUED, next_attempt_at__lt=now - timedelta(seconds=grace))
    stuck = Q(status=OutboundMail.Status.SENDING, lease_until__lt=now)
    ids = list(OutboundMail.objects.filter(overdue | stuck).values_list("pk", flat=True)[:500])
    if ids:
        OutboundMail.objects.filter(pk__in=ids, status=OutboundMail.Status.SENDING).update(
            status=OutboundMail.Status.QUEUED
        )
        OutboundMail.objects.filter(pk__in=ids).update(next_attempt_at=now)
        for pk in ids:
            jobs.enqueue("send_outbound", pk)
    return len(ids)
