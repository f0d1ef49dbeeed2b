"""Reads for the staff workspace: the inbox, the ticket page, the live poll and the dashboard.

Every function here is built to stay flat at 100,000 tickets: lists are keyset-paginated both
ways (no OFFSET, no COUNT over the filtered list), the per-filter counts are sums over the few
hundred rows of TicketCount (kept by database triggers) plus an index range count of threads
by AI state, and keyword search uses the GIN full-text indexes on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Avg, Count, Exists, F, FloatField, Func, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from assistants.models import Attachment, Message, Run, Thread
from config import parsing
from tickets import conversations, live, message_cards
from tickets.models import AssistantReply, Deflection, FlagChange, Ticket, TicketCount, reference_of

User = get_user_model()

PAGE_SIZE = 25
MAX_CURSOR_LENGTH = 200  # ours are about 60 characters
MESSAGE_PAGE_SIZE = 30
SEARCH_CONFIG = "english"

# Each sort is a list of (field, descending) pairs; the last pair is always the primary key so
# that the keyset cursor is unique.
SORTS = {
    "updated": [("updated_at", True), ("id", True)],
    "created": [("created_at", True), ("id", True)],
    # Most urgent first; within a priority the ticket waiting longest first. This is also the
    # order in which the (priority, -updated_at) index reads backwards, so no sort is needed.
    "priority": [("priority", True), ("updated_at", False), ("id", False)],
}


@dataclass(frozen=True)
class InboxFilters:
    status: str = "open"  # "open" (every open status), "all", or one Ticket.Status value
    priority: int | None = None
    assignee: str = "anyone"  # "anyone", "me", "none" or a user's pk as a string
    escalated: bool | None = None
    ai_state: str = ""  # "", or a Thread.AIState value
    q: str = ""
    sort: str = "updated"


# What an inbox row reads: the ticket's own columns, its two people's names, its thread's AI state.
INBOX_COLUMNS = (
    "id", "subject", "status", "priority", "escalated", "updated_at", "created_at", "last_message_preview",
    "customer__first_name", "customer__last_name", "customer__email",
    "assignee_id", "assignee__first_name", "assignee__last_name", "assignee__email",
    "thread__ai_state",
)  # fmt: skip


@dataclass(slots=True)
class InboxTicket:
    """One inbox row as read: plain values, not model instances (25 rows of four models each took
    longer to build than PostgreSQL takes to answer the query). inbox_rows adds what it shows (`row`)."""

    id: int
    subject: str
    status: str
    priority: int
    escalated: bool
    updated_at: datetime
    created_at: datetime
    last_message_preview: str
    ai_state: str
    customer: str  # the shown name
    assignee: str  # the shown name, "" when nobody
    live_cursor: int | None = None
    row: object = None

    @classmethod
    def of(cls, v: dict) -> InboxTicket:
        def name(who: str) -> str:
            return message_cards.shown_name(v[f"{who}__first_name"], v[f"{who}__last_name"], v[f"{who}__email"])

        return cls(
            id=v["id"],
            subject=v["subject"],
            status=v["status"],
            priority=v["priority"],
            escalated=v["escalated"],
            updated_at=v["updated_at"],
            created_at=v["created_at"],
            last_message_preview=v["last_message_preview"],
            ai_state=v["thread__ai_state"],
            customer=name("customer"),
            assignee=name("assignee") if v["assignee_id"] is not None else "",
            live_cursor=v.get("live_cursor"),
        )

    @property
    def pk(self) -> int:
        return self.id

    @property
    def reference(self) -> str:
        return reference_of(self.id)


@dataclass
class InboxPage:
    tickets: list[InboxTicket]
    next_cursor: str | None  # the rows after this page start after it (?after=)
    filters: InboxFilters
    prev_cursor: str | None = None  # the rows before this page end before it (?before=); None on the first page


# --- full-text search ------------------------------------------------------------------------
# The query expressions below are the same expressions the GIN indexes are built on (see
# tickets/migrations/0003_search_indexes.py and assistants/migrations/0002_message_search.py),
# which is what lets PostgreSQL use them.


def subject_vector() -> SearchVector:
    return SearchVector("subject", config=SEARCH_CONFIG)


def body_vector() -> SearchVector:
    return SearchVector("body", config=SEARCH_CONFIG)


# "T-6", "t6", "#6": a ticket reference (only that ticket, whatever the status filter says);
# a bare "6" is the reference or text (an order number in a message).
REFERENCE = re.compile(r"^(?:#|t-?)(\d{1,12})$", re.IGNORECASE)
NUMBER = re.compile(r"^\d{1,12}$")


def search_reference(words: str) -> int | None:
    """The ticket number a query names with a reference ("T-6", "#6"), else None."""
    match = REFERENCE.match(words.strip())
    return int(match.group(1)) if match else None


def _customer_match(words: str) -> Q:
    """Customers by the start of their email, first or last name ("carol", "carol@ex", "Carol Di").
    Prefix matches only: PostgreSQL answers them from the UPPER(...) pattern indexes of migration
    0007, whatever the number of customers."""
    match = Q(email__istartswith=words) | Q(first_name__istartswith=words) | Q(last_name__istartswith=words)
    parts = words.split()
    if len(parts) == 2:
        match |= Q(first_name__istartswith=parts[0], last_name__istartswith=parts[1])
    return match


def _search(qs, words: str):
    words = words.strip()[:200]
    if not words:
        return qs
    number = search_reference(words)
    if number is not None:
        return qs.filter(pk=number)
    also = Q(customer_id__in=User.objects.filter(_customer_match(words)).values("pk"))
    if NUMBER.match(words):
        also |= Q(pk=int(words))
    if connection.vendor == "postgresql":
        query = SearchQuery(words, config=SEARCH_CONFIG, search_type="websearch")
        # EXISTS rather than IN: PostgreSQL may then check each ticket it walks in inbox order
        # (cheap when a common word matches most tickets) or hash the GIN matches (rare words).
        by_subject = Exists(Ticket.objects.annotate(sv=subject_vector()).filter(sv=query, pk=OuterRef("pk")))
        by_body = Exists(Message.objects.annotate(sv=body_vector()).filter(sv=query, thread_id=OuterRef("thread_id")))
        return qs.filter(also | by_subject | by_body)
    # SQLite (development): a plain substring match is good enough for a few thousand rows.
    by_body = Message.objects.filter(body__icontains=words).values("thread_id")
    return qs.filter(also | Q(subject__icontains=words) | Q(thread_id__in=by_body))


# --- the inbox -------------------------------------------------------------------------------


def inbox_queryset(filters: InboxFilters, *, user) -> QuerySet:
    qs = Ticket.objects.visible_to(user)
    if search_reference(filters.q) is not None:
        return _search(qs, filters.q)  # a reference names one ticket: the other filters would only hide it
    if filters.status == "open":
        qs = qs.filter(status__in=Ticket.OPEN_STATUSES)
    elif filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.priority is not None:
        qs = qs.filter(priority=filters.priority)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif (assignee_id := parsing.object_id(filters.assignee)) is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if filters.escalated is not None:
        qs = qs.filter(escalated=filters.escalated)
    if filters.ai_state:
        qs = qs.filter(thread__ai_state=filters.ai_state)
    return _search(qs, filters.q)


def _encode_cursor(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> list | None:
    """The keyset position after which the next page starts, or None if the token is not ours."""
    keys = SORTS.get(sort)
    if keys is None or not isinstance(token, str) or len(token) > MAX_CURSOR_LENGTH:
        return None
    try:
        values = parsing.json_loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), max_depth=1)
    except ValueError:  # not base64, not UTF-8, not JSON, or nested (binascii.Error is a ValueError)
        return None
    if not isinstance(values, list) or len(values) != len(keys):
        return None
    out = []
    for (name, _desc), value in zip(keys, values):
        value = parsing.aware_datetime(value) if name.endswith("_at") else value if parsing.is_bigint(value) else None
        if value is None:
            return None
        out.append(value)
    return out


def _beyond(keys, values, *, backwards: bool = False) -> Q:
    """Rows strictly after `values` in the order `keys` (strictly before them if `backwards`):
    (a, b, c) < (x, y, z) spelled out as a < x OR (a = x AND b < y) OR (a = x AND b = y AND c < z),
    and a <= x besides: the OR is only a filter to PostgreSQL, the extra bound is an index
    condition, so the scan starts at the cursor instead of at one end of the index."""
    condition = Q()
    for i, (name, desc) in enumerate(keys):
        step = Q(**{f"{name}__{'lt' if desc != backwards else 'gt'}": values[i]})
        for j in range(i):
            step &= Q(**{keys[j][0]: values[j]})
        condition |= step
    name, desc = keys[0]
    return Q(**{f"{name}__{'lte' if desc != backwards else 'gte'}": values[0]}) & condition


def _keyset(row, keys) -> str:
    return _encode_cursor([getattr(row, name) for name, _ in keys])


def inbox_page(
    filters: InboxFilters, *, user, cursor: list | None = None, before: list | None = None, live_cursor: bool = False
) -> InboxPage:
    """One page of the inbox: 25 rows in one query. `cursor` gives the page after a position;
    `before` the page that ends just before one, read by walking the same index the other way.
    A `before` with fewer than 25 rows left in front of it (rows left the filter meanwhile)
    answers the first page, so that page is never short. With live_cursor, each row also carries
    the change feed's newest id (`live_cursor`), read in the same statement."""
    keys = SORTS[filters.sort]
    qs = inbox_queryset(filters, user=user)
    if before is not None:
        qs = qs.filter(_beyond(keys, before, backwards=True))
    elif cursor is not None:
        qs = qs.filter(_beyond(keys, cursor))
    if live_cursor:
        qs = qs.annotate(live_cursor=live.latest_change_subquery())
    qs = qs.values(*INBOX_COLUMNS, *(("live_cursor",) if live_cursor else ()))
    order = [f"-{name}" if desc else name for name, desc in keys]
    if before is not None:
        reverse = [name[1:] if name.startswith("-") else f"-{name}" for name in order]
        rows = [InboxTicket.of(values) for values in qs.order_by(*reverse)[: PAGE_SIZE + 1]]
        if len(rows) < PAGE_SIZE:
            return inbox_page(filters, user=user, live_cursor=live_cursor)
        more_before = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        rows.reverse()
        return InboxPage(
            tickets=rows,
            next_cursor=_keyset(rows[-1], keys),
            prev_cursor=_keyset(rows[0], keys) if more_before else None,
            filters=filters,
        )
    rows = [InboxTicket.of(values) for values in qs.order_by(*order)[: PAGE_SIZE + 1]]
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = _keyset(rows[-1], keys)
    prev_cursor = _keyset(rows[0], keys) if cursor is not None and rows else None
    return InboxPage(tickets=rows, next_cursor=next_cursor, prev_cursor=prev_cursor, filters=filters)


