"""The OpenAI provider: a thread is a conversation, a run is a background response.

This is the only module that imports ``openai``. Every call goes out with the SDK's own
retries OFF (``max_retries=0``): a POST /responses that timed out may still have created a
response, and the SDK would send it again. The run engine retries instead, with backoff that
honours Retry-After (also above the 120 s the SDK gives up at), and it publishes at most one
reply per run locally, so an orphaned remote response can cost tokens but never a second reply.

Messages reach the conversation as the ``input`` of the next response, in order; a re-created
or rotated conversation is seeded with items (at most 20 per call).
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from contextlib import contextmanager

import openai
from django.conf import settings

from assistants import context, remote_files
from assistants.metadata import MetadataError, validate_metadata
from assistants.models import KnowledgeArticle, Message, Thread
from assistants.providers.base import (
    PermanentProviderError,
    RunContext,
    StepResult,
    ToolCall,
    TransientProviderError,
    Usage,
)

logger = logging.getLogger(__name__)

QUOTA_CODES = {
    "insufficient_quota",
    "credit_balance_exhausted",
    "organization_spend_limit_exceeded",
    "project_spend_limit_exceeded",
    "organization_usage_limit_exceeded",
}
LOCKED_RETRY_AFTER = 1.0  # a busy conversation frees up when its response ends
MAX_ITEMS_PER_CALL = 20
ROLE_OF = {Message.Role.USER: "user", Message.Role.ASSISTANT: "assistant", Message.Role.DEVELOPER: "developer"}

_client = None
_client_override = None  # tests point this at the emulator's in-process transport


def get_client():
    global _client
    if _client_override is not None:
        return _client_override
    if _client is None:
        _client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY or "missing",
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.OPENAI_TIMEOUT,
            max_retries=0,
            webhook_secret=settings.OPENAI_WEBHOOK_SECRET or None,
        )
    return _client


def set_client(client) -> None:
    """Use this client (or None for the default one built from settings)."""
    global _client_override, _client
    _client_override = client
    _client = None


# --- errors ----------------------------------------------------------------------------------


def retry_after_seconds(headers) -> float | None:
    """retry-after-ms, then retry-after (seconds or an HTTP date); any size, unlike the SDK."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


def _error_code(exc) -> str:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


def _error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return getattr(exc, "message", None) or str(exc)


