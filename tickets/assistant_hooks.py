"""What tickets tells the assistant engine: the policy for a thread, the tools, the signals.

Registered in TicketsConfig.ready(); assistants never imports tickets.
"""

from __future__ import annotations

from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.dispatch import receiver

from assistants import knowledge, tools
from assistants.metadata import MetadataError
from assistants.models import Message
from assistants.policy import ThreadPolicy
from assistants.signals import reply_created, run_failed
from tickets import notifications, services
from tickets.models import Ticket


def policy_for_thread(thread) -> ThreadPolicy:
    ticket = Ticket.objects.select_related("thread").filter(thread=thread).first()
    if ticket is None:
        return ThreadPolicy()
    if ticket.ai_mode == Ticket.AIMode.OFF:
        mode, reason = "off", "AI mode is off for this ticket."
    elif ticket.escalated:
        mode, reason = "draft", f"Escalated to a person ({ticket.escalation_reason}): replies wait for approval."
    elif ticket.ai_mode == Ticket.AIMode.DRAFT:
        mode, reason = "draft", "AI mode is draft: a person approves replies."
    else:
        mode, reason = "auto", ""
    context = [f"Ticket {ticket.reference}: {ticket.subject}"]
    if ticket.language_preference:
        context.append(f"The customer prefers the language '{ticket.language_preference}'.")
    if ticket.user_is_premium:
        context.append("The customer has a premium plan.")
    metadata, metadata_error = _metadata(ticket)
    return ThreadPolicy(
        reply_mode=mode,
        reason=reason,
        instructions="\n".join(context),
        metadata=metadata,
        metadata_error=metadata_error,
        safety_identifier=services.safety_identifier(ticket.customer_id),
        owner_label=ticket.reference,
    )


def _metadata(ticket: Ticket) -> tuple[dict[str, str], str]:
    """The mirror, and why it does not fit if custom keys (edited outside the admin's form) break the
    limits: runs go on with the typed flags only, and the metadata push refuses with the reason."""
    try:
        return services.ticket_metadata(ticket), ""
    except MetadataError as exc:
        return services.ticket_metadata(ticket, include_custom=False), str(exc)


def _ticket_of(run) -> Ticket:
    # The run's own thread is the only scope a tool has.
    return Ticket.objects.select_related("assignee").get(thread_id=run.thread_id)


@tools.register("ticket_status", "The status, priority and assignee of the customer's ticket.", {})
def ticket_status(run) -> dict:
    ticket = _ticket_of(run)
    return {
        "reference": ticket.reference,
        "status": ticket.get_status_display().lower(),
        "priority": ticket.get_priority_display().lower(),
        "assignee": ticket.assignee.get_short_name() if ticket.assignee else "",
        "escalated": ticket.escalated,
        "opened": ticket.created_at.date().isoformat(),
    }


@tools.register(
    "search_knowledge_base",
    "Search the help-center articles. Returns the best matches with their ids, titles and text.",
    {"query": {"type": "string", "description": "What to look for, in a few words."}},
)
def search_knowledge_base(run, query: str) -> dict:
    hits = knowledge.search(query, limit=3)
    return {"articles": [{"id": h.article_id, "title": h.title, "body": h.body, "score": h.score} for h in hits]}


@tools.register(
    "escalate_to_human",
    "Hand this ticket to a person on the support team. Use when the customer asks for a person, "
    "is upset or threatening, or when you cannot help.",
    {"reason": {"type": "string", "description": "Why a person should take over, in one sentence."}},
)
def escalate_to_human(run, reason: str) -> dict:
    ticket = services.ticket_escalate(ticket=_ticket_of(run), reason=reason or "Asked by the assistant.", run=run)
    return {"escalated": ticket.escalated, "message": "A person on the support team will take over."}


@receiver(reply_created)
def _on_reply(sender, message: Message, run, published: bool, **kwargs) -> None:
    changes = {"updated_at": message.created_at}
    if published:  # a draft's text stays out of the preview until a person approves it
        changes["last_message_preview"] = message.body[:140]
        changes["first_response_at"] = Coalesce("first_response_at", Value(message.published_at))
        changes["status"] = Case(When(status=Ticket.Status.NEW, then=Value(Ticket.Status.OPEN)), default=F("status"))
    Ticket.objects.filter(thread_id=message.thread_id).update(**changes)
    # The customer's email (if any) is the email channel's: mail.receivers listens to reply_created.


@receiver(run_failed)
def _on_run_failed(sender, run, **kwargs) -> None:
    if run.needs_staff:
        notifications.run_needs_staff(run.pk)
