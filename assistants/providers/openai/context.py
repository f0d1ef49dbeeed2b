"""The context budget: keep the input of one run under ASSISTANT_CONTEXT_BUDGET tokens.

With a remote conversation every response re-sends the whole history as input, so the cost of a
run grows with the ticket. After each response the engine records what the provider says the next
run will start from (``Thread.context_tokens``); once that passes the budget, the next run moves the thread
to a new conversation seeded with a summary and the latest messages. The old conversation ids stay
in ``Thread.remote_history``.

The summary is built locally (the first customer message, which usually states the problem, plus a
count of what was left out) rather than by a model call: it costs nothing, cannot fail or time out,
and is deterministic. The latest messages carry the current state of the conversation; staff notes
and the ticket's own instructions are re-sent with every run anyway.
"""

from __future__ import annotations

import math

from django.conf import settings

from assistants.models import Message, Thread

SEED_MAX_MESSAGES = 30
FIRST_MESSAGE_CHARS = 1500
ROLES = {Message.Role.USER: "user", Message.Role.ASSISTANT: "assistant", Message.Role.DEVELOPER: "developer"}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def over_budget(thread: Thread, incoming: list[Message] | None = None) -> bool:
    """Would the next run's input pass the budget? It holds what the conversation held at the last
    response (context_tokens), that response's reply, and the messages about to be sent."""
    budget = settings.ASSISTANT_CONTEXT_BUDGET
    if not budget or not thread.remote_id:
        return False
    upcoming = sum(estimate_tokens(m.body) for m in incoming or ())
    if not thread.context_tokens:  # no response in this conversation yet: it holds what it was seeded with
        return upcoming > budget
    last_reply = (
        thread.runs.filter(status="completed").order_by("-finished_at").values_list("output_tokens", flat=True).first()
        or 0
    )
    return thread.context_tokens + last_reply + upcoming > budget


def _history(thread: Thread, exclude: list[int]):
    return (
        thread.messages.exclude(pk__in=exclude)
        .filter(redacted_at__isnull=True)
        .exclude(draft_state__in=[Message.DraftState.DRAFT, Message.DraftState.DISCARDED])
        .prefetch_related("attachments")
        .order_by("seq")
    )


def _text(message: Message) -> str:
    names = [a.filename for a in message.attachments.all()]
    return message.body + (f"\n[attachments: {', '.join(names)}]" if names else "")


def seed_items(thread: Thread, *, exclude: list[int] | None = None) -> list[dict]:
    """Items for a new conversation: a summary of what is left out, then the latest messages that
    fit in half the budget (at most SEED_MAX_MESSAGES)."""
    messages = list(_history(thread, exclude or []))
    allowance = max(settings.ASSISTANT_CONTEXT_BUDGET // 2, 500)
    latest: list[Message] = []
    used = 0
    for message in reversed(messages):
        cost = estimate_tokens(_text(message))
        if latest and (used + cost > allowance or len(latest) >= SEED_MAX_MESSAGES):
            break
        latest.append(message)
        used += cost
    latest.reverse()
    left_out = messages[: len(messages) - len(latest)]
    items: list[dict] = []
    if left_out:
        first = next((m for m in messages if m.role == Message.Role.USER), None)
        summary = f"Summary of the earlier conversation on this ticket ({len(left_out)} earlier messages not shown)."
        if first is not None:
            summary += f"\nThe customer's first message was:\n{first.body[:FIRST_MESSAGE_CHARS]}"
        items.append({"type": "message", "role": "developer", "content": summary})
    for message in latest:
        items.append({"type": "message", "role": ROLES.get(message.role, "user"), "content": _text(message)})
    return items