def translate(exc: Exception) -> Exception:
    """Map an SDK exception to the engine's transient/permanent errors."""
    if isinstance(exc, openai.APITimeoutError):
        return TransientProviderError("timeout", "The OpenAI API did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        return TransientProviderError("connection_error", "Could not reach the OpenAI API.")
    if not isinstance(exc, openai.APIStatusError):
        return exc
    status, code, message = exc.status_code, _error_code(exc), _error_message(exc)
    retry_after = retry_after_seconds(exc.response.headers if exc.response is not None else None)
    type_ = (exc.body or {}).get("type") if isinstance(exc.body, dict) else None
    if status == 429 and (code in QUOTA_CODES or type_ == "insufficient_quota"):
        return PermanentProviderError(
            "insufficient_quota", f"The OpenAI account has no quota left: {message}", needs_staff=True
        )
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access"
        return PermanentProviderError(code or f"http_{status}", f"OpenAI {what}: {message}", needs_staff=True)
    if code == "conversation_locked":
        return TransientProviderError("conversation_locked", message, retry_after or LOCKED_RETRY_AFTER)
    if status in (408, 409, 429) or status >= 500:
        return TransientProviderError(code or f"http_{status}", message, retry_after)
    return PermanentProviderError(code or f"http_{status}", f"OpenAI refused the request: {message}")


@contextmanager
def translated():
    try:
        yield
    except openai.APIError as exc:
        raise translate(exc) from exc


def _is_conversation_missing(exc: Exception) -> bool:
    if not isinstance(exc, openai.NotFoundError):
        return False
    return getattr(exc, "param", None) == "conversation" or "onversation" in _error_message(exc)


# --- webhooks --------------------------------------------------------------------------------


class WebhookRejected(ValueError):
    pass


def unwrap_webhook(body: bytes, headers) -> tuple[str, str]:
    """Verify a delivery's signature on the raw body; return (event type, object id)."""
    secret = settings.OPENAI_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("OPENAI_WEBHOOK_SECRET is not set")
    try:
        event = get_client().webhooks.unwrap(body, dict(headers), secret=secret)
    except (openai.InvalidWebhookSignatureError, ValueError) as exc:
        raise WebhookRejected(str(exc)) from exc
    data = getattr(event, "data", None)
    return str(getattr(event, "type", "")), str(getattr(data, "id", "") or "")


# --- the provider ----------------------------------------------------------------------------


def message_item(message: Message, client=None) -> dict:
    """One local message as a conversation input item (attachments as file parts)."""
    role = ROLE_OF.get(message.role, "user")
    attachments = list(message.attachments.all()) if client is not None and role == "user" else []
    if not attachments:
        return {"type": "message", "role": role, "content": message.body}
    parts: list[dict] = [{"type": "input_text", "text": message.body}]
    parts.extend(remote_files.attachment_parts(client, attachments))
    return {"type": "message", "role": role, "content": parts}


class OpenAIProvider:
    name = "openai"
    remote = True

    @property
    def model(self) -> str:
        return settings.OPENAI_MODEL

    @property
    def client(self):
        return get_client()

    def preload(self) -> None:
        """Do once, before a worker forks, what each child's first call would do (about half a
        second): build the client (its TLS context) and import the resources the runs use. The
        client opens no connection here, so the children share nothing but memory."""
        client = self.client
        for resource in ("conversations", "responses", "files", "vector_stores"):
            getattr(client, resource)  # each is imported on first access

    # threads ---------------------------------------------------------------------------------

    def create_thread(self, thread: Thread, metadata: dict[str, str], items: list[dict] | None = None) -> str:
        metadata = _checked_metadata(metadata)
        items = list(items or [])
        with translated():
            conversation = self.client.conversations.create(metadata=metadata, items=items[:MAX_ITEMS_PER_CALL])
            for start in range(MAX_ITEMS_PER_CALL, len(items), MAX_ITEMS_PER_CALL):
                self.client.conversations.items.create(conversation.id, items=items[start : start + MAX_ITEMS_PER_CALL])
        return conversation.id

    def update_thread(self, thread: Thread, metadata: dict[str, str]) -> None:
        metadata = _checked_metadata(metadata)
        if not thread.remote_id:
            return
        try:
            with translated():
                self.client.conversations.update(thread.remote_id, metadata=metadata)
        except PermanentProviderError as exc:
            if isinstance(exc.__cause__, openai.NotFoundError):
                return  # the next run re-creates the conversation with the current metadata
            raise

    def delete_thread(self, thread: Thread) -> None:
        if not thread.remote_id:
            return
        try:
            with translated():
                self.client.conversations.delete(thread.remote_id)
        except PermanentProviderError as exc:
            if not isinstance(exc.__cause__, openai.NotFoundError):
                raise

    def delete_file(self, file_id: str) -> None:
        """Delete an uploaded file (used by assistants.lifecycle); a missing file counts as deleted."""
        try:
            with translated():
                self.client.files.delete(file_id)
        except PermanentProviderError as exc:
            if not isinstance(exc.__cause__, openai.NotFoundError):
                raise

    def replace_conversation(self, thread: Thread, *, reason: str, exclude: list[int] | None = None) -> str:
        """Move the thread to a new conversation seeded from the local history; keep the old id."""
        items = context.seed_items(thread, exclude=exclude or [])
        metadata = thread.metadata or {}
        new_id = self.create_thread(thread, metadata, items=items)
        context.record_new_conversation(thread, new_id, reason=reason)
        return new_id

    # runs ------------------------------------------------------------------------------------

    def _tools(self, ctx: RunContext) -> list[dict]:
        tools = list(ctx.tools)
        vector_store = remote_files.knowledge_vector_store_id(self.client)
        if vector_store:
            tools.append({"type": "file_search", "vector_store_ids": [vector_store], "max_num_results": 4})
        return tools

    def _create_response(self, ctx: RunContext, input_items: list[dict]) -> StepResult:
        params = dict(
            model=self.model,
            conversation=ctx.thread.remote_id,
            background=True,
            store=True,
            instructions=ctx.instructions,
            tools=self._tools(ctx),
            max_output_tokens=settings.ASSISTANT_MAX_OUTPUT_TOKENS,
            metadata={"run": str(ctx.run.pk), "thread": str(ctx.thread.pk)},
            prompt_cache_key=ctx.prompt_cache_key or None,
            safety_identifier=ctx.safety_identifier or None,
            input=input_items,
        )
        params = {k: v for k, v in params.items() if v is not None}
        with translated():
            response = self.client.responses.create(**params)
        return self._result(ctx, response)

    def _with_conversation(self, ctx: RunContext, make_input, *, reason: str = "not_found") -> StepResult:
        """Create a response; if the conversation is gone (404), re-create it from local history."""
        try:
            return self._create_response(ctx, make_input(recreated=False))
        except PermanentProviderError as exc:
            if not _is_conversation_missing(exc.__cause__):
                raise
        logger.warning("thread %s: conversation %s not found; re-creating it", ctx.thread.pk, ctx.thread.remote_id)
        ctx.thread.remote_id = self.replace_conversation(
            ctx.thread, reason=reason, exclude=[m.pk for m in ctx.pending_messages]
        )
        return self._create_response(ctx, make_input(recreated=True))

    def start_run(self, ctx: RunContext) -> StepResult:
        thread = ctx.thread
        if context.over_budget(thread, ctx.pending_messages):
            thread.remote_id = self.replace_conversation(
                thread, reason="context_budget", exclude=[m.pk for m in ctx.pending_messages]
            )
        pending = list(ctx.pending_messages)
        if ctx.run.attempts and pending:
            # A previous attempt may have been processed but lost: its input (and maybe the
            # orphaned response's output) is already in the conversation.
            pending, adopted = self._after_lost_start(thread, pending)
            if adopted is not None:
                return adopted

        def make_input(recreated: bool) -> list[dict]:
            source = ctx.pending_messages if recreated else pending
            return [message_item(m, self.client) for m in source]

        return self._with_conversation(ctx, make_input)

    def poll_run(self, ctx: RunContext) -> StepResult:
        response_id = ctx.run.remote_response_id
        if not response_id:
            return self.start_run(ctx)
        try:
            with translated():
                response = self.client.responses.retrieve(response_id)
        except PermanentProviderError as exc:
            if isinstance(exc.__cause__, openai.NotFoundError):
                raise PermanentProviderError(
                    "response_not_found", "The provider lost this run's response; staff can retry the run."
                ) from exc
            raise
        return self._result(ctx, response)

    def submit_tool_outputs(self, ctx: RunContext, outputs: list[dict]) -> StepResult:
        calls = {c["call_id"]: c for c in ctx.run.provider_state.get("pending_calls", [])}
        todo = list(outputs)
        if ctx.run.attempts:
            done = self._outputs_in_conversation(ctx.thread)
            todo = [o for o in outputs if o["call_id"] not in done]

        def make_input(recreated: bool) -> list[dict]:
            items = []
            for out in outputs if recreated else todo:
                if recreated:  # the new conversation has no function_call to pair the output with
                    call = calls.get(out["call_id"], {})
                    items.append(
                        {
                            "type": "function_call",
                            "call_id": out["call_id"],
                            "name": out.get("name") or call.get("name", ""),
                            "arguments": json.dumps(call.get("arguments") or {}),
                        }
                    )
                items.append({"type": "function_call_output", "call_id": out["call_id"], "output": out["output"]})
            return items

        return self._with_conversation(ctx, make_input)

    def cancel_run(self, run) -> None:
        if not run.remote_response_id:
            return
        try:
            with translated():
                self.client.responses.cancel(run.remote_response_id)
        except PermanentProviderError as exc:
            # Already finished, already cancelled or gone: cancelling is idempotent.
            if isinstance(exc.__cause__, (openai.NotFoundError, openai.BadRequestError)):
                return
            raise

    # helpers ---------------------------------------------------------------------------------

    def _recent_items(self, thread: Thread, limit: int = 40) -> list:
        with translated():
            page = self.client.conversations.items.list(thread.remote_id, order="desc", limit=limit)
        return list(page.data)

    def _after_lost_start(self, thread: Thread, pending: list[Message]) -> tuple[list[Message], StepResult | None]:
        """Look for the pending messages at the end of the conversation. If a lost request put them
        there, do not send them again; if its orphaned response already answered, adopt that answer
        (function calls or text) instead of paying for a second response."""
        try:
            recent = list(reversed(self._recent_items(thread, limit=min(100, len(pending) * 2 + 20))))
        except PermanentProviderError:
            return pending, None  # a missing conversation is handled by the create call
        bodies = [m.body for m in pending]
        texts = [(n, _first_text(i)) for n, i in enumerate(recent) if getattr(i, "type", "") == "message"]
        for start in range(len(texts) - len(bodies), -1, -1):
            if [t for _, t in texts[start : start + len(bodies)]] != bodies:
                continue
            logger.info("thread %s: the input of a lost request is already in the conversation", thread.pk)
            after = recent[texts[start + len(bodies) - 1][0] + 1 :]
            calls = [i for i in after if getattr(i, "type", "") == "function_call"]
            answered = [i for i in after if getattr(i, "type", "") == "message" and i.role == "assistant"]
            state = {"model": self.model, "adopted_orphan": True}
            if calls:
                tool_calls = [ToolCall(i.call_id, i.name, _arguments(i.arguments)) for i in calls]
                return [], StepResult(status="requires_action", tool_calls=tool_calls, state=state)
            if answered:
                text = "\n".join(_item_text(i) for i in answered)
                return [], StepResult(status="completed", text=text, state=state)
            return [], None
        return pending, None

    def _outputs_in_conversation(self, thread: Thread) -> set[str]:
        try:
            recent = self._recent_items(thread)
        except PermanentProviderError:
            return set()
        return {i.call_id for i in recent if getattr(i, "type", "") == "function_call_output"}

    def _result(self, ctx: RunContext, response) -> StepResult:
        state = {"model": getattr(response, "model", None) or self.model}
        status = getattr(response, "status", None) or "in_progress"
        base = dict(response_id=response.id, state=state)
        if status in ("queued", "in_progress"):
            return StepResult(status="in_progress", **base)
        usage = _usage(response)
        # What the conversation holds after this response: the next run's budget check starts here.
        base["context_tokens"] = usage.input_tokens + usage.output_tokens
        if status == "failed":
            error = getattr(response, "error", None)
            code = getattr(error, "code", None) or "response_failed"
            message = getattr(error, "message", None) or "The model failed to answer."
            return StepResult(
                status="failed", usage=usage, error_code=str(code), error_message=f"OpenAI: {message}", **base
            )
        if status == "cancelled":
            return StepResult(status="cancelled", usage=usage, error_message="The response was cancelled.", **base)
        if status == "incomplete":
            details = getattr(response, "incomplete_details", None)
            reason = getattr(details, "reason", None) or "unknown"
            return StepResult(
                status="failed",
                usage=usage,
                error_code=f"incomplete_{reason}"[:60],
                error_message=f"The model stopped before finishing its reply ({reason}).",
                **base,
            )
        calls = []
        for item in response.output or []:
            if getattr(item, "type", "") == "function_call":
                calls.append(ToolCall(call_id=item.call_id, name=item.name, arguments=_arguments(item.arguments)))
        if calls:
            return StepResult(status="requires_action", tool_calls=calls, usage=usage, **base)
        text, file_ids = _output_text_and_citations(response)
        return StepResult(status="completed", text=text, citations=_citations(file_ids), usage=usage, **base)

    def sync_knowledge_base(self) -> dict:
        with translated():
            return remote_files.sync_knowledge_base(self.client)


def _checked_metadata(metadata: dict) -> dict[str, str]:
    try:
        return validate_metadata(dict(metadata or {}))
    except MetadataError as exc:
        raise PermanentProviderError("invalid_metadata", f"Metadata not sent: {exc}") from exc


def _usage(response) -> Usage:
    usage = getattr(response, "usage", None)
    if usage is None:
        return Usage()
    details = getattr(usage, "input_tokens_details", None)
    return Usage(
        input_tokens=usage.input_tokens or 0,
        cached_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0,
        output_tokens=usage.output_tokens or 0,
    )


def _arguments(raw) -> dict:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {"_invalid_json": str(raw)[:200]}
    return value if isinstance(value, dict) else {"_value": value}


def _item_text(item) -> str:
    content = getattr(item, "content", None)
    if isinstance(content, str):
        return content
    texts = [getattr(p, "text", None) for p in content or []]
    return "\n".join(t for t in texts if isinstance(t, str))


def _first_text(item) -> str:
    content = getattr(item, "content", None)
    if isinstance(content, str):
        return content
    for part in content or []:
        if isinstance(getattr(part, "text", None), str):
            return part.text
    return ""


def _output_text_and_citations(response) -> tuple[str, list[str]]:
    texts, file_ids = [], []
    for item in response.output or []:
        if getattr(item, "type", "") != "message":
            continue
        for part in getattr(item, "content", None) or []:
            if getattr(part, "type", "") != "output_text":
                continue
            texts.append(part.text or "")
            for note in getattr(part, "annotations", None) or []:
                if getattr(note, "type", "") == "file_citation" and getattr(note, "file_id", None):
                    file_ids.append(note.file_id)
    return "\n".join(texts), file_ids


def _citations(file_ids: list[str]) -> list[dict]:
    """Citations point at our own articles only: any other file id is dropped."""
    if not file_ids:
        return []
    articles = {a.remote_file_id: a for a in KnowledgeArticle.objects.filter(remote_file_id__in=set(file_ids))}
    out, seen = [], set()
    for fid in file_ids:
        article = articles.get(fid)
        if article is not None and article.pk not in seen:
            seen.add(article.pk)
            out.append({"article_id": article.pk, "title": article.title})
    return out
