"""The OpenAI provider: a thread is a conversation, a run is a background response.

Every call goes out with the SDK's own retries off: a POST /responses that timed out may still
have created a response, and the SDK would send it again. The engine retries instead, with
backoff that honours Retry-After, and after an ambiguous failure this provider first looks in the
conversation for what the lost request did (recovery.py), anchored on the remote item id recorded
before the call.

A run sends exactly the messages the engine fixed for it, as the input of its first response; a
response is never created with an empty input. A rotated or re-created conversation is seeded with
items (at most 20 per call). The provider writes no rows: it answers with facts (a StepResult) and
reports what it created remotely through the step's hooks.
"""

from __future__ import annotations

import logging

import openai
from django.conf import settings

from assistants.metadata import MetadataError, validate_metadata
from assistants.models import Thread
from assistants.providers.base import (
    PermanentProviderError,
    RunContext,
    StepResult,
    Usage,
)
from assistants.providers.openai import code_files, containers, context, recovery, remote_files
from assistants.providers.openai import items as conv_items
from assistants.providers.openai.client import get_client
from assistants.providers.openai.errors import (
    RETRYABLE_RESPONSE_ERRORS,
    is_conversation_missing,
    is_not_found,
    translated,
)

logger = logging.getLogger(__name__)

MAX_ITEMS_PER_CALL = 20
NOT_RUN_OUTPUT = '{"error": "not run: the earlier assistant run ended before this tool call was answered"}'


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

    def create_thread(self, thread: Thread, metadata: dict[str, str]) -> str:
        metadata = _checked_metadata(metadata)
        with translated():
            return self.client.conversations.create(metadata=metadata).id

    def update_thread(self, thread: Thread, metadata: dict[str, str]) -> None:
        metadata = _checked_metadata(metadata)
        if not thread.remote_id:
            return
        try:
            with translated():
                self.client.conversations.update(thread.remote_id, metadata=metadata)
        except PermanentProviderError as exc:
            if is_not_found(exc.__cause__):
                return  # the next run re-creates the conversation with the current metadata
            raise

    def delete_thread(self, thread: Thread) -> None:
        if not thread.remote_id:
            return
        try:
            with translated():
                self.client.conversations.delete(thread.remote_id)
        except PermanentProviderError as exc:
            if not is_not_found(exc.__cause__):
                raise

    def delete_message(self, thread: Thread, message, *, fingerprints: set[str], file_ids=frozenset()) -> int:
        """Delete a removed message's items from every conversation of the thread still held
        remotely (the current one, and rotated ones, which hold seeded copies): the item with the
        message's remote id, any message item whose text matches the fingerprints, and any message
        item that carries one of `file_ids` (a removed attachment, as an input_file/input_image)."""
        from assistants.redaction import remote_text_matches

        conversations = [thread.remote_id] if thread.remote_id else []
        conversations += [h["id"] for h in thread.remote_history or [] if h.get("id") and h.get("reason") != "deleted"]
        deleted = 0
        for conversation_id in dict.fromkeys(conversations):
            try:
                with translated():
                    found = [
                        item.id
                        for item in self.client.conversations.items.list(conversation_id, order="asc", limit=100)
                        if (message.remote_id and item.id == message.remote_id)
                        or (
                            getattr(item, "type", "") == "message"
                            and (
                                remote_text_matches(conv_items.item_text(item), fingerprints)
                                or bool(conv_items.item_file_ids(item) & file_ids)
                            )
                        )
                    ]
            except PermanentProviderError as exc:
                if is_not_found(exc.__cause__):
                    continue  # that conversation is gone, and the text with it
                raise
            for item_id in found:
                try:
                    with translated():
                        self.client.conversations.items.delete(item_id, conversation_id=conversation_id)
                except PermanentProviderError as exc:
                    if not is_not_found(exc.__cause__):
                        raise
                deleted += 1
        return deleted

    def delete_file(self, file_id: str) -> None:
        """Delete an uploaded file (used by assistants.lifecycle); a missing file counts as deleted."""
        try:
            with translated():
                self.client.files.delete(file_id)
        except PermanentProviderError as exc:
            if not is_not_found(exc.__cause__):
                raise

    def _replace_conversation(self, ctx: RunContext, *, reason: str) -> None:
        """Move the thread to a new conversation seeded from the local history (the messages this
        run sends are left out: they are its input). The engine records it at once, and again with
        its newest item once seeded, so that item anchors a later recovery."""
        thread = ctx.thread
        seed = context.seed_items(thread, exclude=[m.pk for m in ctx.pending_messages])
        new_id = self.create_thread(thread, thread.metadata or {})
        ctx.hooks.conversation_created(new_id, reason=reason, last_item_id=None)
        last = None
        for start in range(0, len(seed), MAX_ITEMS_PER_CALL):
            ctx.hooks.before_call()
            with translated():
                page = self.client.conversations.items.create(new_id, items=seed[start : start + MAX_ITEMS_PER_CALL])
            last = page.last_id or last
        if last:
            ctx.hooks.conversation_created(new_id, reason=reason, last_item_id=last)

    # runs ------------------------------------------------------------------------------------

    def _tools(self, ctx: RunContext) -> list[dict]:
        tools = list(ctx.tools)
        vector_store = remote_files.knowledge_vector_store_id(self.client)
        if vector_store:
            tools.append({"type": "file_search", "vector_store_ids": [vector_store], "max_num_results": 4})
        if settings.ASSISTANT_CODE_INTERPRETER:
            tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
        return tools

    def _create_response(self, ctx: RunContext, input_items: list[dict], sent: list[int]) -> StepResult:
        if not input_items:
            # Nothing new to answer: the model would answer the last turn again. Never paid for.
            raise PermanentProviderError("empty_input", "The run had nothing to send; no response was created.")
        params = dict(
            model=self.model,
            conversation=ctx.thread.remote_id,
            background=True,
            store=True,
            instructions=ctx.instructions,
            tools=self._tools(ctx),
            max_output_tokens=settings.ASSISTANT_MAX_OUTPUT_TOKENS,
            metadata={"run": str(ctx.run.pk), "thread": str(ctx.thread.pk), "attempt": str(ctx.run.attempts)},
            prompt_cache_key=ctx.prompt_cache_key or None,
            safety_identifier=ctx.safety_identifier or None,
            input=input_items,
        )
        params = {k: v for k, v in params.items() if v is not None}
        ctx.hooks.before_call(paid=True)
        with translated():
            response = self.client.responses.create(**params)
        result = self._result(ctx, response)
        result.sent_message_ids = sent
        return result

    def _with_conversation(self, ctx: RunContext, make_input) -> StepResult:
        """Create a response; if the conversation is gone (404), re-create it from local history."""
        try:
            return self._create_response(ctx, *make_input())
        except PermanentProviderError as exc:
            if not is_conversation_missing(exc.__cause__):
                raise
        logger.warning("thread %s: conversation %s not found; re-creating it", ctx.thread.pk, ctx.thread.remote_id)
        self._replace_conversation(ctx, reason="not_found")
        return self._create_response(ctx, *make_input(recreated=True))

    def _look_again(self, ctx: RunContext, sent: StepResult) -> StepResult:
        """After sending again following an ambiguous call: the lost request's response may have
        finished between the look and the send (the conversation was no longer busy, so the send
        went through). Its items are then the ones after the anchor: cancel the new response, which
        has appended nothing yet, and adopt the lost one's answer."""
        if sent.status != "in_progress":
            return sent
        with translated():
            adopted = recovery.lost_answer(self.client, ctx, model=self.model)
        if adopted is None:
            return sent
        self.cancel_run(ctx.run, sent.response_id)
        logger.info("run %s: cancelled %s, the lost request had answered meanwhile", ctx.run.pk, sent.response_id)
        adopted.state["cancelled_duplicate"] = sent.response_id
        return adopted

    def start_run(self, ctx: RunContext) -> StepResult:
        if ctx.ambiguous:
            with translated():
                adopted = recovery.lost_answer(self.client, ctx, model=self.model)
            if adopted is not None:
                return adopted
        if context.over_budget(ctx.thread, ctx.pending_messages):
            self._replace_conversation(ctx, reason="context_budget")

        def make_input(recreated: bool = False) -> tuple[list[dict], list[int]]:
            # Function calls an earlier run left unanswered must get an output before anything else.
            open_calls = [] if recreated else (ctx.thread.remote_state or {}).get("open_calls", [])
            items = [conv_items.call_output_item(c["call_id"], NOT_RUN_OUTPUT) for c in open_calls]
            items += [
                conv_items.message_item(m, self.client, ctx.hooks, look_first=ctx.ambiguous)
                for m in ctx.pending_messages
            ]
            if not ctx.pending_messages and ctx.request_note:
                items.append({"type": "message", "role": "developer", "content": ctx.request_note})
            return items, [m.pk for m in ctx.pending_messages]

        with translated():
            sent = self._with_conversation(ctx, make_input)
        return self._look_again(ctx, sent) if ctx.ambiguous else sent

    def poll_run(self, ctx: RunContext) -> StepResult:
        response_id = ctx.run.remote_response_id
        if not response_id:
            return self.start_run(ctx)
        try:
            with translated():
                response = self.client.responses.retrieve(response_id)
        except PermanentProviderError as exc:
            if is_not_found(exc.__cause__):
                raise PermanentProviderError(
                    "response_not_found", "The provider lost this run's response; staff can retry the run."
                ) from exc
            raise
        return self._result(ctx, response)

    def submit_tool_outputs(self, ctx: RunContext, outputs: list[dict]) -> StepResult:
        if ctx.ambiguous:
            with translated():
                adopted = recovery.lost_answer(self.client, ctx, model=self.model)
            if adopted is not None:
                return adopted
        calls = {c["call_id"]: c for c in ctx.run.provider_state.get("pending_calls", [])}

        def make_input(recreated: bool = False) -> tuple[list[dict], list[int]]:
            items = []
            for out in outputs:
                if recreated:  # the new conversation has no function_call to pair the output with
                    items.append(conv_items.function_call_item({**calls.get(out["call_id"], {}), **out}))
                items.append(conv_items.call_output_item(out["call_id"], out["output"]))
            return items, []

        with translated():
            sent = self._with_conversation(ctx, make_input)
        return self._look_again(ctx, sent) if ctx.ambiguous else sent

    def cancel_run(self, run, response_id: str = "") -> None:
        response_id = response_id or run.remote_response_id
        if not response_id:
            return
        try:
            with translated():
                self.client.responses.cancel(response_id)
        except PermanentProviderError as exc:
            # Already finished, already cancelled or gone: cancelling is idempotent.
            if isinstance(exc.__cause__, (openai.NotFoundError, openai.BadRequestError)):
                return
            raise

    # helpers ---------------------------------------------------------------------------------

    def _result(self, ctx: RunContext, response) -> StepResult:
        state = {"model": getattr(response, "model", None) or self.model}
        containers.charge_once(ctx, [], state)  # the run's charged containers stay in its state
        status = getattr(response, "status", None) or "in_progress"
        base = dict(response_id=response.id, state=state)
        if status in ("queued", "in_progress"):
            return StepResult(status="in_progress", **base)
        usage = _usage(response)
        # What the conversation holds after this response: the next run's budget check starts here.
        base["context_tokens"] = usage.input_tokens + usage.output_tokens
        if status == "failed":
            error = getattr(response, "error", None)
            code = str(getattr(error, "code", None) or "response_failed")
            message = getattr(error, "message", None) or "The model failed to answer."
            return StepResult(
                status="failed",
                usage=usage,
                error_code=code,
                error_message=f"OpenAI: {message}",
                retryable=code in RETRYABLE_RESPONSE_ERRORS,
                **base,
            )
        if status == "cancelled":
            return StepResult(status="cancelled", usage=usage, error_message="The response was cancelled.", **base)
        output = list(response.output or [])
        if output and getattr(output[-1], "id", None):
            base["last_item_id"] = output[-1].id
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
        used = containers.charge_once(ctx, conv_items.containers(output), state)
        calls = conv_items.tool_calls(output)
        if calls:
            return StepResult(status="requires_action", tool_calls=calls, usage=usage, containers=used, **base)
        text, file_ids = conv_items.output_text_and_citations(output)
        return StepResult(
            status="completed",
            text=text,
            citations=conv_items.citations(file_ids),
            usage=usage,
            containers=used,
            output_files=code_files.download(self.client, conv_items.container_files(output)),
            **base,
        )

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
