"""Reads of tickets' conversations for outside clients (the REST API): threads, messages, files and
runs, in keyset pages either way. Visibility is the portal's, asked the same way: tickets through
Ticket.objects.visible_to(user), and a customer's messages through Message.objects.public().

The page reads every client polls (threads, messages) answer plain rows (`.values()` of exactly the
columns the API shows) and their SQL is compiled once per shape (config.prepared): building model
instances and compiling the SQL were most of their cost.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from assistants.models import Attachment, Message, Run
from config import prepared
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


def _kind(user) -> str:
    """What changes the SQL of a user's reads (visible_to's branches)."""
    if not user.is_authenticated:
        return "anonymous"
    return "staff" if user.is_staff else "customer"


def _tickets_as(user, user_id: int | None) -> QuerySet:
    """tickets_for(user), asked for a user of this id: a prepared read is compiled once per kind of
    user with a stand-in id, and the real id is put in its place on every call (`_user_values`)."""
    if user_id is None:
        return tickets_for(user)
    stand_in = copy.copy(user)
    stand_in.pk = user_id
    return tickets_for(stand_in)


def _user_values(user) -> dict:
    """The user's part of a prepared read's values: only a customer's reads name the user."""
    return {"user_id": user.pk} if _kind(user) == "customer" else {}


def _keyset(qs: QuerySet, *, column: str, limit: int, order: str, after=None, before=None) -> QuerySet:
    """`limit` + 1 rows of qs in `order` of `column` (unique), after or before a cursor position (a
    value of `column`, or a subquery giving it). Rows read `before` come nearest the cursor first:
    the caller reverses them (`_page`)."""
    desc = order == "desc"
    if before is not None:
        qs = qs.filter(**{f"{column}__{'gt' if desc else 'lt'}": before})
        return qs.order_by(column if desc else f"-{column}")[: limit + 1]
    if after is not None:
        qs = qs.filter(**{f"{column}__{'lt' if desc else 'gt'}": after})
    return qs.order_by(f"-{column}" if desc else column)[: limit + 1]


def _page(rows: list, *, limit: int, before: bool) -> Page:
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before:
        rows.reverse()
    return Page(rows, has_more)


def _cursor(after, before) -> tuple[str, dict]:
    """The cursor's part of a prepared read's shape, and its value."""
    if before is not None:
        return "before", {"cursor_id": before}
    if after is not None:
        return "after", {"cursor_id": after}
    return "none", {}


# --- threads -----------------------------------------------------------------------------------

# What a thread's JSON shows, and nothing else (not the engine's remote state, history, usage).
THREAD_COLUMNS = (
    "id", "thread_id", "created_at", "subject", "status", "ai_mode", "customer_id", "customer__email",
    "escalated", "feedback_rating", "language_preference", "user_is_premium", "conversation_topic",
    "thread__ai_state", "thread__state", "thread__custom_metadata",
)  # fmt: skip


def thread_visible(user, thread_id: int) -> bool:
    """Whether `user` may see this thread's ticket (one indexed read, compiled once)."""
    return bool(
        prepared.rows(
            ("thread-visible", _kind(user)),
            lambda thread_id, user_id=None: (
                _tickets_as(user, user_id).filter(thread_id=thread_id).values("thread_id")[:1]
            ),
            thread_id=thread_id,
            **_user_values(user),
        )
    )


def thread_row(user, thread_id: int) -> dict | None:
    """One thread's THREAD_COLUMNS, if `user` may see it."""
    return tickets_for(user).filter(thread_id=thread_id).values(*THREAD_COLUMNS).first()


def with_attachments(messages: list[Message], files: QuerySet | None = None) -> list[Message]:
    """Each message's attachments as `files` (a list), read in one query, and only when a message of
    the page has any (`has_files`, from the page's own query). Cheaper than prefetch_related, which
    builds a manager and a queryset for every message. `files`: the attachments' queryset (the
    columns a caller shows). The staff and portal pages use it; the API's rows use with_files."""
    wanted = [m.pk for m in messages if getattr(m, "has_files", True)]
    by_message: dict[int, list[Attachment]] = {}
    if wanted:
        files = Attachment.objects.only(*ATTACHMENT_COLUMNS) if files is None else files
        rows = files.filter(message_id__in=wanted).order_by("pk")
        for attachment in rows:
            by_message.setdefault(attachment.message_id, []).append(attachment)
    for m in messages:
        m.files = by_message.get(m.pk, [])
    return messages


def thread_page(user, *, limit: int, order: str = "desc", after: int | None = None, before: int | None = None) -> Page:
    """The user's tickets by thread id (rows of THREAD_COLUMNS), newest first by default (thread ids
    grow with creation). One query."""
    cursor, values = _cursor(after, before)

    def build(user_id=None, cursor_id=None):
        qs = _tickets_as(user, user_id).values(*THREAD_COLUMNS)
        return _keyset(
            qs,
            column="thread_id",
            limit=limit,
            order=order,
            after=cursor_id if after is not None else None,
            before=cursor_id if before is not None else None,
        )

    rows = prepared.rows(("thread-page", _kind(user), order, cursor, limit), build, **_user_values(user), **values)
    return _page(rows, limit=limit, before=before is not None)


