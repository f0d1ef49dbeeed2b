"""Rows -> the API's JSON objects (plain dicts, so an idempotent answer can be stored).

Threads, messages and files are shaped from the plain rows the selectors read (tickets.conversations:
`.values()` of exactly the columns shown), never from model instances; runs from their instances."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth import get_user_model

from assistants.metadata import MetadataError
from assistants.models import Message, Run, redaction_notice
from config import parsing
from tickets import services
from tickets.models import reference_of

User = get_user_model()

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


class _TicketRow:
    """A thread row (conversations.THREAD_COLUMNS) read as the ticket services.ticket_metadata asks
    about, so the metadata rule stays in one place and no model instance is built per row."""

    __slots__ = ("pk", "reference", "customer_id", "escalated", "feedback_rating", "language_preference",
                 "user_is_premium", "conversation_topic", "thread")  # fmt: skip

    def __init__(self, row: dict):
        self.pk = row["id"]
        self.reference = reference_of(row["id"])
        self.customer_id = row["customer_id"]
        self.escalated = row["escalated"]
        self.feedback_rating = row["feedback_rating"]
        self.language_preference = row["language_preference"]
        self.user_is_premium = row["user_is_premium"]
        self.conversation_topic = row["conversation_topic"]
        self.thread = SimpleNamespace(custom_metadata=row["thread__custom_metadata"] or {})


def thread(row: dict) -> dict:
    """A thread's JSON from its row (conversations.thread_row / thread_page)."""
    ticket = _TicketRow(row)
    try:
        metadata = services.ticket_metadata(ticket)
    except MetadataError:  # custom keys that no longer fit: the typed ones are authoritative
        metadata = services.ticket_metadata(ticket, include_custom=False)
    rating = row["feedback_rating"]
    return {
        "id": f"thread_{row['thread_id']}",
        "object": "thread",
        "created_at": int(row["created_at"].timestamp()),
        "ticket": ticket.reference,
        "subject": row["subject"],
        "status": row["status"],
        "ai_mode": row["ai_mode"],
        "ai_state": row["thread__ai_state"],
        "state": row["thread__state"],
        "customer_email": row["customer__email"],
        "flags": {
            "escalated": row["escalated"],
            "feedback_rating": str(rating) if rating is not None else None,
            "language_preference": row["language_preference"],
            "user_is_premium": row["user_is_premium"],
            "conversation_topic": row["conversation_topic"],
        },
        "metadata": metadata,
    }


def file(row: dict) -> dict:
    """A file's JSON from its row (conversations.ATTACHMENT_COLUMNS)."""
    file_id = f"file_{row['id']}"
    return {
        "id": file_id,
        "object": "thread.message.file",
        "created_at": int(row["created_at"].timestamp()),
        "message_id": f"msg_{row['message_id']}",
        "filename": row["filename"],
        "bytes": row["size"],
        "content_type": row["content_type"],
        "download_url": f"/api/v1/files/{file_id}/content",
        "redacted": row["redacted_at"] is not None,
    }


_ROLE_USER, _INTERNAL = Message.Role.USER.value, Message.Visibility.INTERNAL.value


def _author_type(row: dict) -> str:
    if row["role"] == _ROLE_USER:
        return "customer"
    if row["run_id"] is not None:
        return "assistant"
    return "staff" if row["author_id"] is not None else "system"


def _redaction_notice(row: dict) -> str:
    by = None
    if row["redacted_by__username"] is not None:
        by = User(
            username=row["redacted_by__username"],
            first_name=row["redacted_by__first_name"],
            last_name=row["redacted_by__last_name"],
        )
    return redaction_notice(by, row["redacted_at"], "message")


def message(row: dict) -> dict:
    """A message's JSON from its row (conversations.MESSAGE_COLUMNS, with `files`)."""
    redacted = row["redacted_at"] is not None
    client = row["client_metadata"]
    run_id = row["run_id"]
    return {
        "id": f"msg_{row['id']}",
        "object": "thread.message",
        "created_at": int(row["created_at"].timestamp()),
        "thread_id": f"thread_{row['thread_id']}",
        "role": row["role"],
        "author_type": _author_type(row),
        "internal": row["visibility"] == _INTERNAL,
        "draft_state": row["draft_state"],
        "status": "completed",
        "content": [
            {"type": "text", "text": {"value": _redaction_notice(row) if redacted else row["body"], "annotations": []}}
        ],
        "redacted": redacted,
        "attachments": [file(a) for a in row["files"]],
        "run_id": f"run_{run_id}" if run_id else None,
        "metadata": {k: v for k, v in client.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(client, dict)
        else {},
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