ATTENTION_STATES = (Thread.AIState.DRAFT_WAITING, Thread.AIState.FAILED, Thread.AIState.RUNNING)


def ticket_counts() -> list[tuple[str, bool, int, int]]:
    """(status, escalated, assignee id or 0, how many tickets): one query over TicketCount, whose
    rows the database keeps exact on every ticket write (tickets/migrations/0004)."""
    return list(TicketCount.objects.filter(n__gt=0).values_list("status", "escalated", "assignee_id", "n"))


def ai_state_counts() -> dict[str, int]:
    """Threads waiting for staff or the assistant, by AI state: an index-only range count on
    the ai_state index (COUNT(*), so no column outside the index is read)."""
    rows = (
        Thread.objects.order_by()
        .filter(ai_state__in=ATTENTION_STATES)
        .values("ai_state")
        .annotate(n=Count("*"))
        .values_list("ai_state", "n")
    )
    return {state: 0 for state in ATTENTION_STATES} | dict(rows)


def inbox_counts(*, user) -> dict[str, int]:
    """How many tickets each filter chip would show, always exact: two small queries, not
    cached (ticket_counts and ai_state_counts). Status, "all" and AI-state counts cover every
    ticket; "mine", "unassigned" and "escalated" count open tickets, as their chips list."""
    counts = {f"status_{value}": 0 for value in Ticket.Status.values}
    counts.update(open=0, all=0, mine=0, unassigned=0, escalated=0)
    for status, escalated, assignee_id, n in ticket_counts():
        counts[f"status_{status}"] = counts.get(f"status_{status}", 0) + n
        counts["all"] += n
        if status in Ticket.OPEN_STATUSES:
            counts["open"] += n
            counts["mine"] += n if assignee_id == user.pk else 0
            counts["unassigned"] += n if assignee_id == 0 else 0
            counts["escalated"] += n if escalated else 0
    return {**counts, **ai_state_counts()}


