"""The built-in offline assistant: no network, same state machine as the OpenAI provider.

A run goes through the tool-call path: the first step asks for tools (escalate, ticket status, close
the ticket, or knowledge-base searches: one per part of a two-part question), the engine runs them,
and the next step writes the reply from their output, or asks for a person when it is not sure. It
reads the thread (the previous reply: what it showed, in which language, what it was about) and
never writes a row: the reply's metadata (outcome, confidence, candidates, language, passages shown)
is returned for the engine to store.
"""

from __future__ import annotations

import json
import math
import uuid

from assistants import language as languages
from assistants import policy as thread_policy
from assistants.knowledge import confidence as calibration
from assistants.providers.base import RunContext, StepResult, ToolCall, Usage
from assistants.providers.offline import intents, replies

SEARCH = "search_knowledge_base"
ESCALATE = "escalate_to_human"
STATUS = "ticket_status"
CLOSE = "close_ticket"


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _call(name: str, arguments: dict) -> ToolCall:
    return ToolCall(f"call_{uuid.uuid4().hex[:12]}", name, arguments)


def previous_reply(thread) -> dict:
    """The metadata of the assistant's latest published reply on the thread ({} if none)."""
    from assistants.models import Message

    reply = (
        Message.objects.filter(
            thread=thread, role=Message.Role.ASSISTANT, run__isnull=False, draft_state=Message.DraftState.PUBLISHED
        )
        .order_by("-seq")
        .values_list("metadata", flat=True)
        .first()
    )
    return reply or {}


def _candidates(result: dict) -> list[dict]:
    return [
        {k: a[k] for k in ("id", "title", "slug", "group", "language", "passage", "score") if k in a}
        for a in result.get("articles", [])[:3]
    ]


def _citation(hit: dict) -> dict:
    return {
        "article_id": hit["id"],
        "title": hit["title"],
        "slug": hit.get("slug", ""),
        "group": hit.get("group", ""),
        "url": hit.get("url", ""),
        "passage": hit.get("passage", ""),
    }


