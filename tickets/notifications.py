"""Email notifications. Each takes ids, reads committed rows, and sends with Django's email.

A customer is only ever emailed a message that passes Message.objects.public(): internal notes
and drafts cannot reach an inbox.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from assistants.models import Message
from config import parsing
from tickets.models import Ticket

logger = logging.getLogger(__name__)
User = get_user_model()


def _send(subject: str, body: str, recipients: list[str]) -> None:
    recipients = [r for r in recipients if r]
    if not recipients:
        return
    subject = parsing.one_line(subject)  # a subject stored before CR/LF were normalised away
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - a mail server outage must not undo the reply
        logger.error("could not send %r to %s: %s: %s", subject, recipients, type(exc).__name__, exc, exc_info=True)


def _link(name: str, ticket: Ticket) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[ticket.pk])


def reply_published(message_id: int) -> None:
    message = Message.objects.public().filter(pk=message_id, role=Message.Role.ASSISTANT).first()
    if message is None:
        return
    ticket = Ticket.objects.select_related("customer").filter(thread_id=message.thread_id).first()
    if ticket is None:
        return
    site = settings.SITE_URL.rstrip("/")
    articles = [c for c in (message.metadata or {}).get("citations", []) if c.get("slug")]
    cited = "".join(f"- {c['title']}: {site}{reverse('help:article', args=[c['slug']])}\n" for c in articles)
    body = (
        f"Hello {ticket.customer.get_short_name() or ticket.customer.email},\n\n"
        f"There is a new reply on your ticket {ticket.reference} ({ticket.subject}):\n\n"
        f"{message.body}\n\n"
        + (f"From our help center:\n{cited}\n" if cited else "")
        + f"Reply or follow the ticket here: {_link('portal:ticket', ticket)}\n"
        f"Help center: {site}{reverse('help:index')}\n"
    )
    _send(f"[{ticket.reference}] New reply: {ticket.subject}", body, [ticket.customer.email])


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