def staff_users():
    return User.objects.filter(is_staff=True, is_active=True).only("id", "email", "first_name", "last_name", "username")


# --- the ticket page -------------------------------------------------------------------------


def ticket_for_staff(pk: int, *, user, live_cursor: bool = False) -> Ticket | None:
    """The ticket with its thread, customer and assignee; with live_cursor, also the change feed's
    newest id (`ticket.live_cursor`) read in the same statement, before the page reads anything else."""
    qs = Ticket.objects.visible_to(user).select_related("thread", "customer", "assignee")
    if live_cursor:
        qs = qs.annotate(live_cursor=live.latest_change_subquery())
    return qs.filter(pk=pk).first()


# What the ticket page reads of a message (not its sync state), and of the people it names (author,
# approver, remover): what their names need, not the password.
MESSAGE_FIELDS = (
    "id", "thread", "seq", "role", "body", "visibility", "draft_state", "run", "kind", "metadata", "created_at",
    "published_at", "redacted_at", "redaction_reason", "author", "published_by", "redacted_by",
)  # fmt: skip
PERSON_FIELDS = ("id", "username", "email", "first_name", "last_name")


def _messages(thread_id: int):
    return _messages_qs().filter(thread_id=thread_id)


def _messages_qs():
    people = ("author", "published_by", "redacted_by")
    return (
        Message.objects.select_related(*people)
        .only(*MESSAGE_FIELDS, *(f"{who}__{name}" for who in people for name in PERSON_FIELDS))
        .annotate(has_files=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
    )


def _shown(messages: list[Message]) -> list[Message]:
    """Each message as the ticket page shows it (`m.card`, tickets/message_cards.py), with its files
    read in one query and only when a message has any (prefetch_related builds a manager and a
    queryset for every message, files or not)."""
    conversations.with_attachments(messages, Attachment.objects.select_related("redacted_by"))
    for m in messages:
        m.card = message_cards.card(m, m.files)
    return messages


def message_page(thread_id: int, *, before: int | None = None) -> tuple[list[Message], bool]:
    """The latest MESSAGE_PAGE_SIZE messages (before `before`, a seq), oldest first, and whether
    older ones exist."""
    qs = _messages(thread_id)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: MESSAGE_PAGE_SIZE + 1])
    has_older = len(rows) > MESSAGE_PAGE_SIZE
    rows = rows[:MESSAGE_PAGE_SIZE]
    rows.reverse()
    return _shown(rows), has_older