class OfflineProvider:
    name = "offline"
    remote = False

    def create_thread(self, thread, metadata: dict[str, str]) -> str:
        return ""

    def update_thread(self, thread, metadata: dict[str, str]) -> None:
        return None

    def delete_thread(self, thread) -> None:
        return None

    def cancel_run(self, run, response_id: str = "") -> None:
        return None

    def delete_message(self, thread, message, *, fingerprints: set[str], file_ids=frozenset()) -> int:
        return 0  # the thread lives only in the local database

    def _text(self, ctx: RunContext) -> str:
        if ctx.customer_messages:
            return "\n".join(m.body for m in ctx.customer_messages).strip()
        # Staff asked the assistant again: it answers the customer's latest message.
        from assistants.models import Message

        latest = ctx.thread.messages.filter(role=Message.Role.USER).order_by("-seq").values_list("body", flat=True)
        return (latest.first() or "").strip()

    # --- step 1: decide what to look up ---------------------------------------------------------

    def start_run(self, ctx: RunContext) -> StepResult:
        text = self._text(ctx)
        previous = previous_reply(ctx.thread)
        fallback = previous.get("language") or ctx.metadata.get("language_preference", "")
        lang = languages.detect(text, fallback=fallback)
        state = {"language": lang, "previous_outcome": previous.get("outcome", "")}
        calls: list[ToolCall] = []
        escalation = intents.escalation(text) if text else None
        if escalation:
            state.update(intent="escalate", kind=escalation.kind)
            calls = [_call(ESCALATE, {"reason": escalation.reason})]
        elif intents.is_status_question(text):
            state["intent"] = "status"
            calls = [_call(STATUS, {})]
        elif previous.get("outcome") == "acknowledged" and intents.is_affirmation(text):
            state["intent"] = "close"
            calls = [_call(CLOSE, {})]
        elif intents.is_code_request(text):
            # The code interpreter is the OpenAI provider's tool only (ASSISTANT_CODE_INTERPRETER).
            state["intent"] = "code"
            text = replies.compose(lang, replies.say("no_code", lang), closing=False)
            return self._finish(ctx, state, text, outcome="not_available")
        elif intents.is_thanks(text):
            text = replies.compose(lang, replies.say("acknowledge", lang), closing=False)
            return self._finish(ctx, state, text, outcome="acknowledged")
        elif previous.get("outcome") == "answered" and previous.get("query") and intents.is_not_solved(text):
            state.update(intent="retry", query=previous["query"], groups=previous.get("groups", []))
            calls = [_call(SEARCH, {"query": f"{previous['query']} {text}"[-500:], "language": lang})]
        else:
            parts = intents.question_parts(text) if text else ["help"]
            query = text[-500:] or "help"
            if previous.get("outcome") == "asked" and previous.get("query") and ctx.customer_messages:
                # The answer to the assistant's question completes the question it asked about.
                query = f"{previous['query']} {text}"[-500:]
            state.update(intent="question", query=query, parts=parts if len(parts) > 1 else [])
            calls = [_call(SEARCH, {"query": query, "language": lang})]
            calls += [_call(SEARCH, {"query": part[-500:], "language": lang}) for part in state["parts"]]
        return StepResult(
            status="requires_action",
            response_id=f"offline_{uuid.uuid4().hex[:12]}",
            tool_calls=calls,
            usage=Usage(input_tokens=_tokens(ctx.instructions + text)),
            state=state,
        )

    def poll_run(self, ctx: RunContext) -> StepResult:
        # The offline assistant never leaves a step unfinished, so a poll means a step was
        # interrupted (a worker died): start again from the customer's messages.
        return self.start_run(ctx)

    # --- step 2 (and 3): write the reply ----------------------------------------------------------

    def submit_tool_outputs(self, ctx: RunContext, outputs: list[dict]) -> StepResult:
        state = {k: v for k, v in ctx.run.provider_state.items() if k not in ("pending_calls", "outputs")}
        lang = state.get("language", "en")
        by_name: dict[str, list[dict]] = {}
        for output in outputs:
            try:
                value = json.loads(output["output"])
            except (TypeError, ValueError):
                value = {"error": "unreadable tool output"}
            by_name.setdefault(output["name"], []).append(value)
        if ESCALATE in by_name:
            key = {
                "escalate": "handoff_person" if state.get("kind") in ("person", "phone") else "handoff_upset",
                "unsure": "handoff_unsure",
                "not_solved": "handoff_not_solved",
            }.get(state.get("intent"), "handoff_upset")
            outcome = "escalated" if state.get("intent") == "escalate" else "handoff"
            return self._finish(
                ctx, state, replies.compose(lang, replies.say(key, lang), closing=False), outcome=outcome
            )
        if STATUS in by_name:
            return self._finish(ctx, state, self._status_text(by_name[STATUS][0], lang), outcome="status")
        if CLOSE in by_name:
            text = replies.compose(lang, replies.say("closed", lang), closing=False)
            return self._finish(ctx, state, text, outcome="closed")
        searches = by_name.get(SEARCH, [])
        if state.get("intent") == "retry":
            return self._retry(ctx, state, searches[0] if searches else {})
        return self._answer(ctx, state, searches)

    def _status_text(self, status: dict, lang: str) -> str:
        text = replies.say(
            "status",
            lang,
            reference=status.get("reference", ""),
            status=status.get("status", "open"),
            priority=status.get("priority", "normal"),
        )
        if status.get("assignee"):
            text += " " + replies.say("status_assignee", lang, assignee=status["assignee"])
        text += " " + replies.say("status_closing", lang)
        return replies.compose(lang, text, closing=False)

    def _answer(self, ctx: RunContext, state: dict, searches: list[dict]) -> StepResult:
        """Answer what clears the threshold: the whole message, and each part of a two-part question
        that finds another article. A part that stays unclear is named, not guessed."""
        lang = state.get("language", "en")
        whole, parts = (searches[0] if searches else {}), searches[1:]
        base = {"candidates": _candidates(whole), "confidence": whole.get("confidence", 0.0), "mode": whole.get("mode")}
        hits: list[dict] = []
        if whole.get("confident") and whole.get("articles"):
            hits.append(whole["articles"][0])
        unclear = []
        for text, part in zip(state.get("parts", []), parts):
            top = (part.get("articles") or [None])[0]
            if part.get("confident") and top:
                if top["group"] not in {h["group"] for h in hits}:
                    hits.append(top)
            elif intents.looks_like_question(text):
                unclear.append(text)
        if not hits:
            return self._unsure(ctx, state, whole, base=base)
        extra = []
        if len(hits) == 1 and len(unclear) == 1 and len(parts) == 2:
            extra.append(replies.say("other_part", lang, part=replies.short(unclear[0])))
        return self._reply_with(ctx, state, hits[:2], base=base, extra=extra)

    def _reply_with(self, ctx, state, hits: list[dict], *, base: dict, extra=(), lead: str = "") -> StepResult:
        lang = state.get("language", "en")
        blocks = [replies.answer_block(h, lang, lead=lead if n == 0 else "") for n, h in enumerate(hits)]
        text = replies.compose(lang, *blocks, *extra)
        return self._finish(
            ctx,
            state,
            text,
            outcome="answered",
            citations=[_citation(h) for h in hits],
            metadata={**base, "shown_passages": [h["passage"] for h in hits], "groups": [h["group"] for h in hits]},
        )

    def _unsure(self, ctx, state, whole: dict, *, base: dict) -> StepResult:
        """Below the threshold the assistant does not guess: by the ticket's policy it asks one precise
        question (a second unsure turn brings in a person), hands the ticket to a person at once, or
        holds its best guess as a draft for staff."""
        lang = state.get("language", "en")
        policy = thread_policy.for_thread(ctx.thread).low_confidence
        articles = whole.get("articles", [])
        if whole.get("already_shown"):
            text = replies.say("already_shown", lang, title=whole["already_shown"]["title"])
            return self._finish(ctx, state, replies.compose(lang, text, closing=False), outcome="asked", metadata=base)
        if not ctx.customer_messages and policy != "draft":
            policy = "ask"  # staff asked for another try: they read it, nobody needs to be called in
        if policy == "draft" and articles:
            top = articles[0]
            reason = (
                f"Not sure of this answer (confidence {whole.get('confidence', 0):.2f}, threshold "
                f"{whole.get('threshold', 0):.2f}): check that \u201c{top['title']}\u201d answers it."
            )
            result = self._reply_with(ctx, state, [top], base=base)
            result.hold_reason = reason
            result.reply_metadata["outcome"] = "held"
            return result
        if policy == "ask" and (state.get("previous_outcome") != "asked" or not ctx.customer_messages):
            plausible = [a for a in articles[:2] if a.get("score", 0) >= calibration.PLAUSIBLE]
            if len(plausible) == 2 and plausible[0]["group"] != plausible[1]["group"]:
                text = replies.say("not_sure_which", lang, a=plausible[0]["title"], b=plausible[1]["title"])
            else:
                text = replies.say("ask_details", lang)
            return self._finish(ctx, state, replies.compose(lang, text, closing=False), outcome="asked", metadata=base)
        state = {**state, "intent": "unsure", "unsure_metadata": base}
        reason = f"The assistant is not sure how to answer (confidence {whole.get('confidence', 0):.2f})."
        calls = [_call(ESCALATE, {"reason": reason})]
        return StepResult(
            status="requires_action", response_id=ctx.run.remote_response_id, tool_calls=calls, state=state
        )

    def _retry(self, ctx, state, result: dict) -> StepResult:
        """ "That didn't work": the next passage on the same problem (the search leaves out what was
        shown), or a person."""
        lang = state.get("language", "en")
        groups = set(state.get("groups", []))
        base = {
            "candidates": _candidates(result),
            "confidence": result.get("confidence", 0.0),
            "mode": result.get("mode"),
        }
        same = [a for a in result.get("articles", []) if a.get("group") in groups]
        if same and same[0].get("score", 0) >= calibration.PLAUSIBLE:
            state = {**state, "query": state.get("query", "")}
            return self._reply_with(ctx, state, [same[0]], base=base, lead=replies.say("try_this", lang))
        state = {**state, "intent": "not_solved", "unsure_metadata": base}
        return StepResult(
            status="requires_action",
            response_id=ctx.run.remote_response_id,
            tool_calls=[_call(ESCALATE, {"reason": "The customer says the suggested answer did not solve it."})],
            state=state,
        )

    def _finish(self, ctx, state, text: str, *, outcome: str, citations=(), metadata=None) -> StepResult:
        metadata = {**state.pop("unsure_metadata", {}), **(metadata or {})}
        reply_metadata = {
            "outcome": outcome,
            "language": state.get("language", "en"),
            "query": state.get("query", ""),
            **metadata,
        }
        return StepResult(
            status="completed",
            response_id=ctx.run.remote_response_id or f"offline_{uuid.uuid4().hex[:12]}",
            text=text,
            citations=list(citations),
            usage=Usage(input_tokens=_tokens(ctx.instructions + self._text(ctx)), output_tokens=_tokens(text)),
            state={k: v for k, v in state.items() if k in ("intent", "language")},
            reply_metadata=reply_metadata,
        )
