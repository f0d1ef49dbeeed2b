"""Canned (saved) replies: who may see and manage them, their placeholders, and their use.

Placeholders are written {{ name }}. Saving a reply with a name not in PLACEHOLDERS is a form
error. When a reply is inserted, each placeholder becomes plain text (it goes into the composer's
textarea, and from there through the usual escaping); a value the ticket does not have (no article
cited yet, a customer without a first name) leaves the placeholder visible, so the agent sees what
to fill in before sending. Nothing else in the text is interpreted: no template language runs.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from assistants.models import Message
from tickets import people
from tickets.models import CannedReply, Ticket

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PLACEHOLDERS = {
    "customer_first_name": "The customer's first name",
    "ticket_reference": "The ticket's reference, e.g. T-42",
    "agent_name": "Your first name (the agent inserting the reply)",
    "last_article": "The help-center article the assistant cited last on the ticket: title and link",
}


# --- placeholders ------------------------------------------------------------------------------


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def validate_placeholders(text: str) -> None:
    unknown = unknown_placeholders(text)
    if unknown:
        known = ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS)
        raise ValidationError(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. Use one of: {known}."
        )


def _last_article(ticket: Ticket) -> str:
    """The last citation of the assistant's published replies on the ticket, as 'Title (link)'."""
    replies = (
        Message.objects.public()
        .filter(thread_id=ticket.thread_id, role=Message.Role.ASSISTANT, run__isnull=False)
        .order_by("-seq")
        .values_list("metadata", flat=True)[:20]
    )
    for metadata in replies:
        for citation in reversed((metadata or {}).get("citations") or []):
            if citation.get("slug") and citation.get("title"):
                url = settings.SITE_URL.rstrip("/") + reverse("help:article", args=[citation["slug"]])
                return f"{citation['title']} ({url})"
    return ""


def placeholder_values(*, ticket: Ticket, staff) -> dict[str, str]:
    return {
        "customer_first_name": ticket.customer.first_name,
        "ticket_reference": ticket.reference,
        "agent_name": staff.first_name or staff.get_full_name(),
        "last_article": _last_article(ticket),
    }


def render(text: str, values: dict[str, str]) -> str:
    """Fill in the placeholders; unknown ones and those without a value stay as written."""

    def fill(match: re.Match) -> str:
        value = values.get(match.group(1))
        return value if value else match.group(0)

    return PLACEHOLDER.sub(fill, text)


# --- reads -----------------------------------------------------------------------------------


def visible_to(user):
    """Shared replies and the user's own."""
    return CannedReply.objects.filter(Q(owner__isnull=True) | Q(owner=user))


def search(user, q: str = "", *, limit: int = 20) -> list[CannedReply]:
    qs = visible_to(user)
    q = q.strip()[:100]
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return list(qs.order_by("-usage_count", "title")[:limit])


def can_manage(user, canned: CannedReply) -> bool:
    """Leads manage shared replies; everyone manages their own."""
    if canned.owner_id is None:
        return people.is_lead(user)
    return canned.owner_id == user.pk


# --- writes ----------------------------------------------------------------------------------


def _check(*, title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise ValidationError("A saved reply needs a title and a text.")
    validate_placeholders(body)
    return title, body


def canned_create(*, by, title: str, body: str, shared: bool = False) -> CannedReply:
    if shared and not people.is_lead(by):
        raise PermissionDenied("Only support leads create shared replies.")
    title, body = _check(title=title, body=body)
    return CannedReply.objects.create(title=title, body=body, owner=None if shared else by, created_by=by)


def canned_update(*, canned: CannedReply, by, title: str, body: str) -> CannedReply:
    if not can_manage(by, canned):
        raise PermissionDenied("You cannot edit this saved reply.")
    canned.title, canned.body = _check(title=title, body=body)
    canned.save(update_fields=["title", "body", "updated_at"])
    return canned


def canned_delete(*, canned: CannedReply, by) -> None:
    if not can_manage(by, canned):
        raise PermissionDenied("You cannot delete this saved reply.")
    canned.delete()


@transaction.atomic
def canned_use(*, canned: CannedReply, ticket: Ticket, staff) -> str:
    """The reply's text for this ticket, and one more use counted."""
    if not visible_to(staff).filter(pk=canned.pk).exists():
        raise PermissionDenied("Not one of your saved replies.")
    CannedReply.objects.filter(pk=canned.pk).update(usage_count=F("usage_count") + 1, last_used_at=timezone.now())
    return render(canned.body, placeholder_values(ticket=ticket, staff=staff))