def message_for_staff(message_id: int) -> Message:
    return _shown([_messages_qs().get(pk=message_id)])[0]


def messages_after(thread_id: int, after: int) -> list[Message]:
    return _shown(list(_messages(thread_id).filter(seq__gt=after).order_by("seq")))


def messages_changed(thread_id: int, *, ids: set[int], after: int) -> list[Message]:
    """For the live page: the messages the change feed named, and any after seq `after`."""
    return _shown(list(_messages(thread_id).filter(Q(pk__in=ids) | Q(seq__gt=after)).order_by("seq")))


def latest_run(thread_id: int) -> Run | None:
    return (
        Run.objects.filter(thread_id=thread_id)
        .defer("provider_state", "remote_response_ids")
        .order_by("-created_at", "-pk")
        .first()
    )


def recent_flag_changes(ticket_id: int, limit: int = 8):
    return list(FlagChange.objects.filter(ticket_id=ticket_id).select_related("changed_by").order_by("-pk")[:limit])


@dataclass
class RunStatus:
    ticket_id: int
    thread: Thread  # with its AI state, attention, message count, and token and cost totals
    run: Run | None

    @property
    def thread_id(self) -> int:
        return self.thread.pk

    @property
    def ai_state(self) -> str:
        return self.thread.ai_state

    @property
    def attention(self) -> str:
        return self.thread.attention

    @property
    def message_count(self) -> int:
        return self.thread.message_count

    @property
    def active(self) -> bool:
        return self.run is not None and self.run.is_active


