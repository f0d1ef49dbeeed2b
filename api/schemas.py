"""Request and response shapes (pydantic, through django-ninja), after the seeds' threads API."""

from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from assistants.models import Message, Run, Thread
from tickets.models import Ticket


def _storable(text: str) -> str:
    """Text a database can store: no NUL (PostgreSQL refuses it) and no lone surrogates."""
    if "\x00" in text:
        raise ValueError("NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("not valid Unicode text") from exc
    return text


Text = Annotated[str, AfterValidator(_storable)]
MetadataKey = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_storable)]
MetadataValue = Annotated[str, Field(max_length=512), AfterValidator(_storable)]
MAX_CONTENT = 20_000


# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorDetail


# --- threads -----------------------------------------------------------------------------------


class FlagsOut(Schema):
    escalated: bool
    feedback_rating: str | None
    language_preference: str
    user_is_premium: bool
    conversation_topic: str


class ThreadOut(Schema):
    id: str
    object: Literal["thread"]
    created_at: int
    ticket: str
    subject: str
    status: Literal[tuple(Ticket.Status.values)]  # type: ignore[valid-type]
    ai_mode: Literal[tuple(Ticket.AIMode.values)]  # type: ignore[valid-type]
    ai_state: Literal[tuple(Thread.AIState.values)]  # type: ignore[valid-type]
    state: Literal[tuple(Thread.State.values)]  # type: ignore[valid-type]
    customer_email: str
    flags: FlagsOut
    metadata: dict[str, str]


class ThreadList(Schema):
    object: Literal["list"]
    data: list[ThreadOut]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ThreadCreate(Schema):
    subject: Annotated[Text, Field(min_length=1, max_length=200)]
    content: Annotated[Text, Field(min_length=1, max_length=MAX_CONTENT)]
    customer_email: Annotated[Text, Field(min_length=3, max_length=254)] | None = Field(
        None, description="Staff tokens: the customer the ticket is for (created if new). Customer tokens: leave out."
    )


class MetadataChange(Schema):
    metadata: dict[MetadataKey, MetadataValue | None] = Field(
        ..., description="Keys to set (strings); null removes a custom key.", max_length=16
    )


class Deleted(Schema):
    id: str
    object: Literal["thread.deleted", "thread.message.deleted"]
    deleted: bool


class MessageDeleted(Deleted):
    quoted_by: list[str] = Field(
        ...,
        description="Later messages of the thread that repeat what was removed (digits, an email address, "
        "a long quote): delete them too if they should go.",
    )


# --- messages ----------------------------------------------------------------------------------


class TextValue(Schema):
    value: str
    annotations: list[dict] = []


class TextContent(Schema):
    type: Literal["text"]
    text: TextValue


class FileOut(Schema):
    id: str
    object: Literal["thread.message.file"]
    created_at: int
    message_id: str
    filename: str
    bytes: int
    content_type: str
    download_url: str
    redacted: bool


class FileList(Schema):
    object: Literal["list"]
    data: list[FileOut]
    first_id: str | None
    last_id: str | None
    has_more: bool


class MessageOut(Schema):
    id: str
    object: Literal["thread.message"]
    created_at: int
    thread_id: str
    role: Literal[tuple(Message.Role.values)]  # type: ignore[valid-type]
    author_type: Literal["customer", "staff", "assistant", "system"]
    internal: bool
    draft_state: Literal[tuple(Message.DraftState.values)]  # type: ignore[valid-type]
    status: Literal["completed"]
    content: list[TextContent]
    redacted: bool
    attachments: list[FileOut]
    run_id: str | None
    metadata: dict[str, str]


class MessageList(Schema):
    object: Literal["list"]
    data: list[MessageOut]
    first_id: str | None
    last_id: str | None
    has_more: bool


class MessageCreate(Schema):
    content: Annotated[Text, Field(min_length=1, max_length=MAX_CONTENT)]
    internal: bool = Field(False, description="Staff tokens: an internal note instead of a reply.")


# --- runs --------------------------------------------------------------------------------------


class RunError(Schema):
    code: str
    message: str


class Usage(Schema):
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    cost: str


class RunOut(Schema):
    id: str
    object: Literal["thread.run"]
    created_at: int
    thread_id: str
    status: Literal[tuple(Run.Status.values)]  # type: ignore[valid-type]
    trigger: Literal[tuple(Run.Trigger.values)]  # type: ignore[valid-type]
    model: str
    started_at: int | None
    completed_at: int | None
    last_error: RunError | None
    usage: Usage | None


class RunList(Schema):
    object: Literal["list"]
    data: list[RunOut]
    first_id: str | None
    last_id: str | None
    has_more: bool
