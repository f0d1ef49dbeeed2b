"""What tickets tells the assistant engine: the policy for a thread, the tools, the signals.

Registered in TicketsConfig.ready(); assistants never imports tickets.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.urls import reverse

from assistants import knowledge, tools
from assistants.knowledge import confidence
from assistants.metadata import MetadataError
from assistants.models import Message
from assistants.policy import ThreadPolicy
from assistants.signals import message_redacted, reply_created, run_ended, run_handed_off
from tickets import events, notifications, services
from tickets.models import Ticket

TOOL_INSTRUCTIONS = (
    "Use search_knowledge_base for product questions and cite only the articles it returns. Use "
    "ticket_status for questions about this ticket. Call escalate_to_human when the customer asks for a "
    "person, is upset or threatening, or when you cannot help."
)
# What the customer reads when the assistant hands their turn to a person (by the ticket's language).
HANDOFF_NOTICES = {
    "en": "Our assistant could not answer this automatically, so a member of our support team will reply "
    "here as soon as possible.",
    "de": "Unser Assistent konnte das nicht automatisch beantworten. Ein Mitglied unseres Support-Teams "
    "antwortet Ihnen hier so bald wie möglich.",
    "fr": "Notre assistant n'a pas pu répondre automatiquement : un membre de notre équipe d'assistance vous "
    "répondra ici dès que possible.",
    "es": "Nuestro asistente no pudo responder automáticamente, así que un miembro de nuestro equipo de "
    "soporte le responderá aquí lo antes posible.",
}


def policy_for_thread(thread) -> ThreadPolicy:
    ticket = Ticket.objects.select_related("thread").filter(thread=thread).first()
    if ticket is None:
        return ThreadPolicy()  # nobody owns the thread: no runs
    if ticket.ai_mode == Ticket.AIMode.OFF:
        mode, reason = "off", "AI mode is off for this ticket."
    elif ticket.escalated:
        mode, reason = "draft", f"Escalated to a person ({ticket.escalation_reason}): replies wait for approval."
    elif ticket.ai_mode == Ticket.AIMode.DRAFT:
        mode, reason = "draft", "AI mode is draft: a person approves replies."
    else:
        mode, reason = "auto", ""
    context = [TOOL_INSTRUCTIONS, f"Ticket {ticket.reference}: {ticket.subject}"]
    if ticket.language_preference:
        context.append(f"The customer prefers the language '{ticket.language_preference}'.")
    if ticket.user_is_premium:
        context.append("The customer has a premium plan.")
    metadata, metadata_error = _metadata(ticket)
    language = (ticket.language_preference or "en").split("-")[0].lower()
    return ThreadPolicy(
        reply_mode=mode,
        owned=True,
        reason=reason,
        instructions="\n".join(context),
        metadata=metadata,
        metadata_error=metadata_error,
        safety_identifier=services.safety_identifier(ticket.customer_id),
        owner_label=ticket.reference,
        handoff_notice=HANDOFF_NOTICES.get(language, HANDOFF_NOTICES["en"]),
        low_confidence=settings.HELPDESK_LOW_CONFIDENCE,
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
    "Search the help-center articles (hybrid: keywords and meaning, any language). Returns the best passage "
    "of each matching article (id, title, text, url), a calibrated confidence that the first one answers "
    "the question, and `confident`. Passages already shown on this ticket are left out. When `confident` "
    "is false, do not answer from these passages: ask one precise question or call escalate_to_human.",
    {
        "query": {"type": "string", "description": "What to look for: the customer's question in their words."},
        "language": {"type": "string", "description": "The customer's language (en, de, fr, es), or empty."},
    },
)
def search_knowledge_base(run, query: str, language: str = "") -> dict:
    shown = knowledge.shown_on_thread(run.thread_id)
    result = knowledge.search(query, language=language, limit=3, exclude=shown)
    site = settings.SITE_URL.rstrip("/")
    repeated = {}
    if shown:
        # Would the best answer be one the customer has already been shown? Then say so.
        unfiltered = knowledge.search(query, language=language, limit=1)
        if unfiltered.confident and unfiltered.hits[0].passage in shown:
            repeated = {"id": unfiltered.hits[0].article_id, "title": unfiltered.hits[0].title}
    return {
        "already_shown": repeated,
        "confidence": round(result.confidence, 3),
        "confident": result.confident,
        "threshold": confidence.threshold(result.mode),
        "mode": result.mode,
        "articles": [{**h.as_dict(), "url": site + reverse("help:article", args=[h.slug])} for h in result.hits],
    }


@tools.register(
    "close_ticket",
    "Mark the customer's ticket as solved. Only after the customer confirmed that their problem is solved "
    "and agreed to close it.",
    {},
)
def close_ticket(run) -> dict:
    ticket = services.ticket_resolve_by_assistant(ticket=_ticket_of(run), run=run)
    return {"status": ticket.get_status_display().lower()}


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
def _on_reply(sender, message: Message, run, published: bool, superseded: int | None = None, **kwargs) -> None:
    changes = {"updated_at": message.created_at}
    if published:  # a draft's text stays out of the preview until a person approves it
        changes["last_message_preview"] = message.body[:140]
        changes["first_response_at"] = Coalesce("first_response_at", Value(message.published_at))
    Ticket.objects.filter(thread_id=message.thread_id).update(**changes)
    if published:
        services.reply_opened_ticket(thread_id=message.thread_id, run=run)
    services.assistant_reply_recorded(message=message, published=published, superseded=superseded != 0)
    # The customer's email (if any) is the email channel's: mail.receivers listens to reply_created.


def hand_off(thread, reason: str) -> None:
    """The engine hands a customer's turn to staff (inside its transaction)."""
    ticket = Ticket.objects.filter(thread_id=thread.pk).first()
    if ticket is not None:
        services.ticket_handed_off(ticket=ticket, reason=reason)


@receiver(run_handed_off)
def _on_handed_off(sender, run, notice, reason: str, **kwargs) -> None:
    ticket = Ticket.objects.filter(thread_id=(notice or run).thread_id).first()
    if ticket is None:
        return
    notifications.handed_off(ticket.pk, reason)
    if notice is not None:
        notifications.reply_published(notice.pk)


@receiver(message_redacted, dispatch_uid="tickets.message_redacted")
def _on_message_redacted(sender, message, attachment=None, **kwargs) -> None:
    if attachment is None:
        services.ticket_preview_refresh(thread_id=message.thread_id)


@receiver(run_ended, dispatch_uid="tickets.run_ended")
def _on_run_ended(sender, run, reply=None, **kwargs) -> None:
    events.run_ended(run, reply)
