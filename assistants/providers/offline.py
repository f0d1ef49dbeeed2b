"""The built-in offline assistant: no network, same state machine as the OpenAI provider.

Every run goes through the tool-call path: the first step asks for one tool (escalate, ticket
status, or knowledge-base search), the engine runs it, and the second step writes the reply from
the tool's output. Threads live only in the local database.
"""

from __future__ import annotations

import json
import math
import re
import uuid

from assistants.providers.base import RunContext, StepResult, ToolCall, Usage

HUMAN_REQUEST = re.compile(
    r"\b(human|real person|a person|someone real|agent|representative|operator|manager|supervisor|"
    r"talk to (?:a|an|some)one|speak (?:to|with) (?:a|an|some)one|call me)\b",
    re.I,
)
ANGER = re.compile(
    r"\b(lawyer|lawsuit|sue you|legal action|furious|unacceptable|ridiculous|outrageous|disgusting|"
    r"scam|fraud|worst (?:service|support|company)|i am angry|i'm angry|fed up|chargeback|report you|"
    r"threat|kill)\b",
    re.I,
)
STATUS_QUESTION = re.compile(
    r"\b(status of (?:my|the|this) (?:ticket|request|case)|ticket status|any update|an update on|any news|"
    r"still waiting for (?:a|an|your) (?:reply|answer|response))\b",
    re.I,
)
MIN_SCORE = 0.5  # below this a knowledge-base hit is noise: ask for details instead


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7 or "!!!" in text


def classify(text: str) -> str:
    if HUMAN_REQUEST.search(text):
        return "human"
    if ANGER.search(text) or _shouting(text):
        return "angry"
    if STATUS_QUESTION.search(text):
        return "status"
    return "question"


def _summary(body: str, limit: int = 420) -> str:
    paragraph = body.strip().split("\n\n")[0].strip()
    if len(paragraph) <= limit:
        return paragraph
    cut = paragraph[:limit].rsplit(". ", 1)[0]
    return cut + "."


def _cited_before(thread) -> set[int]:
    """Articles the assistant already cited on this thread: it does not send the same answer twice."""
    from assistants.models import Message

    cited = set()
    replies = Message.objects.filter(thread=thread, role=Message.Role.ASSISTANT, run__isnull=False).exclude(
        draft_state=Message.DraftState.DISCARDED
    )
    for metadata in replies.values_list("metadata", flat=True):
        cited.update(c["article_id"] for c in (metadata or {}).get("citations", []))
    return cited


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

    def _text(self, ctx: RunContext) -> str:
        return "\n".join(m.body for m in ctx.customer_messages)

    def start_run(self, ctx: RunContext) -> StepResult:
        text = self._text(ctx)
        intent = classify(text) if text else "question"
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        if intent in ("human", "angry"):
            reason = "The customer asked for a person." if intent == "human" else "The customer seems upset."
            call = ToolCall(call_id, "escalate_to_human", {"reason": reason})
        elif intent == "status":
            call = ToolCall(call_id, "ticket_status", {})
        else:
            call = ToolCall(call_id, "search_knowledge_base", {"query": text[-500:] or "help"})
        usage = Usage(input_tokens=_tokens(ctx.instructions + text))
        return StepResult(
            status="requires_action",
            response_id=f"offline_{uuid.uuid4().hex[:12]}",
            tool_calls=[call],
            usage=usage,
            state={"intent": intent},
        )

    def poll_run(self, ctx: RunContext) -> StepResult:
        # The offline assistant never leaves a step unfinished, so a poll means a step was
        # interrupted (a worker died): start again from the customer's messages.
        return self.start_run(ctx)

    def submit_tool_outputs(self, ctx: RunContext, outputs: list[dict]) -> StepResult:
        intent = ctx.run.provider_state.get("intent", "question")
        results = {o["name"]: json.loads(o["output"]) for o in outputs}
        citations: list[dict] = []
        if "escalate_to_human" in results:
            text = (
                "I'm sorry for the trouble. I have passed your ticket to our support team, "
                "and a member of the team will reply here as soon as possible."
            )
        elif "ticket_status" in results:
            status = results["ticket_status"]
            text = (
                f"Your ticket {status.get('reference', '')} is currently {status.get('status', 'open')}"
                f" with {status.get('priority', 'normal')} priority."
            )
            if status.get("assignee"):
                text += f" {status['assignee']} from our team is looking after it."
            text += " We will post every update here."
        else:
            found = [h for h in results.get("search_knowledge_base", {}).get("articles", []) if h["score"] >= MIN_SCORE]
            already = _cited_before(ctx.thread)
            hits = [h for h in found if h["id"] not in already]
            if found and not hits:
                text = (
                    "I have shared what our help center says about this above. If that does not answer it, "
                    "tell me what is still unclear, or ask for a person and a member of the team will take over."
                )
            elif hits:
                top = hits[0]
                text = f"{_summary(top['body'])}\n\nIf this does not solve it, reply here and tell us what you see."
                citations = [{"article_id": h["id"], "title": h["title"]} for h in hits[:2]]
            else:
                text = (
                    "Thanks for reaching out. So that I can help, could you tell me a little more: what you "
                    "were trying to do, what happened instead, and any error message you saw?"
                )
        usage = Usage(
            input_tokens=_tokens(ctx.instructions + self._text(ctx) + "".join(o["output"] for o in outputs)),
            output_tokens=_tokens(text),
        )
        return StepResult(
            status="completed",
            response_id=ctx.run.remote_response_id,
            text=text,
            citations=citations,
            usage=usage,
            state={"intent": intent},
        )
