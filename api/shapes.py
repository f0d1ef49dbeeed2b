"""Model rows -> the API's JSON objects (plain dicts, so an idempotent answer can be stored)."""

from __future__ import annotations

from assistants.metadata import MetadataError
from assistants.models import Attachment, Message, Run
from config import parsing
from tickets import services
from tickets.models import Ticket

PREFIXES = {"thread": "thread_", "message": "msg_", "run": "run_", "file": "file_"}


def public_id(kind: str, pk: int) -> str:
    return f"{PREFIXES[kind]}{pk}"


def parse_id(kind: str, value) -> int | None:
    """'msg_42' -> 42; anything else (another kind's id, junk, a huge number) -> None."""
    prefix = PREFIXES[kind]
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) > 40:
        return None
    return parsing.object_id(value[len(prefix) :]) if value[len(prefix) :].isascii() else None


def unix(moment) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def thread(ticket: Ticket) -> dict:
    try:
        metadata = services.ticket_metadata(ticket)
    except MetadataError:  # custom keys that no longer fit: the typed ones are authoritative
        metadata = services.ticket_metadata(ticket, include_custom=False)
    t = ticket.thread
    return {
        "id": public_id("thread", ticket.thread_id),
        "object": "thread",
        "created_at": unix(ticket.created_at),
        "ticket": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "ai_mode": ticket.ai_mode,
        "ai_state": t.ai_state,
        "state": t.state,
        "customer_email": ticket.customer.email,
        "flags": {
            "escalated": ticket.escalated,
            "feedback_rating": str(ticket.feedback_rating) if ticket.feedback_rating is not None else None,
            "language_preference": ticket.language_preference,
            "user_is_premium": ticket.user_is_premium,
            "conversation_topic": ticket.conversation_topic,
        },
        "metadata": metadata,
    }


def file(attachment: Attachment, thread_id: int) -> dict:
    return {
        "id": public_id("file", attachment.pk),
        "object": "thread.message.file",
        "created_at": unix(attachment.created_at),
        "message_id": public_id("message", attachment.message_id),
        "filename": attachment.filename,
        "bytes": attachment.size,
        "content_type": attachment.content_type,
        "download_url": f"/api/v1/files/{public_id('file', attachment.pk)}/content",
        "redacted": attachment.is_redacted,
    }


def _author_type(m: Message) -> str:
    if m.role == Message.Role.USER:
        return "customer"
    if m.run_id is not None:
        return "assistant"
    return "staff" if m.author_id is not None else "system"


def message(m: Message) -> dict:
    client = m.client_metadata if hasattr(m, "client_metadata") else (m.metadata or {}).get("client")
    client = client if isinstance(client, dict) else {}
    return {
        "id": public_id("message", m.pk),
        "object": "thread.message",
        "created_at": unix(m.created_at),
        "thread_id": public_id("thread", m.thread_id),
        "role": m.role,
        "author_type": _author_type(m),
        "internal": m.is_internal,
        "draft_state": m.draft_state,
        "status": "completed",
        "content": [
            {"type": "text", "text": {"value": m.redaction_notice if m.is_redacted else m.body, "annotations": []}}
        ],
        "redacted": m.is_redacted,
        "attachments": [file(a, m.thread_id) for a in (m.files if hasattr(m, "files") else m.attachments.all())],
        "run_id": public_id("run", m.run_id) if m.run_id else None,
        "metadata": {k: v for k, v in client.items() if isinstance(k, str) and isinstance(v, str)},
    }


def run(r: Run, *, staff: bool) -> dict:
    failed = r.status in (Run.Status.FAILED, Run.Status.EXPIRED, Run.Status.CANCELLED)
    error = None
    if failed and (r.error_code or r.error_message):
        error = {"code": r.error_code or r.status, "message": r.error_message if staff else "The run did not finish."}
    return {
        "id": public_id("run", r.pk),
        "object": "thread.run",
        "created_at": unix(r.created_at),
        "thread_id": public_id("thread", r.thread_id),
        "status": r.status,
        "trigger": r.trigger,
        "model": r.model,
        "started_at": unix(r.started_at),
        "completed_at": unix(r.finished_at),
        "last_error": error,
        "usage": {
            "input_tokens": r.input_tokens,
            "cached_tokens": r.cached_tokens,
            "output_tokens": r.output_tokens,
            "cost": str(r.cost),
        }
        if staff
        else None,
    }


def page(rows: list, has_more: bool, shape) -> dict:
    data = [shape(row) for row in rows]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
