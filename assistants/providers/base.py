"""The small protocol every model provider implements. The run engine above it is provider-blind."""

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
    state: dict = field(default_factory=dict)  # provider-private, kept on Run.provider_state
    context_tokens: int | None = None  # what the remote conversation holds now, when the provider knows
    # Kept on the reply message's metadata (e.g. the offline assistant's confidence and candidates).
    reply_metadata: dict = field(default_factory=dict)
    # When set, the reply is held as a draft for staff in every AI mode, with this reason shown.
    hold_reason: str = ""


class ProviderError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientProviderError(ProviderError):
    """Worth retrying later (429, 5xx, timeouts, a busy conversation)."""

    def __init__(self, code: str, message: str, retry_after: float | None = None):
        super().__init__(code, message)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """Retrying will not help (401, 400, no quota). needs_staff flags it for a person."""

    def __init__(self, code: str, message: str, needs_staff: bool = False):
        super().__init__(code, message)
        self.needs_staff = needs_staff


@dataclass
class RunContext:
    """Everything a provider needs for one step, gathered by the engine from the local database."""

    run: Run
    thread: Thread
    pending_messages: list[Message]  # not yet sent to the provider, in order
    customer_messages: list[Message]  # the customer messages this run answers
    instructions: str
    tools: list[dict]  # JSON-schema tool specs from the registry
    metadata: dict[str, str]
    safety_identifier: str = ""
    prompt_cache_key: str = ""

    @classmethod
    def for_poll(cls, run: Run) -> RunContext:
        """The run and its thread only: enough to poll a response already at the provider."""
        return cls(
            run=run,
            thread=run.thread,
            pending_messages=[],
            customer_messages=[],
            instructions="",
            tools=[],
            metadata={},
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

    def cancel_run(self, run: Run) -> None: ...