# What the poll shows of the thread: its state, and the usage figures of the side panel.
POLL_THREAD_FIELDS = (
    "id",
    "ai_state",
    "attention",
    "message_count",
    "run_count",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost",
)


def run_status(ticket_id: int) -> RunStatus | None:
    """What the live poll needs, in one query: the ticket's latest run joined with its thread.
    A ticket that never had a run costs a second query (to tell it from a missing ticket)."""
    run = (
        Run.objects.filter(thread__ticket__pk=ticket_id)
        .select_related("thread")
        .only(
            "id",
            "status",
            "trigger",
            "attempts",
            "error_code",
            "error_message",
            "provider_state",
            "created_at",
            *[f"thread__{name}" for name in POLL_THREAD_FIELDS],
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is not None:
        thread = run.thread
    else:
        thread = Thread.objects.filter(ticket__pk=ticket_id).only(*POLL_THREAD_FIELDS).first()
        if thread is None:
            return None
    return RunStatus(ticket_id=ticket_id, thread=thread, run=run)


# --- the dashboard ---------------------------------------------------------------------------


class SecondsBetween(Func):
    """end - start in seconds, as a float, on PostgreSQL and SQLite."""

    output_field = FloatField()

    def __init__(self, start, end):
        super().__init__(F(start), F(end))

    def as_sql(self, compiler, connection, **extra):
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        return f"(julianday({end}) - julianday({start})) * 86400.0", [*end_params, *start_params]

    def as_postgresql(self, compiler, connection, **extra):
        # date_part is float8 throughout; EXTRACT computes in numeric (PostgreSQL 14+), which
        # made the dashboard's times aggregate about a third slower.
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        return f"date_part('epoch', {end} - {start})", [*end_params, *start_params]


class Median(Aggregate):
    """percentile_cont(0.5) on PostgreSQL (other databases compute it in Python, see _median)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    allow_distinct = False


def _median(qs, expression) -> float | None:
    if connection.vendor == "postgresql":
        return qs.aggregate(m=Median(expression))["m"]
    values = sorted(qs.annotate(_s=expression).values_list("_s", flat=True))
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def week_start(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    monday = now - timedelta(days=now.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Dashboard:
    by_status: list[tuple[str, str, int]]
    open_total: int
    escalated_open: int
    draft_waiting: int
    failed: int
    avg_rating: Decimal | None
    rated: int
    first_response_avg: float | None
    first_response_median: float | None
    resolution_avg: float | None
    resolution_median: float | None
    window_days: int
    cost_this_week: Decimal
    runs_this_week: int
    opened_per_day: list[tuple[datetime, int]]
    # The assistant in the window: its replies by outcome, deflected tickets, satisfied ratings.
    assistant_outcomes: dict[str, int] = field(default_factory=dict)
    deflections: int = 0
    satisfied: int = 0  # rated 4 or more
    # Draft acceptance: what people did with the assistant's held drafts (replies in the window).
    drafts_approved: int = 0  # sent as written
    drafts_edited: int = 0  # sent after edits
    drafts_discarded: int = 0  # thrown away by a person
    drafts_superseded: int = 0  # replaced by a newer draft before anyone looked
    mean_edit_distance: float | None = None  # words changed (Levenshtein on words), edited drafts only
    # A person's first public reply (first_response counts the assistant's), and resolved tickets
    # that no person ever replied to.
    first_human_response_avg: float | None = None
    first_human_response_median: float | None = None
    resolved_total: int = 0
    resolved_without_human: int = 0

    @property
    def assistant_turns(self) -> int:
        """Replies to a question or a request (thanks and closing confirmations left out)."""
        skip = (AssistantReply.Outcome.ACKNOWLEDGED, AssistantReply.Outcome.CLOSED)
        return sum(n for outcome, n in self.assistant_outcomes.items() if outcome not in skip)

    @property
    def answer_rate(self) -> float | None:
        answered = self.assistant_outcomes.get("answered", 0) + self.assistant_outcomes.get("status", 0)
        return answered / self.assistant_turns if self.assistant_turns else None

    @property
    def handoff_rate(self) -> float | None:
        handed = sum(self.assistant_outcomes.get(o, 0) for o in ("handoff", "escalated", "held"))
        return handed / self.assistant_turns if self.assistant_turns else None

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def resolved_without_human_share(self) -> float | None:
        return self.resolved_without_human / self.resolved_total if self.resolved_total else None

    @property
    def max_status(self) -> int:
        return max([n for _, _, n in self.by_status] + [1])

    @property
    def max_per_day(self) -> int:
        return max([n for _, n in self.opened_per_day] + [1])

    @property
    def columns(self) -> list[dict]:
        """Geometry of the per-day SVG column chart (130 px of height for the tallest day)."""
        top = self.max_per_day
        out = []
        for i, (day, n) in enumerate(self.opened_per_day):
            height = round(130 * n / top)
            out.append({"day": day, "n": n, "x": i * 50 + 5, "y": 140 - height, "height": height})
        return out

    @property
    def times(self) -> list[tuple[str, str, str]]:
        return [
            ("First response", human_seconds(self.first_response_median), human_seconds(self.first_response_avg)),
            (
                "First human response",
                human_seconds(self.first_human_response_median),
                human_seconds(self.first_human_response_avg),
            ),
            ("Resolution", human_seconds(self.resolution_median), human_seconds(self.resolution_avg)),
        ]


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


DASHBOARD_CACHE_SECONDS = 30


def dashboard(*, days: int = 30) -> Dashboard:
    """The dashboard, cached for half a minute (a glance, not a live feed)."""
    key = f"staff:dashboard:{days}"
    result = cache.get(key)
    if result is None:
        result = dashboard_uncached(days=days)
        cache.set(key, result, DASHBOARD_CACHE_SECONDS)
    return result


def dashboard_uncached(*, days: int = 30) -> Dashboard:
    """Seven aggregate queries on PostgreSQL, none of which reads a row per ticket outside a
    bounded window: the ticket counts the inbox uses too (TicketCount, a few hundred rows), the
    AI states (index range), times and ratings of the tickets opened in the last `days` days
    (an index-only range on ticket_created_times), this week's run cost (run created_at range),
    tickets opened per day over two weeks (index-only, same index), the assistant's replies by
    outcome and the deflections in the window (index ranges on their created_at)."""
    now = timezone.now()
    by_status_n: dict[str, int] = {}
    escalated_open = 0
    for status, escalated, _assignee_id, n in ticket_counts():
        by_status_n[status] = by_status_n.get(status, 0) + n
        if escalated and status in Ticket.OPEN_STATUSES:
            escalated_open += n
    ai = ai_state_counts()
    recent = Ticket.objects.order_by().filter(created_at__gte=now - timedelta(days=days))
    responded = recent.filter(first_response_at__isnull=False)
    resolved = recent.filter(resolved_at__isnull=False)
    first_response = SecondsBetween("created_at", "first_response_at")
    first_human = SecondsBetween("created_at", "first_human_response_at")
    humans = Q(first_human_response_at__isnull=False)
    resolved_counts = {
        "resolved_total": Count("pk", filter=Q(resolved_at__isnull=False)),
        "resolved_without_human": Count(
            "pk", filter=Q(resolved_at__isnull=False, first_human_response_at__isnull=True)
        ),
    }
    resolution = SecondsBetween("created_at", "resolved_at")
    if connection.vendor == "postgresql":
        times = recent.aggregate(
            fr_avg=Avg(first_response, filter=Q(first_response_at__isnull=False)),
            fr_med=Median(first_response, filter=Q(first_response_at__isnull=False)),
            rs_avg=Avg(resolution, filter=Q(resolved_at__isnull=False)),
            rs_med=Median(resolution, filter=Q(resolved_at__isnull=False)),
            fh_avg=Avg(first_human, filter=humans),
            fh_med=Median(first_human, filter=humans),
            **resolved_counts,
            avg_rating=Avg("feedback_rating"),
            rated=Count("feedback_rating"),
            satisfied=Count("pk", filter=Q(feedback_rating__gte=4)),
        )
    else:
        times = {
            **recent.aggregate(
                **resolved_counts,
                avg_rating=Avg("feedback_rating"),
                rated=Count("feedback_rating"),
                satisfied=Count("pk", filter=Q(feedback_rating__gte=4)),
            ),
            "fr_avg": responded.aggregate(a=Avg(first_response))["a"],
            "fr_med": _median(responded, first_response),
            "rs_avg": resolved.aggregate(a=Avg(resolution))["a"],
            "rs_med": _median(resolved, resolution),
            "fh_avg": recent.filter(humans).aggregate(a=Avg(first_human))["a"],
            "fh_med": _median(recent.filter(humans), first_human),
        }
    monday = week_start(now)
    cost = Run.objects.order_by().filter(created_at__gte=monday).aggregate(cost=Sum("cost"), runs=Count("*"))
    first_day = timezone.localtime(now).date() - timedelta(days=13)
    since = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    per_day = dict(
        Ticket.objects.order_by()
        .filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("*"))
        .values_list("day", "n")
    )
    opened = [(first_day + timedelta(days=i), per_day.get(first_day + timedelta(days=i), 0)) for i in range(14)]
    by_status = [(value, label, by_status_n.get(value, 0)) for value, label in Ticket.Status.choices]
    window = now - timedelta(days=days)
    outcomes: dict[str, int] = {}
    reviews: dict[str, int] = {}
    edit_total = 0
    # One query: the replies in the window by outcome and by what a person did with the draft.
    for outcome, review, n, distance in (
        AssistantReply.objects.order_by()
        .filter(created_at__gte=window)
        .values("outcome", "review")
        .annotate(n=Count("*"), distance=Sum("edit_distance"))
        .values_list("outcome", "review", "n", "distance")
    ):
        outcomes[outcome] = outcomes.get(outcome, 0) + n
        reviews[review] = reviews.get(review, 0) + n
        edit_total += distance or 0
    edited = reviews.get(AssistantReply.Review.EDITED, 0)
    deflections = Deflection.objects.filter(created_at__gte=window).count()
    return Dashboard(
        by_status=by_status,
        open_total=sum(by_status_n.get(value, 0) for value in Ticket.OPEN_STATUSES),
        escalated_open=escalated_open,
        draft_waiting=ai[Thread.AIState.DRAFT_WAITING],
        failed=ai[Thread.AIState.FAILED],
        avg_rating=times["avg_rating"],
        rated=times["rated"],
        first_response_avg=times["fr_avg"],
        first_response_median=times["fr_med"],
        resolution_avg=times["rs_avg"],
        resolution_median=times["rs_med"],
        first_human_response_avg=times["fh_avg"],
        first_human_response_median=times["fh_med"],
        resolved_total=times["resolved_total"],
        resolved_without_human=times["resolved_without_human"],
        window_days=days,
        cost_this_week=cost["cost"] or Decimal("0"),
        runs_this_week=cost["runs"],
        opened_per_day=opened,
        assistant_outcomes=outcomes,
        drafts_approved=reviews.get(AssistantReply.Review.APPROVED, 0),
        drafts_edited=edited,
        drafts_discarded=reviews.get(AssistantReply.Review.DISCARDED, 0),
        drafts_superseded=reviews.get(AssistantReply.Review.SUPERSEDED, 0),
        mean_edit_distance=edit_total / edited if edited else None,
        deflections=deflections,
        satisfied=times["satisfied"],
    )
