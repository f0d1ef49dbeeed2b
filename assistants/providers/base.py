"""The small protocol every model provider implements. The run engine above it is provider-blind.

A provider reads what it needs from the RunContext and answers with facts: a StepResult, or an
error saying whether the call it was making may have been processed (ambiguous) or surely was not
(clean). It never writes rows; what must be kept the moment it happens (a conversation or a file it
created) it reports through ``ctx.hooks``, and the engine writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from assistants.models import Message, Run, Thread


@dataclass
class ToolCall:
    call_id: str
    name: str
    arguments: dict[str, Any]

    def as_dict(self) -> dict:
        return {"call_id": self.call_id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: dict) -> ToolCall:
        return cls(call_id=data["call_id"], name=data["name"], arguments=data.get("arguments") or {})


@dataclass
class Usage:
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0


@dataclass
class StepResult:
    """What a provider says after one step of a run."""

    status: str  # "in_progress" | "requires_action" | "completed" | "failed" | "cancelled"
    response_id: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    text: str = ""
    citations: list[dict] = field(default_factory=list)  # [{"article_id": 3, "title": "..."}]
    usage: Usage = field(default_factory=Usage)
    error_code: str = ""
    error_message: str = ""
    # For "failed": a new attempt may well succeed (the model's server failed, not our request).
    retryable: bool = False
    state: dict = field(default_factory=dict)  # provider-private, kept on Run.provider_state
    context_tokens: int | None = None  # what the remote conversation holds now, when the provider knows
    # Kept on the reply message's metadata (e.g. the offline assistant's confidence and candidates).
    reply_metadata: dict = field(default_factory=dict)
    # When set, the reply is held as a draft for staff in every AI mode, with this reason shown.
    hold_reason: str = ""
    # Remote facts (providers whose threads live remotely):
    sent_message_ids: list[int] = field(default_factory=list)  # local messages in this response's input
    # The local messages are already in the conversation (a lost request's input, found there).
    confirmed_message_ids: list[int] = field(default_factory=list)
    last_item_id: str | None = None  # the conversation's newest item once this response finished
    adopted: bool = False  # the answer of a request whose reply was lost, found in the conversation
    # Code interpreter (OpenAI): files its code wrote, attached to the reply
    # ([{"filename", "content_type", "data": bytes}]), and the containers to charge for: those this
    # response used that no earlier step of the thread was charged for (one charge per container).
    output_files: list[dict] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)


class ProviderError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientProviderError(ProviderError):
    """Worth retrying later (429, 5xx, timeouts, a busy conversation). `ambiguous` says the call may
    have been processed although no answer came back (a timeout, a dropped connection, a 5xx);
    a clean error (429, a busy conversation) means nothing was done."""

    def __init__(self, code: str, message: str, retry_after: float | None = None, *, ambiguous: bool = False):
        super().__init__(code, message)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class PermanentProviderError(ProviderError):
    """Retrying will not help (401, 400, no quota). needs_staff flags it for a person."""

    def __init__(self, code: str, message: str, needs_staff: bool = False):
        super().__init__(code, message)
        self.needs_staff = needs_staff


class StepHooks(Protocol):
    """What the engine offers a provider during one step."""

    def before_call(self, *, paid: bool = False) -> None:
        """Call before each remote call: renews the step's lease when due (and before a paid call,
        always checks that the run is still ours and active). Raises the engine's StepStopped."""

    def conversation_created(self, remote_id: str, *, reason: str = "", last_item_id: str | None = None) -> None:
        """A conversation now exists remotely: record it at once (a later failure must not orphan it)."""

    def file_uploaded(self, attachment_id: int, file_id: str) -> None:
        """An attachment now exists remotely as this file."""


class NoHooks:
    """Hooks that do nothing: for calls made outside a run step (polls from webhooks, tests)."""

    def before_call(self, *, paid: bool = False) -> None:
        return None

    def conversation_created(self, remote_id: str, *, reason: str = "", last_item_id: str | None = None) -> None:
        return None

    def file_uploaded(self, attachment_id: int, file_id: str) -> None:
        return None


@dataclass
class RunContext:
    """Everything a provider needs for one step, gathered by the engine from the local database."""

    run: Run
    thread: Thread
    pending_messages: list[Message]  # what this run sends (fixed when it was claimed), in order
    customer_messages: list[Message]  # the customer messages this run answers
    instructions: str
    tools: list[dict]  # JSON-schema tool specs from the registry
    metadata: dict[str, str]
    safety_identifier: str = ""
    prompt_cache_key: str = ""
    # Why staff asked, for a run that has no new customer message to answer (never an empty input).
    request_note: str = ""
    # A call of this run may have been processed unseen: look in the conversation before sending.
    ambiguous: bool = False
    hooks: StepHooks = field(default_factory=NoHooks)

    @classmethod
    def for_poll(cls, run: Run, hooks: StepHooks | None = None) -> RunContext:
        """The run and its thread only: enough to poll a response already at the provider."""
        return cls(
            run=run,
            thread=run.thread,
            pending_messages=[],
            customer_messages=[],
            instructions="",
            tools=[],
            metadata={},
            hooks=hooks or NoHooks(),
        )


class Provider(Protocol):
    name: str
    remote: bool  # True when threads live at the provider

    def create_thread(self, thread: Thread, metadata: dict[str, str]) -> str: ...

    def update_thread(self, thread: Thread, metadata: dict[str, str]) -> None: ...

    def delete_thread(self, thread: Thread) -> None: ...

    def start_run(self, ctx: RunContext) -> StepResult: ...

    def poll_run(self, ctx: RunContext) -> StepResult: ...

    def submit_tool_outputs(self, ctx: RunContext, outputs: list[dict]) -> StepResult: ...

    def cancel_run(self, run: Run, response_id: str = "") -> None: ...

    def delete_message(
        self, thread: Thread, message: Message, *, fingerprints: set[str], file_ids: frozenset[str] = frozenset()
    ) -> int:
        """Delete the remote copies of a removed message or attachment (found by the message's id, by
        fingerprints of its text: assistants.redaction.remote_text_matches, or by the uploaded files
        an item carries); returns how many items were deleted. A provider without remote threads
        deletes nothing."""
        ...
