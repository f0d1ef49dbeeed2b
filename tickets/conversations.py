"""Reads of tickets' conversations for outside clients (the REST API): threads, messages, files and
runs, in keyset pages either way. Visibility is the portal's, asked the same way: tickets through
Ticket.objects.visible_to(user), and a customer's messages through Message.objects.public().
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from assistants.models import Attachment, Message, Run
from tickets.models import Ticket

MAX_LIMIT = 100


@dataclass
class Page:
    rows: list
    has_more: bool


class BadCursor(ValueError):
    pass


def tickets_for(user) -> QuerySet:
    return Ticket.objects.visible_to(user)


def ticket_by_thread(user, thread_id: int) -> Ticket | None:
    """The ticket owning this thread, if `user` may see it (one query, with thread and customer)."""
    return tickets_for(user).select_related("thread", "customer").filter(thread_id=thread_id).first()


# What a message's JSON needs: the desk's own metadata (reply outcomes, candidates, edits) is not read,
# only the client's part of it.
MESSAGE_FIELDS = (
    "id", "thread_id", "seq", "role", "body", "visibility", "draft_state", "run_id", "author_id",
    "created_at", "redacted_at", "redacted_by__id", "redacted_by__username", "redacted_by__first_name",
    "redacted_by__last_name",
)  # fmt: skip


def messages_visible(ticket: Ticket, user) -> QuerySet:
    """Staff see the whole thread; a customer its public messages (the portal's rule)."""
    qs = Message.objects.filter(thread_id=ticket.thread_id)
    return qs if user.is_staff else qs.public()


def _for_json(qs: QuerySet) -> QuerySet:
    return (
        qs.select_related("redacted_by")
        .only(*MESSAGE_FIELDS)
        .annotate(
            client_metadata=F("metadata__client"), has_files=Exists(Attachment.objects.filter(message=OuterRef("pk")))
        )
    )


def with_files(messages: list[Message], files: QuerySet | None = None) -> list[Message]:
    """Each message's attachments as `files` (a list), read in one query, and only when a message of
    the page has any (`has_files`, from the page's own query). Cheaper than prefetch_related, which
    builds a manager and a queryset for every message. `files`: the attachments' queryset (the
    columns a caller shows; the API's by default). The staff and portal pages use it too."""
    wanted = [m.pk for m in messages if getattr(m, "has_files", True)]
    by_message: dict[int, list[Attachment]] = {}
    if wanted:
        files = Attachment.objects.only(*ATTACHMENT_FIELDS) if files is None else files
        rows = files.filter(message_id__in=wanted).order_by("pk")
        for attachment in rows:
            by_message.setdefault(attachment.message_id, []).append(attachment)
    for m in messages:
        m.files = by_message.get(m.pk, [])
    return messages


def _page(qs: QuerySet, *, key: str, limit: int, order: str, after=None, before=None) -> Page:
    """`limit` rows of qs in `order` of `key` (unique), after or before a cursor position (a value
    of `key`, or a subquery giving it); before=... answers the rows nearest the cursor, still in
    `order`. One query."""
    desc = order == "desc"
    if before is not None:
        qs = qs.filter(**{f"{key}__{'gt' if desc else 'lt'}": before}).order_by(key if desc else f"-{key}")
        rows = list(qs[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        return Page(rows, has_more)
    if after is not None:
        qs = qs.filter(**{f"{key}__{'lt' if desc else 'gt'}": after})
    rows = list(qs.order_by(f"-{key}" if desc else key)[: limit + 1])
    return Page(rows[:limit], len(rows) > limit)


# What a thread's JSON does not show (the engine's remote state, history, counters and usage).
THREAD_LIST_SKIPS = (
    "feedback_comment", "escalation_reason", "last_message_preview",
    "thread__remote_state", "thread__remote_history", "thread__remote_error", "thread__metadata",
    "thread__attention", "customer__password", "customer__last_login",
)  # fmt: skip


def thread_page(user, *, limit: int, order: str = "desc", after: int | None = None, before: int | None = None) -> Page:
    """The user's tickets by thread id, newest first by default (thread ids grow with creation)."""
    qs = tickets_for(user).select_related("thread", "customer").defer(*THREAD_LIST_SKIPS)
    return _page(qs, key="thread_id", limit=limit, order=order, after=after, before=before)


ATTACHMENT_FIELDS = ("id", "message_id", "filename", "content_type", "size", "created_at", "redacted_at")


def message_page(
    ticket: Ticket, user, *, limit: int, order: str = "desc", after: int | None = None, before: int | None = None
) -> Page:
    """Messages in seq order (newest first by default); cursors are message ids, resolved to their
    seq inside the same query. An id that is not a visible message of this thread is BadCursor
    (checked only when the page comes back empty, so a good cursor costs nothing)."""
    visible = messages_visible(ticket, user)
    cursor_id = before if before is not None else after

    def seq_of(pk):
        return Subquery(visible.filter(pk=pk).values("seq")[:1]) if pk is not None else None

    page = _page(
        _for_json(visible),
        key="seq",
        limit=limit,
        order=order,
        after=seq_of(after),
        before=seq_of(before),
    )
    if cursor_id is not None and not page.rows and not visible.filter(pk=cursor_id).exists():
        raise BadCursor(cursor_id)
    with_files(page.rows)
    return page


def message_get(ticket: Ticket, user, message_id: int) -> Message | None:
    message = _for_json(messages_visible(ticket, user)).filter(pk=message_id).first()
    return with_files([message])[0] if message is not None else None


def attachments_of(message: Message) -> list[Attachment]:
    return list(message.attachments.order_by("pk"))


def attachment_get(user, attachment_id: int) -> Attachment | None:
    """A file, if its message is one `user` may see on a ticket `user` may see."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        return None
    ticket = tickets_for(user).filter(thread_id=attachment.message.thread_id).first()
    if ticket is None or not messages_visible(ticket, user).filter(pk=attachment.message_id).exists():
        return None
    return attachment


RUN_FIELDS_LEFT_OUT = ("provider_state", "remote_response_ids", "tool_calls")


def run_page(
    ticket: Ticket, *, limit: int, order: str = "desc", after: int | None = None, before: int | None = None
) -> Page:
    qs = Run.objects.filter(thread_id=ticket.thread_id).defer(*RUN_FIELDS_LEFT_OUT)
    return _page(qs, key="pk", limit=limit, order=order, after=after, before=before)


def run_get(ticket: Ticket, run_id: int) -> Run | None:
    return Run.objects.filter(thread_id=ticket.thread_id, pk=run_id).defer(*RUN_FIELDS_LEFT_OUT).first()