# --- messages ----------------------------------------------------------------------------------

# What a message's JSON needs: the desk's own metadata (reply outcomes, candidates, edits) is not
# read, only the client's part of it.
MESSAGE_COLUMNS = (
    "id", "thread_id", "role", "body", "visibility", "draft_state", "run_id", "author_id", "created_at",
    "redacted_at", "redacted_by__username", "redacted_by__first_name", "redacted_by__last_name",
    "client_metadata", "has_files",
)  # fmt: skip
ATTACHMENT_COLUMNS = ("id", "message_id", "filename", "content_type", "size", "created_at", "redacted_at")


def _visible_in(thread_id, user) -> QuerySet:
    """Staff see the whole thread; a customer its public messages (the portal's rule)."""
    qs = Message.objects.filter(thread_id=thread_id)
    return qs if user.is_staff else qs.public()


def messages_visible(ticket: Ticket, user) -> QuerySet:
    return _visible_in(ticket.thread_id, user)


def _as_rows(qs: QuerySet) -> QuerySet:
    return qs.annotate(
        client_metadata=F("metadata__client"), has_files=Exists(Attachment.objects.filter(message=OuterRef("pk")))
    ).values(*MESSAGE_COLUMNS)


def with_files(rows: list[dict]) -> list[dict]:
    """Each message row's attachments as `files` (rows of ATTACHMENT_COLUMNS), read in one query and
    only when a message of the page has any (`has_files`, from the page's own query)."""
    wanted = [m["id"] for m in rows if m["has_files"]]
    by_message: dict[int, list[dict]] = {}
    if wanted:
        for attachment in Attachment.objects.filter(message_id__in=wanted).order_by("pk").values(*ATTACHMENT_COLUMNS):
            by_message.setdefault(attachment["message_id"], []).append(attachment)
    for m in rows:
        m["files"] = by_message.get(m["id"], [])
    return rows


def message_page(
    thread_id: int, user, *, limit: int, order: str = "desc", after: int | None = None, before: int | None = None
) -> Page:
    """Message rows (MESSAGE_COLUMNS, and `files`) in seq order, newest first by default; cursors
    are message ids, resolved to their seq inside the same query. An id that is not a visible
    message of this thread is BadCursor (checked only when the page comes back empty, so a good
    cursor costs nothing). The caller has checked that `user` may see the thread."""
    cursor, values = _cursor(after, before)

    def build(thread_id, cursor_id=None):
        visible = _visible_in(thread_id, user)
        seq = Subquery(visible.filter(pk=cursor_id).values("seq")[:1]) if cursor_id is not None else None
        return _keyset(
            _as_rows(visible),
            column="seq",
            limit=limit,
            order=order,
            after=seq if after is not None else None,
            before=seq if before is not None else None,
        )

    rows = prepared.rows(("message-page", user.is_staff, order, cursor, limit), build, thread_id=thread_id, **values)
    page = _page(rows, limit=limit, before=before is not None)
    if cursor != "none" and not page.rows and not _visible_in(thread_id, user).filter(pk=values["cursor_id"]).exists():
        raise BadCursor(values["cursor_id"])
    with_files(page.rows)
    return page


def message_get(ticket: Ticket, user, message_id: int) -> Message | None:
    """The message itself (for the services that change it), if `user` may see it."""
    return messages_visible(ticket, user).filter(pk=message_id).first()


def message_row(ticket: Ticket, user, message_id: int) -> dict | None:
    """One message's row, as the pages give them."""
    row = _as_rows(messages_visible(ticket, user).filter(pk=message_id)).first()
    return with_files([row])[0] if row is not None else None


def attachments_of(message: Message) -> list[dict]:
    return list(message.attachments.order_by("pk").values(*ATTACHMENT_COLUMNS))


def attachment_get(user, attachment_id: int) -> Attachment | None:
    """A file, if its message is one `user` may see on a ticket `user` may see."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        return None
    ticket = tickets_for(user).filter(thread_id=attachment.message.thread_id).first()
    if ticket is None or not messages_visible(ticket, user).filter(pk=attachment.message_id).exists():
        return None
    return attachment


# --- runs --------------------------------------------------------------------------------------

RUN_FIELDS_LEFT_OUT = ("provider_state", "remote_response_ids", "tool_calls")


def run_page(
    ticket: Ticket, *, limit: int, order: str = "desc", after: int | None = None, before: int | None = None
) -> Page:
    qs = Run.objects.filter(thread_id=ticket.thread_id).defer(*RUN_FIELDS_LEFT_OUT)
    rows = list(_keyset(qs, column="pk", limit=limit, order=order, after=after, before=before))
    return _page(rows, limit=limit, before=before is not None)


def run_get(ticket: Ticket, run_id: int) -> Run | None:
    return Run.objects.filter(thread_id=ticket.thread_id, pk=run_id).defer(*RUN_FIELDS_LEFT_OUT).first()
