"""After an ambiguous call: did the lost request reach the conversation, and what did it answer?

Anchored on a remote id the engine recorded before the call (Thread.remote_state["last_item_id"],
the conversation's newest item once the previous response finished; None for an empty
conversation), never on message text: only one run at a time works on a conversation and a
response appends its input and output only when it finishes, so every item after the anchor was put
there by this run's lost request. Its output is adopted instead of paying for a second response.
If the lost response is still in flight nothing is there yet; the next create then meets a busy
conversation (a clean error) and the step looks again after the backoff.
"""

from __future__ import annotations

import logging

from assistants.providers.base import RunContext, StepResult
from assistants.providers.openai import code_files, containers
from assistants.providers.openai import items as conv_items

logger = logging.getLogger(__name__)

UNKNOWN = object()


def anchor(thread) -> object:
    return (thread.remote_state or {}).get("last_item_id", UNKNOWN)


def items_after_anchor(client, thread) -> list | None:
    """The conversation's items after the anchor, oldest first (None: no anchor was recorded)."""
    after = anchor(thread)
    if after is UNKNOWN:
        return None
    params = {"order": "asc", "limit": 100}
    if after:
        params["after"] = after
    items = list(client.conversations.items.list(thread.remote_id, **params))
    ids = [getattr(i, "id", None) for i in items]
    if after and after in ids:
        # A server that ignored the cursor: only what follows the anchor is the lost request's.
        items = items[ids.index(after) + 1 :]
    return items


def lost_answer(client, ctx: RunContext, *, model: str) -> StepResult | None:
    """The answer of this run's lost request, if it reached the conversation (None: send again)."""
    thread = ctx.thread
    found = items_after_anchor(client, thread)
    if found is None:
        logger.warning("thread %s: no anchor recorded; the lost request cannot be looked for", thread.pk)
        return None
    if not found:
        return None
    answered_calls = {i.call_id for i in found if getattr(i, "type", "") == "function_call_output"}
    calls = [c for c in conv_items.tool_calls(found) if c.call_id not in answered_calls]
    text, file_ids = conv_items.output_text_and_citations(found)
    if not calls and not text:
        logger.warning("thread %s: items after the anchor hold no answer; sending again", thread.pk)
        return None
    logger.info("run %s: adopted the answer of a lost request (%d items after the anchor)", ctx.run.pk, len(found))
    state = {"model": model, "adopted_orphan": True}
    common = dict(
        state=state,
        adopted=True,
        last_item_id=found[-1].id,
        confirmed_message_ids=[m.pk for m in ctx.pending_messages],
        # The lost response ran code as any other: its containers are charged (once) and the files
        # the reply cites are attached, as `_result` does for a response we saw finish.
        containers=containers.charge_once(ctx, conv_items.containers(found), state),
    )
    if calls:
        return StepResult(status="requires_action", tool_calls=calls, **common)
    return StepResult(
        status="completed",
        text=text,
        citations=conv_items.citations(file_ids),
        output_files=code_files.download(client, conv_items.container_files(found)),
        **common,
    )
