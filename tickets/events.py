"""The help desk's outgoing webhook events: what each says, emitted through the one helper
(webhooks.events.emit) from the services where the thing happens, inside their transactions."""

from __future__ import annotations

from assistants.models import Message, Run
from tickets.models import Ticket
from webhooks.events import emit, subscribed


def _ticket(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "escalated": ticket.escalated,
        "ai_mode": ticket.ai_mode,
        "customer_id": ticket.customer_id,
    }


def _message(message: Message) -> dict:
    return {
        "id": message.pk,
        "seq": message.seq,
        "role": message.role,
        "visibility": message.visibility,
        "draft": message.is_draft,
        "author_id": message.author_id,
        "content": message.body,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def ticket_created(ticket: Ticket, first_message: Message) -> None:
    emit("ticket.created", {"ticket": _ticket(ticket)}, key=str(ticket.pk))
    message_created(ticket, first_message)


def message_created(ticket: Ticket, message: Message) -> None:
    if message.is_notice:
        return
    # An internal note reaches only the endpoints that opted in (Endpoint.include_internal_notes);
    # every payload says which it is (message.visibility: "public" or "internal").
    emit(
        "message.created",
        {"ticket": _ticket(ticket), "message": _message(message)},
        key=str(message.pk),
        internal=message.is_internal,
    )


def status_changed(ticket: Ticket, old: str, new: str, *, change_id: int) -> None:
    data = {"ticket": {**_ticket(ticket), "status": new}, "previous_status": old}
    emit("ticket.status_changed", data, key=str(change_id))


def escalated(ticket: Ticket, reason: str, *, change_id: int) -> None:
    emit("ticket.escalated", {"ticket": {**_ticket(ticket), "escalated": True}, "reason": reason}, key=str(change_id))


def run_ended(run: Run, reply: Message | None) -> None:
    # Every run's end passes here: with nobody listening, one query and no payload.
    if not subscribed("run.completed", "run.failed", "message.created"):
        return
    ticket = Ticket.objects.filter(thread_id=run.thread_id).first()
    if ticket is None:
        return
    data = {
        "ticket": _ticket(ticket),
        "run": {
            "id": run.pk,
            "status": run.status,
            "trigger": run.trigger,
            "error_code": run.error_code,
            "error_message": run.error_message,
        },
    }
    if run.status == Run.Status.COMPLETED:
        data["run"]["reply_id"] = reply.pk if reply else None
        emit("run.completed", data, key=str(run.pk))
        if reply is not None:
            message_created(ticket, reply)
    else:
        emit("run.failed", data, key=str(run.pk))
