"""Which ticket an inbound mail belongs to, in one order: the signed reply address, then
In-Reply-To/References against the Message-IDs we sent and received, then the subject tag, and
the subject tag only when the sender is the ticket's customer."""

from __future__ import annotations

from dataclasses import dataclass

from mail import addresses
from mail.models import InboundMail, OutboundMail
from mail.parsing import ParsedMail
from tickets.models import Ticket

TOKEN, HEADERS, SUBJECT = "token", "headers", "subject"


@dataclass(frozen=True)
class Match:
    ticket: Ticket | None
    how: str = ""  # TOKEN, HEADERS or SUBJECT
    sender: str = ""

    @property
    def sender_is_customer(self) -> bool:
        return self.ticket is not None and self.sender == self.ticket.customer.email.lower()


def _ticket(pk: int | None) -> Ticket | None:
    if pk is None:
        return None
    return Ticket.objects.select_related("customer", "thread").filter(pk=pk).first()


def find_ticket(parsed: ParsedMail) -> Match:
    sender = parsed.from_address
    ticket = _ticket(addresses.ticket_id_from_addresses(parsed.recipients))
    if ticket is not None:
        return Match(ticket, TOKEN, sender)
    ids = parsed.thread_ids
    if ids:
        sent = dict(OutboundMail.objects.filter(email_message_id__in=ids).values_list("email_message_id", "ticket_id"))
        received = dict(
            InboundMail.objects.filter(message_key__in=ids, ticket__isnull=False).values_list(
                "message_key", "ticket_id"
            )
        )
        for message_id in ids:  # the nearest ancestor wins
            ticket_id = sent.get(message_id) or received.get(message_id)
            if ticket_id:
                return Match(_ticket(ticket_id), HEADERS, sender)
    ticket = _ticket(addresses.ticket_id_from_subject(parsed.subject))
    if ticket is not None and ticket.customer.email.lower() == sender:
        return Match(ticket, SUBJECT, sender)
    return Match(None, "", sender)
