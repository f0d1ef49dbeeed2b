"""What each row of the staff inbox shows, decided once in Python (as message_cards does for the
ticket page): the labels of its choices, the names, the link and the times. The template prints
`t.row`; the row's choices through get_FOO_display and its times through the date and timesince
filters cost more than the rest of the page's rendering."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.timesince import timesince

from assistants.models import Thread
from tickets.models import Ticket
from tickets.selectors import InboxTicket

STATUS_LABELS = dict(Ticket.Status.choices)
PRIORITY_LABELS = dict(Ticket.Priority.choices)
AI_STATE_LABELS = dict(Thread.AIState.choices)


@dataclass(frozen=True, slots=True)
class InboxRow:
    url: str
    status_label: str
    priority_label: str
    ai_state: str  # "" while the assistant is idle (nothing to show)
    ai_label: str
    customer: str
    assignee: str  # "" when nobody
    updated_iso: str
    updated_title: str
    updated_ago: str


def rows(tickets: list[InboxTicket]) -> list[InboxTicket]:
    """Attach an InboxRow to each ticket (`t.row`)."""
    now = timezone.now()
    for t in tickets:
        ai_state = t.ai_state if t.ai_state != Thread.AIState.IDLE else ""
        updated = timezone.localtime(t.updated_at)
        t.row = InboxRow(
            url=reverse("staff:ticket", args=[t.pk]),
            status_label=STATUS_LABELS.get(t.status, t.status),
            priority_label=PRIORITY_LABELS.get(t.priority, str(t.priority)),
            ai_state=ai_state,
            ai_label=AI_STATE_LABELS.get(ai_state, ai_state),
            customer=t.customer,
            assignee=t.assignee,
            updated_iso=updated.isoformat(),
            updated_title=f"{updated.day} {MONTHS_3[updated.month].title()} {updated.year} {updated:%H:%M}",
            updated_ago=timesince(t.updated_at, now),
        )
    return tickets
