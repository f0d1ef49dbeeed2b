"""Bulk seeder for the page benchmark: tickets with about five messages each, by COPY.

`seed(total)` tops the database up to `total` tickets (it never deletes): customers (1,000),
staff (20) and one 500-message ticket are created on the first call. Each ticket gets its thread,
messages and runs with the counters the engine keeps (message_count, run_count, token totals,
ai_state, last_message_preview, first_response_at, resolved_at) consistent with its messages.

The mix: statuses (about a third open), priorities, assignees, escalations, AI modes, assistant
drafts waiting for approval, failed and running runs, internal notes, staff replies, ratings on
resolved tickets. About 2 % of subjects and 1 % of messages mention "customs" (the benchmark's
search word). PostgreSQL only (COPY through psycopg 3).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import NOT_PROVIDED, Count, JSONField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from assistants.models import Message, Run, Thread
from tickets.models import CustomerProfile, Ticket, TicketCount

User = get_user_model()

CUSTOMERS = 1_000
STAFF = 20
BIG_TICKET_MESSAGES = 500
SEARCH_WORD = "customs"
BIG_TICKET_SUBJECT = "Bulk order: 500-message thread (benchmark)"

TOPICS = [
    ("refund", "Refund for order {n}", "I returned the parcel last week and I am still waiting for my refund."),
    ("tracking", "Where is parcel {n}?", "The tracking page has not changed for four days. Where is my parcel?"),
    ("invoice", "Invoice {n} is wrong", "The invoice shows the wrong company name and VAT number."),
    ("password", "Cannot log in", "I reset my password twice and the link says it expired."),
    ("damaged", "Parcel {n} arrived damaged", "The box was crushed and the mug inside is broken."),
    ("address", "Change delivery address for {n}", "I moved; can you deliver parcel to my new address?"),
    ("customs", "Customs fee for parcel {n}", "Why do I have to pay a customs fee? The shop said duties were paid."),
    ("pickup", "Missed pickup {n}", "The courier came while I was out. Can I book another pickup slot?"),
]
EXTRA = [
    "Thanks for your help.",
    "My order number is in the subject.",
    "I attached a photo of the label.",
    "This is the second time this happens.",
    "Could you call me back tomorrow morning?",
    "The app shows a different date than the email.",
    "I need this before the weekend, please.",
    "Nothing on the website explains this.",
]
ASSISTANT = [
    "Thanks for the details. Refunds reach your card within five working days of approval.",
    "I checked the tracking: the parcel is at the depot and goes out for delivery tomorrow.",
    "I have asked our billing team to correct the invoice; you will get a new copy by email.",
    "You can reset your password from the login page; the link is valid for one hour.",
    "I am sorry the parcel arrived damaged. Please send a photo and we will replace it.",
    "Address changes are possible until the parcel leaves the depot. I have noted the new one.",
    "Customs fees are set by the destination country; the receipt from customs shows the amount.",
]
STAFF_REPLIES = [
    "I have looked into this personally and fixed it. Let me know if anything else is wrong.",
    "We issued the refund today; it shows on your statement in a few days.",
    "A new parcel is on its way, tracking follows by email.",
    "I spoke with the courier; they will come again on Monday between 9 and 12.",
]
NOTES = [
    "Internal: customer is a reseller, check their contract before promising anything.",
    "Internal: courier confirmed the loss, claim filed.",
    "Internal: second complaint this month; offer a voucher if it happens again.",
    "Internal: customs paperwork missing from the shipper, chase the warehouse.",
]

# (value, weight)
STATUSES = [("new", 8), ("open", 17), ("pending", 8), ("on_hold", 2), ("resolved", 35), ("closed", 30)]
PRIORITIES = [(1, 20), (2, 55), (3, 18), (4, 7)]
AI_MODES = [("auto", 70), ("draft", 25), ("off", 5)]


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights)[0]


@dataclass
class Ids:
    """Next primary keys, allocated here so rows can point at each other inside one COPY batch."""

    thread: int = 0
    ticket: int = 0
    message: int = 0
    run: int = 0

    @classmethod
    def load(cls) -> Ids:
        with connection.cursor() as cur:
            values = []
            for table in ("assistants_thread", "tickets_ticket", "assistants_message", "assistants_run"):
                cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
                values.append(cur.fetchone()[0])
        return cls(*values)


@dataclass
class Batch:
    threads: list = field(default_factory=list)
    tickets: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    runs: list = field(default_factory=list)


THREAD_COLS = (
    "id provider remote_id remote_history remote_error metadata custom_metadata metadata_dirty state ai_state "
    "attention message_count run_count input_tokens cached_tokens output_tokens cost context_tokens created_at "
    "updated_at remote_state"
).split()
TICKET_COLS = (
    "id subject status priority ai_mode escalated escalated_at escalation_reason feedback_rating feedback_comment "
    "language_preference conversation_topic user_is_premium first_response_at resolved_at created_at updated_at "
    "last_message_preview assignee_id customer_id thread_id"
).split()
MESSAGE_COLS = (
    "id seq role body visibility draft_state remote_id sync_state metadata created_at published_at author_id "
    "published_by_id answered_by_id run_id thread_id"
).split()
RUN_COLS = (
    "id status trigger provider model remote_response_id remote_response_ids provider_state tool_calls attempts "
    "steps lease_token input_tokens cached_tokens output_tokens cost error_code error_message needs_staff "
    "created_at started_at finished_at answers_message_id requested_by_id thread_id next_step_at deadline"
).split()


class Builder:
    def __init__(self, rng: random.Random, now: datetime, customers: list[tuple[int, bool]], staff: list[int]):
        self.rng = rng
        self.now = now
        self.customers = customers
        self.staff = staff
        self.ids = Ids.load()

    def _body(self, topic_index: int, first: bool) -> str:
        rng = self.rng
        _key, _subject, text = TOPICS[topic_index]
        parts = [text] if first else []
        parts += rng.sample(EXTRA, rng.randint(1, 3))
        if rng.random() < 0.01:
            parts.append(f"There is also a {SEARCH_WORD} declaration attached to the parcel.")
        return " ".join(parts)

    def ticket(self, batch: Batch, *, messages: int | None = None, subject: str | None = None, age_days=None):
        rng, now = self.rng, self.now
        ids = self.ids
        thread_id, ticket_id = ids.thread, ids.ticket
        ids.thread += 1
        ids.ticket += 1
        customer_id, premium = rng.choice(self.customers)
        topic = rng.choices(range(len(TOPICS)), [14, 20, 12, 10, 12, 12, 4, 16])[0]
        status = _pick(rng, STATUSES)
        is_open = status in Ticket.OPEN_STATUSES
        priority = _pick(rng, PRIORITIES)
        ai_mode = _pick(rng, AI_MODES)
        escalated = is_open and rng.random() < 0.08 or (not is_open and rng.random() < 0.02)
        assignee = rng.choice(self.staff) if status != "new" and rng.random() < 0.6 else None
        created = now - timedelta(days=rng.uniform(0, 180) if age_days is None else age_days)
        if subject is None:
            subject = TOPICS[topic][1].format(n=rng.randint(100000, 999999))
        ai_state = "idle"
        if is_open and ai_mode != "off":
            roll = rng.random()
            if ai_mode == "draft" and roll < 0.3:
                ai_state = "draft_waiting"
            elif roll < 0.31:
                ai_state = "failed"
            elif roll < 0.314:
                ai_state = "running"
        n = messages if messages is not None else rng.choice([3, 4, 5, 5, 6, 7])
        # Messages: a customer opens, then replies alternate with the customer's answers.
        moment = created
        prev = "user"
        rows = []
        runs = []
        last_public = ""
        first_response = None
        tokens = [0, 0, 0]
        cost = Decimal("0")
        for seq in range(1, n + 1):
            if seq == 1:
                role = "user"
            elif prev == "user":
                role = "assistant_run" if ai_mode != "off" and rng.random() < 0.75 else "staff"
            else:
                roll = rng.random()
                role = "user" if roll < 0.7 else ("note" if roll < 0.85 else "staff")
            if seq == n and ai_state == "running":
                role = "user"  # the run is answering this one
            moment = moment + timedelta(minutes=rng.uniform(2, 600))
            moment = min(moment, now - timedelta(seconds=n - seq + 1))
            mid = ids.message
            ids.message += 1
            run_id = author = published_by = None
            visibility, draft_state = "public", ""
            if role == "user":
                body = self._body(topic, seq == 1)
                author = customer_id
                r = "user"
            elif role == "assistant_run":
                body = rng.choice(ASSISTANT)
                r = "assistant"
                run_id = ids.run
                ids.run += 1
                draft_state = "published"
                if ai_mode == "draft":
                    published_by = assignee or rng.choice(self.staff)
                inp, cached, out = rng.randint(800, 4000), rng.randint(0, 600), rng.randint(60, 300)
                run_cost = Decimal(inp * 25 + out * 200) / Decimal(100_000_000)
                tokens = [tokens[0] + inp, tokens[1] + cached, tokens[2] + out]
                cost += run_cost
                runs.append(self._run(run_id, thread_id, "completed", moment, inp, cached, out, run_cost))
                # the customer message(s) before it are answered by this run
                for row in reversed(rows):
                    if row[2] == "user" and row[13] is None:
                        row[13] = run_id
                    elif row[2] != "user" or row[13] is not None:
                        break
            elif role == "staff":
                body = rng.choice(STAFF_REPLIES)
                r = "assistant"
                author = assignee or rng.choice(self.staff)
            else:
                body = rng.choice(NOTES)
                r = "developer"
                author = assignee or rng.choice(self.staff)
                visibility = "internal"
            published = None if draft_state == "draft" else moment
            rows.append(
                [mid, seq, r, body, visibility, draft_state, "", "local", "{}", moment, published, author,
                 published_by, None, run_id, thread_id]
            )  # fmt: skip
            if visibility == "public":
                last_public = body
                if r == "assistant" and first_response is None:
                    first_response = moment
            prev = "user" if r == "user" else "reply"
        if ai_state == "draft_waiting":
            moment = min(moment + timedelta(minutes=1), now)
            run_id = ids.run
            ids.run += 1
            mid = ids.message
            ids.message += 1
            n += 1
            runs.append(self._run(run_id, thread_id, "completed", moment, 1500, 0, 150, Decimal("0.0007")))
            rows.append(
                [mid, n, "assistant", rng.choice(ASSISTANT), "public", "draft", "", "local", "{}", moment, None,
                 None, None, None, run_id, thread_id]
            )  # fmt: skip
        elif ai_state in ("failed", "running"):
            run_id = ids.run
            ids.run += 1
            status_run = "failed" if ai_state == "failed" else "in_progress"
            runs.append(self._run(run_id, thread_id, status_run, moment, 0, 0, 0, Decimal("0")))
        updated = moment
        resolved_at = updated if status in ("resolved", "closed") else None
        rating = None
        if status in ("resolved", "closed") and rng.random() < 0.3:
            rating = Decimal(rng.randint(2, 10)) / 2
        batch.threads.append(
            [thread_id, "offline", "", "[]", "", "{}", "{}", False, "active", ai_state, "", n, len(runs),
             tokens[0], tokens[1], tokens[2], cost, tokens[0], created, updated, "{}"]
        )  # fmt: skip
        batch.tickets.append(
            [ticket_id, subject, status, priority, ai_mode, escalated, created if escalated else None,
             "The customer asked for a person." if escalated else "", rating, "", "en", TOPICS[topic][0], premium,
             first_response, resolved_at, created, updated, last_public[:140], assignee, customer_id, thread_id]
        )  # fmt: skip
        batch.messages.extend(rows)
        batch.runs.extend(runs)
        return ticket_id

    def _run(self, run_id, thread_id, status, moment, inp, cached, out, cost):
        active = status == "in_progress"
        finished = None if active else moment
        error = ("server_error", "The model provider answered 500 five times.") if status == "failed" else ("", "")
        return [
            run_id, status, "customer", "offline", "offline", "", "[]", "{}", "[]", 1, 2, "", inp, cached, out,
            cost, error[0], error[1], status == "failed", moment - timedelta(seconds=3), moment - timedelta(seconds=2),
            finished, None, None, thread_id, (self.now + timedelta(seconds=1)) if active else None,
            (self.now + timedelta(minutes=5)) if active else None,
        ]  # fmt: skip


# Columns the seed does not write: NOT NULL ones get the model's default (Django sets no database
# defaults), so a field added to a model later never breaks the COPY.
MODELS = {"assistants_thread": Thread, "tickets_ticket": Ticket, "assistants_run": Run, "assistants_message": Message}


def _defaults(table: str, cols: list[str]) -> dict:
    out = {}
    for f in MODELS[table]._meta.concrete_fields:
        if f.column in cols or f.primary_key or f.null or f.db_default is not NOT_PROVIDED:
            continue
        value = f.get_default()
        out[f.column] = json.dumps(value) if isinstance(f, JSONField) else value
    return out


def _copy(table: str, cols: list[str], rows: list) -> None:
    raw = connection.connection
    constants = _defaults(table, cols)
    cols = [*cols, *constants]
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([*row, *constants.values()])


def _flush(batch: Batch) -> None:
    _copy("assistants_thread", THREAD_COLS, batch.threads)
    _copy("tickets_ticket", TICKET_COLS, batch.tickets)
    _copy("assistants_run", RUN_COLS, batch.runs)
    _copy("assistants_message", MESSAGE_COLS, batch.messages)


def _fix_sequences() -> None:
    with connection.cursor() as cur:
        for table in ("assistants_thread", "tickets_ticket", "assistants_message", "assistants_run"):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            cur.execute(f"SELECT setval({sequence}, (SELECT COALESCE(MAX(id), 1) FROM {table}))")


def _people() -> tuple[list[tuple[int, bool]], list[int]]:
    if not User.objects.filter(username="bench-customer-0@example.com").exists():
        User.objects.bulk_create(
            [
                User(username=f"bench-customer-{i}@example.com", email=f"bench-customer-{i}@example.com",
                     first_name=f"Customer {i}", password="!")
                for i in range(CUSTOMERS)
            ]
            + [
                User(username=f"bench-staff-{i}@example.com", email=f"bench-staff-{i}@example.com",
                     first_name=f"Agent {i}", password="!", is_staff=True)
                for i in range(STAFF)
            ],
            batch_size=2000,
        )  # fmt: skip
        customers = User.objects.filter(username__startswith="bench-customer-")
        CustomerProfile.objects.bulk_create(
            [CustomerProfile(user=u, is_premium=u.pk % 10 == 0, language="en") for u in customers], batch_size=2000
        )
    customers = [
        (pk, premium)
        for pk, premium in User.objects.filter(username__startswith="bench-customer-").values_list(
            "pk", "customer_profile__is_premium"
        )
    ]
    staff = list(User.objects.filter(username__startswith="bench-staff-").values_list("pk", flat=True))
    return customers, staff


def seed(total: int, *, batch_size: int = 10_000, seed_value: int = 4) -> int:
    """Top the database up to `total` tickets; returns how many were added."""
    customers, staff = _people()
    existing = Ticket.objects.count()
    if existing >= total:
        return 0
    rng = random.Random(seed_value + existing)
    builder = Builder(rng, timezone.now(), customers, staff)
    added = 0
    batch = Batch()
    if not Ticket.objects.filter(subject=BIG_TICKET_SUBJECT).exists():
        builder.ticket(batch, messages=BIG_TICKET_MESSAGES, subject=BIG_TICKET_SUBJECT, age_days=60)
        added += 1
    while existing + added < total:
        builder.ticket(batch)
        added += 1
        if len(batch.tickets) >= batch_size:
            _flush(batch)
            batch = Batch()
    if batch.tickets:
        _flush(batch)
    _fix_sequences()
    return added


def big_ticket() -> Ticket:
    return Ticket.objects.select_related("thread").get(subject=BIG_TICKET_SUBJECT)


def check_counters(sample: int = 200) -> None:
    """Spot-check a sample: message_count equals the messages, run_count the runs, the preview
    the last public message that is not a draft. And the ticket counts the triggers kept while
    COPY wrote the tickets equal a recount."""
    recount = (
        Ticket.objects.order_by()
        .annotate(who=Coalesce("assignee_id", Value(0)))
        .values("status", "escalated", "who")
        .annotate(n=Count("*"))
    )
    kept = {(c.status, c.escalated, c.assignee_id): c.n for c in TicketCount.objects.filter(n__gt=0)}
    assert kept == {(r["status"], r["escalated"], r["who"]): r["n"] for r in recount}, "TicketCount is not a recount"
    for ticket in Ticket.objects.select_related("thread").order_by("?")[:sample]:
        thread = ticket.thread
        messages = list(Message.objects.filter(thread=thread).order_by("seq"))
        assert thread.message_count == len(messages) == messages[-1].seq, ticket.pk
        assert thread.run_count == Run.objects.filter(thread=thread).count(), ticket.pk
        public = [m for m in Message.objects.public().filter(thread=thread).order_by("seq")]
        assert ticket.last_message_preview == public[-1].body[:140], ticket.pk
        if thread.ai_state == Thread.AIState.DRAFT_WAITING:
            assert Message.objects.drafts().filter(thread=thread).exists(), ticket.pk
