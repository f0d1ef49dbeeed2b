"""Staff notifications, and the signal that a person published a reply.

Each function takes ids and reads committed rows. Staff mail is sent by a Celery task with
retries (tickets.tasks.send_staff_mail), never inside the caller's step: an SMTP outage must not
slow or undo a run. Customers' mail is the email channel's (mail/): it listens to
tickets.signals.reply_published and to the engine's reply_created, and only ever emails a message
that passes Message.objects.public(), so internal notes and drafts cannot reach an inbox.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from assistants.models import Message
from config import parsing
from tickets.models import Ticket
from tickets.signals import reply_published as reply_published_signal

logger = logging.getLogger(__name__)
User = get_user_model()


def _send(subject: str, body: str, recipients: list[str]) -> None:
    recipients = [r for r in recipients if r]
    if not recipients:
        return
    _queue(parsing.one_line(subject), body, recipients)  # a subject stored before CR/LF were normalised away


def staff_mail(*, subject: str, body: str, recipients: list[str]) -> None:
    """A mail to staff, sent by the staff-mail task (for other apps: webhooks tell the leads)."""
    _send(subject, body, recipients)


def _queue(subject: str, body: str, recipients: list[str]) -> None:
    from tickets import tasks

    try:
        tasks.send_staff_mail.delay(subject, body, recipients)
    except Exception:  # noqa: BLE001 - a broker outage must not undo the action that notifies
        logger.exception("broker unavailable: staff mail %r to %s not queued", subject, recipients)


def _link(name: str, ticket: Ticket) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[ticket.pk])


def reply_published(message_id: int) -> None:
    """A person published a reply (a staff reply, an approved draft): tell the channels."""
    if Message.objects.public().filter(pk=message_id, role=Message.Role.ASSISTANT).exists():
        reply_published_signal.send(sender=Ticket, message_id=message_id)


def _staff_recipients(ticket: Ticket) -> list[str]:
    if ticket.assignee_id:
        return [ticket.assignee.email]
    return list(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))


def escalated(ticket_id: int) -> None:
    ticket = Ticket.objects.select_related("assignee").get(pk=ticket_id)
    body = (
        f"Ticket {ticket.reference} ({ticket.subject}) needs a person.\n\n"
        f"Reason: {ticket.escalation_reason}\n\nOpen it: {_link('staff:ticket', ticket)}\n"
    )
    _send(f"[{ticket.reference}] Escalated: {ticket.subject}", body, _staff_recipients(ticket))


def handed_off(ticket_id: int, reason: str) -> None:
    """The assistant handed the customer's turn to a person."""
    ticket = Ticket.objects.select_related("assignee").filter(pk=ticket_id).first()
    if ticket is None:
        return
    body = (
        f"The assistant could not answer ticket {ticket.reference} ({ticket.subject}): {reason}\n\n"
        f"The customer was told that a person will reply. Open it: {_link('staff:ticket', ticket)}\n"
    )
    _send(f"[{ticket.reference}] Needs a person: {ticket.subject}", body, _staff_recipients(ticket))
