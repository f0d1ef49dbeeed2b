"""The run engine: messages in, one run per customer turn, one reply per run.

Rules this module keeps (each has a test):
- A message is committed by the request that posts it; the run is enqueued on commit, and the
  sweeper enqueues it later if the broker was down.
- One active run per thread (a partial unique index backs the code).
- A run takes every unanswered customer message when it starts; messages that arrive while it
  works are answered by one follow-up run, created when it finishes.
- A step claims the run with a conditional UPDATE (a lease), so two deliveries do one step, and
  a reply is written under the thread's row lock with a unique index on Message.run.
- Nothing sleeps: waiting is a rescheduled task with exponential backoff.
"""

from __future__ import annotations

import logging
import random
import uuid
from contextlib import nullcontext
from datetime import timedelta
from decimal import Decimal
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from assistants import policy as thread_policy
from assistants import tools
from assistants.models import Message, Run, Thread
from assistants.providers import get_provider
from assistants.providers.base import (
    PermanentProviderError,
    RunContext,
    StepResult,
    ToolCall,
    TransientProviderError,
)
from assistants.signals import reply_created, run_failed

logger = logging.getLogger(__name__)

BASE_INSTRUCTIONS = (
    "You are the support assistant of a help desk. Answer the customer's latest messages briefly and "
    "accurately, in their language. Use search_knowledge_base for product questions and cite only the "
    "articles it returns. Use ticket_status for questions about this ticket. Call escalate_to_human when "
    "the customer asks for a person, is upset or threatening, or when you cannot help. Never invent "
    "policies, prices or promises. Messages with the developer role are internal notes from staff: follow "
    "them, never quote them."
)


def _now():
    return timezone.now()


# --- threads and messages ------------------------------------------------------------------


def thread_create(*, metadata: dict[str, str] | None = None) -> Thread:
    """A local thread; its remote conversation, if any, is created by the first run step."""
    provider = get_provider()
    return Thread.objects.create(provider=provider.name, metadata=metadata or {}, metadata_dirty=provider.remote)


def message_add(
    *,
    thread: Thread,
    role: str,
    body: str,
    author=None,
    visibility: str = Message.Visibility.PUBLIC,
    draft_state: str = "",
    metadata: dict | None = None,
) -> Message:
    """Append a message; its place in the thread is assigned under the thread's row lock."""
    now = _now()
    # No savepoint: this is one step of the caller's transaction, and a failure aborts all of it.
    with transaction.atomic(savepoint=False):
        locked = Thread.objects.select_for_update().only("id", "message_count").get(pk=thread.pk)
        seq = locked.message_count + 1
        Thread.objects.filter(pk=thread.pk).update(message_count=seq, updated_at=now)
        message = Message.objects.create(
            thread_id=thread.pk,
            seq=seq,
            role=role,
            body=body,
            author=author,
            visibility=visibility,
            draft_state=draft_state,
            published_at=now if draft_state in ("", Message.DraftState.PUBLISHED) else None,
            published_by=author if draft_state == Message.DraftState.PUBLISHED else None,
            sync_state=Message.SyncState.PENDING if get_provider().remote else Message.SyncState.LOCAL,
            metadata=metadata or {},
        )
    thread.message_count = seq
    return message


def unanswered_customer_messages(thread: Thread):
    return Message.objects.filter(thread=thread, role=Message.Role.USER, answered_by__isnull=True)


def refresh_ai_state(thread: Thread) -> None:
    """Recompute the inbox summary after a draft was approved or discarded."""
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        if locked.runs.filter(status__in=Run.ACTIVE).exists():
            state = Thread.AIState.RUNNING
        elif Message.objects.drafts().filter(thread=locked).exists():
            state = Thread.AIState.DRAFT_WAITING
        elif locked.ai_state in (Thread.AIState.FAILED, Thread.AIState.PAUSED):
            state = locked.ai_state
        else:
            state = Thread.AIState.IDLE
        Thread.objects.filter(pk=thread.pk).update(ai_state=state)
    thread.ai_state = state


# --- requesting runs -----------------------------------------------------------------------


def run_request(
    *, thread: Thread, trigger: str = Run.Trigger.CUSTOMER, requested_by=None, retry_of: Run | None = None
) -> Run | None:
    """Ask for a run on this thread. Returns the active run if there is one (the new messages
    wait for it or for its follow-up), None when the AI mode or a cap says no."""
    with transaction.atomic(savepoint=False):
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        if retry_of is not None:
            Message.objects.filter(answered_by=retry_of).update(answered_by=None)
        return _request_run_locked(locked, trigger=trigger, requested_by=requested_by)


def _request_run_locked(thread: Thread, *, trigger: str, requested_by=None) -> Run | None:
    active = thread.runs.filter(status__in=Run.ACTIVE).first()
    if active is not None:
        return active
    staff_asked = trigger in (Run.Trigger.STAFF, Run.Trigger.RETRY)
    if thread_policy.for_thread(thread).reply_mode == "off" and not staff_asked:
        return None
    now = _now()
    if not staff_asked:
        cap = settings.ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR
        recent = thread.runs.filter(created_at__gte=now - timedelta(hours=1)).count()
        if recent >= cap:
            reason = (
                f"Assistant paused: this ticket had {recent} runs in the last hour, the cap is {cap}. "
                "It resumes when the hour has passed; staff can ask it now."
            )
            Thread.objects.filter(pk=thread.pk).update(ai_state=Thread.AIState.PAUSED, attention=reason)
            logger.info("thread %s: %s", thread.pk, reason)
            return None
    provider = get_provider()
    run = Run.objects.create(
        thread=thread,
        trigger=trigger,
        requested_by=requested_by,
        provider=provider.name,
        status=Run.Status.QUEUED,
        next_step_at=now,
    )
    Thread.objects.filter(pk=thread.pk).update(
        ai_state=Thread.AIState.RUNNING, attention="", run_count=F("run_count") + 1
    )
    transaction.on_commit(partial(enqueue_step, run.pk))
    return run


def run_cancel(*, run: Run, by=None) -> bool:
    """Cancel an active run (idempotent). Its customer messages stay answered by it."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if locked.status not in Run.ACTIVE:
            return False
        remote_id = locked.remote_response_id
        Run.objects.filter(pk=run.pk).update(
            status=Run.Status.CANCELLED,
            finished_at=_now(),
            lease_until=None,
            error_code="cancelled",
            error_message=f"Cancelled by {by}" if by else "Cancelled",
        )
    if remote_id:
        transaction.on_commit(partial(_cancel_remote, run.pk))
    refresh_ai_state(run.thread)
    return True


def _cancel_remote(run_id: int) -> None:
    from assistants import tasks

    try:
        tasks.cancel_remote_run.delay(run_id)
    except Exception:  # noqa: BLE001 - the remote response ends by itself; nothing is published
        logger.warning("could not enqueue remote cancel of run %s", run_id, exc_info=True)


def run_cancel_remote(*, run_id: int) -> None:
    run = Run.objects.get(pk=run_id)
    if not run.remote_response_id:
        return
    try:
        get_provider().cancel_run(run)
    except (TransientProviderError, PermanentProviderError) as exc:
        logger.warning("remote cancel of run %s failed: %s", run_id, exc)


def enqueue_step(run_id: int, delay: float = 0.0) -> None:
    """Send 'advance this run' to the broker. If the broker is down, the sweeper sends it later."""
    from assistants import tasks

    try:
        tasks.advance_run.apply_async(args=[run_id], countdown=delay if delay > 0 else None)
    except Exception:  # noqa: BLE001 - the run is committed; the sweeper will enqueue it
        logger.warning("broker unavailable; run %s waits for the sweeper", run_id, exc_info=True)


def backoff(attempt: int) -> float:
    """How long to wait before retrying after `attempt` failures: doubling, capped, with jitter."""
    base = settings.ASSISTANT_BACKOFF_BASE * (2**attempt)
    return min(base, settings.ASSISTANT_BACKOFF_MAX) * random.uniform(0.9, 1.1)


# A response still in progress is looked at again after half the time it has been running:
# an answer is noticed at most about half its own duration late (plus the first interval), and a
# long response costs few polls (one of 2 s: polls at 0.5, 1, 1.5, 2.25 s; one of 60 s: 12 polls).
# Doubling instead would notice a 2 s answer at 3.5 s.
POLL_LATENESS = 0.5


def poll_delay(waited: float) -> float:
    """When to poll again a response that has been running for `waited` seconds."""
    delay = min(max(settings.ASSISTANT_BACKOFF_BASE, waited * POLL_LATENESS), settings.ASSISTANT_BACKOFF_MAX)
    return delay * random.uniform(0.9, 1.1)


# --- advancing runs ------------------------------------------------------------------------


def _claim(run_id: int) -> str | None:
    """Take the run's lease with one conditional UPDATE; only one worker gets a row count of 1."""
    token = uuid.uuid4().hex
    now = _now()
    claimed = (
        Run.objects.filter(pk=run_id, status__in=Run.ACTIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            lease_until=now + timedelta(seconds=settings.ASSISTANT_STEP_LEASE),
            lease_token=token,
            steps=F("steps") + 1,
            # A lease that ran out means its holder died mid-step: that counts as a failed attempt,
            # so the provider checks what the lost step may have done before doing it again, and a
            # step that keeps killing its worker is given up on like any other.
            attempts=F("attempts") + Case(When(lease_until__isnull=False, then=1), default=0),
        )
    )
    return token if claimed == 1 else None


def _save(run: Run, token: str, **fields) -> bool:
    """Write a step's outcome and release the lease, only if the lease is still ours."""
    return Run.objects.filter(pk=run.pk, lease_token=token).update(lease_until=None, **fields) == 1


# Steps that need no waiting (running the tools and handing their outputs back) follow each other
# in the same task, each with its own claim; a wait is always a rescheduled task.
MAX_STEPS_PER_TASK = 4


def run_advance(*, run_id: int, max_steps: int = MAX_STEPS_PER_TASK) -> str:
    """Advance a run by one step, and by the steps after it while they are due at once.
    Returns what happened last, for logs and tests."""
    outcome = _advance_one_step(run_id)
    for _ in range(max_steps - 1):
        if outcome != "requires_action":
            break
        outcome = _advance_one_step(run_id)
    if outcome == "requires_action":
        transaction.on_commit(partial(enqueue_step, run_id))
    return outcome


def _advance_one_step(run_id: int) -> str:
    with transaction.atomic():
        # The claim and, for a new run, taking the customer's messages commit together.
        token = _claim(run_id)
        if token is None:
            return "not claimed"
        run = Run.objects.select_related("thread").get(pk=run_id)
        taken = _take_customer_messages(run, token) if run.status == Run.Status.QUEUED else None
    if run.deadline and _now() >= run.deadline:
        _finish_unsuccessfully(run, token, Run.Status.EXPIRED, "time_limit", _time_limit_message())
        return "expired"
    if run.attempts >= settings.ASSISTANT_MAX_ATTEMPTS:
        message = f"Gave up after {run.attempts} attempts: the step was interrupted each time."
        _finish_unsuccessfully(run, token, Run.Status.FAILED, "interrupted", message, needs_staff=True)
        return "failed"
    provider = get_provider()
    try:
        result = _step(provider, run, token, taken)
    except (TransientProviderError, SoftTimeLimitExceeded) as exc:
        if isinstance(exc, SoftTimeLimitExceeded):
            exc = TransientProviderError("step_timeout", "A step took too long; trying again.")
        return _retry_later(run, token, exc)
    except PermanentProviderError as exc:
        _finish_unsuccessfully(run, token, Run.Status.FAILED, exc.code, exc.message, needs_staff=exc.needs_staff)
        return "failed"
    return _apply(run, token, result, provider)


def _time_limit_message() -> str:
    return f"The assistant did not finish within {settings.ASSISTANT_RUN_TIME_LIMIT} s; staff can retry."


def _step(provider, run: Run, token: str, taken: list[Message] | None = None) -> StepResult:
    if run.status == Run.Status.QUEUED:
        policy = thread_policy.for_thread(run.thread)
        _ensure_remote_thread(provider, run.thread, policy)
        ctx = build_context(run, policy, customer_messages=taken)
        result = provider.start_run(ctx)
        if ctx.pending_messages and provider.remote:
            Message.objects.filter(pk__in=[m.pk for m in ctx.pending_messages]).update(
                sync_state=Message.SyncState.SYNCED
            )
        return result
    if run.status == Run.Status.IN_PROGRESS and provider.remote and run.remote_response_id:
        # A response in flight at the provider: the poll needs the run, not the conversation.
        return provider.poll_run(RunContext.for_poll(run))
    ctx = build_context(run)
    if run.status == Run.Status.IN_PROGRESS:
        return provider.poll_run(ctx)
    # REQUIRES_ACTION: run the tools once; a retried submit reuses the saved outputs.
    outputs = run.provider_state.get("outputs")
    if outputs is None:
        calls = [ToolCall.from_dict(c) for c in run.provider_state.get("pending_calls", [])]
        outputs = [
            {"call_id": c.call_id, "name": c.name, "output": tools.execute(run, c.name, c.arguments)} for c in calls
        ]
        run.provider_state = {**run.provider_state, "outputs": outputs}
        run.tool_calls = [*run.tool_calls, *[{**c.as_dict(), "output": o["output"]} for c, o in zip(calls, outputs)]]
        Run.objects.filter(pk=run.pk, lease_token=token).update(
            provider_state=run.provider_state, tool_calls=run.tool_calls
        )
    return provider.submit_tool_outputs(ctx, outputs)


def _take_customer_messages(run: Run, token: str) -> list[Message]:
    """The run answers every customer message nobody answers yet (a burst becomes one turn).
    Called inside the claim's transaction; returns the messages the run answers, in order."""
    Thread.objects.select_for_update().only("id").get(pk=run.thread_id)
    unanswered_customer_messages(run.thread).update(answered_by=run)
    taken = list(Message.objects.filter(answered_by=run).order_by("seq"))
    last = taken[-1] if taken else None
    # The time limit counts from the start: a run queued while no worker was up still answers.
    run.started_at = run.started_at or _now()
    run.deadline = run.deadline or run.started_at + timedelta(seconds=settings.ASSISTANT_RUN_TIME_LIMIT)
    Run.objects.filter(pk=run.pk, lease_token=token).update(
        answers_message=last, started_at=run.started_at, deadline=run.deadline
    )
    run.answers_message = last
    return taken


def _ensure_remote_thread(provider, thread: Thread, policy) -> None:
    if not provider.remote or thread.remote_id:
        return
    metadata = policy.metadata
    thread.remote_id = provider.create_thread(thread, metadata)
    Thread.objects.filter(pk=thread.pk).update(
        remote_id=thread.remote_id, metadata=metadata, metadata_synced_at=_now(), metadata_dirty=False
    )


def build_context(run: Run, policy=None, customer_messages: list[Message] | None = None) -> RunContext:
    thread = run.thread
    policy = policy or thread_policy.for_thread(thread)
    pending = list(
        thread.messages.filter(sync_state=Message.SyncState.PENDING)
        .exclude(draft_state__in=[Message.DraftState.DRAFT, Message.DraftState.DISCARDED])
        .prefetch_related("attachments")
        .order_by("seq")
    )
    customer = customer_messages
    if customer is None:
        customer = list(thread.messages.filter(role=Message.Role.USER, answered_by=run).order_by("seq"))
    instructions = BASE_INSTRUCTIONS + ("\n\n" + policy.instructions if policy.instructions else "")
    return RunContext(
        run=run,
        thread=thread,
        pending_messages=pending,
        customer_messages=customer,
        instructions=instructions,
        tools=tools.specs(),
        metadata=policy.metadata,
        safety_identifier=policy.safety_identifier,
        prompt_cache_key=f"thread-{thread.pk}",
    )


def estimate_cost(model: str, input_tokens: int, cached_tokens: int, output_tokens: int) -> Decimal:
    prices = settings.ASSISTANT_PRICES.get(model)
    if prices is None:
        return Decimal("0")
    p_in, p_cached, p_out = prices
    fresh = max(input_tokens - cached_tokens, 0)
    return ((fresh * p_in + cached_tokens * p_cached + output_tokens * p_out) / Decimal(1_000_000)).quantize(
        Decimal("0.000001")
    )


def _usage_fields(run: Run, result: StepResult, provider) -> tuple[dict, dict]:
    """F-expression updates adding this step's usage to the run and to its thread (none for a
    step that used nothing, such as a poll of a response still in progress)."""
    u = result.usage
    model = result.state.get("model") or getattr(provider, "model", provider.name)
    cost = estimate_cost(model, u.input_tokens, u.cached_tokens, u.output_tokens)
    run_fields = {"model": model}
    thread_fields = {}
    if u.input_tokens or u.cached_tokens or u.output_tokens:
        added = {
            "input_tokens": F("input_tokens") + u.input_tokens,
            "cached_tokens": F("cached_tokens") + u.cached_tokens,
            "output_tokens": F("output_tokens") + u.output_tokens,
            "cost": F("cost") + cost,
        }
        run_fields.update(added)
        thread_fields.update(added)
    if result.context_tokens is not None:
        thread_fields["context_tokens"] = result.context_tokens
    return run_fields, thread_fields


def _remote_ids(run: Run, result: StepResult) -> dict:
    if not result.response_id or result.response_id == run.remote_response_id:
        return {}
    return {
        "remote_response_id": result.response_id,
        "remote_response_ids": [*run.remote_response_ids, result.response_id],
    }


def _apply(run: Run, token: str, result: StepResult, provider) -> str:
    now = _now()
    run_usage, thread_usage = _usage_fields(run, result, provider)
    if result.status == "completed":
        return _complete(run, token, result, run_usage, thread_usage)
    if result.status in ("failed", "cancelled"):
        status = Run.Status.FAILED if result.status == "failed" else Run.Status.CANCELLED
        message = result.error_message or "The provider ended the run without a reply."
        _finish_unsuccessfully(run, token, status, result.error_code or result.status, message, extra=run_usage)
        _add_thread_usage(run, thread_usage)
        return result.status
    if result.status == "requires_action":
        cap = settings.ASSISTANT_MAX_TOOL_CALLS_PER_RUN
        if len(run.tool_calls) + len(result.tool_calls) > cap:
            _finish_unsuccessfully(
                run,
                token,
                Run.Status.FAILED,
                "tool_call_cap",
                f"Stopped: the assistant asked for more than {cap} tool calls in one run. A person should answer.",
                needs_staff=True,
                extra=run_usage,
            )
            _add_thread_usage(run, thread_usage)
            return "failed"
        state = {**result.state, "pending_calls": [c.as_dict() for c in result.tool_calls], "outputs": None}
        fields = {"status": Run.Status.REQUIRES_ACTION, "provider_state": state, "next_step_at": now, "attempts": 0}
        delay = None  # due at once: run_advance carries on (or enqueues it)
    else:  # in_progress: poll again later
        polling = run.status == Run.Status.IN_PROGRESS
        polls = run.provider_state.get("polls", 0) if polling else 0
        since = run.provider_state.get("waiting_since", now.timestamp()) if polling else now.timestamp()
        delay = poll_delay(now.timestamp() - since)
        state = {**result.state, "polls": polls + 1, "waiting_since": since}
        fields = {
            "status": Run.Status.IN_PROGRESS,
            "provider_state": state,
            "next_step_at": now + timedelta(seconds=delay),
            "attempts": 0,
        }
    # Only the run changes (a poll, a start) unless usage is added to the thread as well.
    with transaction.atomic() if thread_usage else nullcontext():
        if not _save(run, token, **fields, **_remote_ids(run, result), **run_usage):
            return "lease lost"
        _add_thread_usage(run, thread_usage)
        if delay is not None:
            transaction.on_commit(partial(enqueue_step, run.pk, delay))
    return result.status


def _add_thread_usage(run: Run, thread_usage: dict) -> None:
    if thread_usage:
        Thread.objects.filter(pk=run.thread_id).update(**thread_usage)


def _retry_later(run: Run, token: str, exc: TransientProviderError) -> str:
    attempts = run.attempts + 1
    if attempts >= settings.ASSISTANT_MAX_ATTEMPTS:
        message = f"Gave up after {attempts} attempts. Last error: {exc.message}"
        _finish_unsuccessfully(run, token, Run.Status.FAILED, exc.code, message, needs_staff=True)
        return "failed"
    delay = max(backoff(attempts), exc.retry_after or 0.0)
    next_at = _now() + timedelta(seconds=delay)
    if run.deadline and next_at >= run.deadline:
        message = f"The provider asked us to wait {delay:.0f} s, past this run's time limit. Last error: {exc.message}"
        _finish_unsuccessfully(run, token, Run.Status.FAILED, exc.code, message, needs_staff=True)
        return "failed"
    if _save(run, token, attempts=attempts, next_step_at=next_at, error_code=exc.code, error_message=exc.message):
        transaction.on_commit(partial(enqueue_step, run.pk, delay))
        return "retry"
    return "lease lost"


def _replies_this_turn(thread: Thread) -> int:
    last_customer = Message.objects.filter(thread=thread, role=Message.Role.USER).order_by("-seq").values("seq")[:1]
    return thread.messages.filter(
        role=Message.Role.ASSISTANT,
        run__isnull=False,
        draft_state=Message.DraftState.PUBLISHED,
        seq__gt=Coalesce(Subquery(last_customer), 0),
    ).count()


def _complete(run: Run, token: str, result: StepResult, run_usage: dict, thread_usage: dict) -> str:
    now = _now()
    text = result.text.strip()
    if not text:
        _finish_unsuccessfully(run, token, Run.Status.FAILED, "empty_reply", "The model returned no text.")
        return "failed"
    with transaction.atomic():
        thread = Thread.objects.select_for_update().get(pk=run.thread_id)
        policy = thread_policy.for_thread(thread)
        held = result.hold_reason
        if not held and policy.reply_mode != "auto":
            held = policy.reason or "AI mode is draft: a person approves replies."
        elif not held:
            cap = settings.ASSISTANT_MAX_REPLIES_PER_TURN
            sent = _replies_this_turn(thread)
            if sent >= cap:
                held = (
                    f"Held as a draft: the assistant already sent {sent} replies since the customer wrote (cap {cap})."
                )
        # Only the lease holder completes the run, and nothing is written if the lease was lost
        # (or staff cancelled the run) while the model was answering.
        finished = Run.objects.filter(pk=run.pk, lease_token=token, status__in=Run.ACTIVE).update(
            status=Run.Status.COMPLETED,
            finished_at=now,
            lease_until=None,
            provider_state={**run.provider_state, **result.state},
            **_remote_ids(run, result),
            **run_usage,
        )
        if not finished:
            return "lease lost"
        run.status = Run.Status.COMPLETED
        seq = thread.message_count + 1
        message = Message.objects.create(
            thread=thread,
            seq=seq,
            role=Message.Role.ASSISTANT,
            body=text,
            run=run,
            draft_state=Message.DraftState.DRAFT if held else Message.DraftState.PUBLISHED,
            published_at=None if held else now,
            sync_state=Message.SyncState.SYNCED if get_provider().remote else Message.SyncState.LOCAL,
            metadata={
                **result.reply_metadata,
                "citations": result.citations,
                **({"held_reason": held} if held else {}),
            },
        )
        Thread.objects.filter(pk=thread.pk).update(
            message_count=seq,
            ai_state=Thread.AIState.DRAFT_WAITING if held else Thread.AIState.IDLE,
            attention=held,
            **thread_usage,
        )
        if unanswered_customer_messages(thread).exists():
            _request_run_locked(thread, trigger=Run.Trigger.FOLLOW_UP)
        transaction.on_commit(partial(reply_created.send, sender=Message, message=message, run=run, published=not held))
    return "completed"


def _finish_unsuccessfully(
    run: Run,
    token: str,
    status: str,
    code: str,
    message: str,
    *,
    needs_staff: bool = False,
    extra: dict | None = None,
) -> bool:
    with transaction.atomic():
        Thread.objects.select_for_update().only("id").get(pk=run.thread_id)
        done = _save(
            run,
            token,
            status=status,
            error_code=code[:60],
            error_message=message,
            needs_staff=needs_staff,
            finished_at=_now(),
            **(extra or {}),
        )
        if not done:
            return False
        Thread.objects.filter(pk=run.thread_id).update(
            ai_state=Thread.AIState.FAILED, attention=f"Assistant run {run.get_status_display().lower()}: {message}"
        )
        run.status, run.needs_staff, run.error_message = status, needs_staff, message
        transaction.on_commit(partial(run_failed.send, sender=Run, run=run))
    return True


# --- the sweeper ---------------------------------------------------------------------------


def runs_sweep() -> dict[str, int]:
    """Expire runs past their time limit, re-enqueue runs whose next step is overdue (a lost
    task, a dead worker, a broker that was down), and resume threads paused by the hourly cap."""
    now = _now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    expired = 0
    for run in Run.objects.filter(free, status__in=Run.ACTIVE, deadline__lt=now).select_related("thread")[:200]:
        token = _claim(run.pk)
        if token and _finish_unsuccessfully(run, token, Run.Status.EXPIRED, "time_limit", _time_limit_message()):
            expired += 1
    overdue_before = now - timedelta(seconds=settings.ASSISTANT_SWEEP_GRACE)
    overdue = list(
        Run.objects.filter(free, status__in=Run.ACTIVE, next_step_at__lt=overdue_before).values_list("pk", flat=True)[
            :500
        ]
    )
    if overdue:
        # Pushing next_step_at forward keeps the next sweep from sending the same run again.
        Run.objects.filter(pk__in=overdue).update(next_step_at=now)
        for run_id in overdue:
            enqueue_step(run_id)
    resumed = 0
    for thread in Thread.objects.filter(ai_state=Thread.AIState.PAUSED)[:200]:
        if unanswered_customer_messages(thread).exists():
            run = run_request(thread=thread)
            resumed += run is not None
    return {"expired": expired, "requeued": len(overdue), "resumed": resumed}


# --- the metadata mirror (added for the OpenAI provider, issue 3) --------------------------


def thread_metadata_sync(*, thread_id: int) -> str:
    """Push the thread's metadata to the provider if it changed. A burst of changes is one push:
    the dirty flag is taken with one conditional UPDATE, so later tasks of the burst find it clear.
    The limits are checked before any call; a refusal is kept in remote_error for staff."""
    from assistants.metadata import SYNC_FAILED, MetadataError, validate_metadata

    provider = get_provider()
    thread = Thread.objects.get(pk=thread_id)
    if not provider.remote or not thread.remote_id:
        return "no remote conversation"  # the first run creates it with the current metadata
    if Thread.objects.filter(pk=thread_id, metadata_dirty=True).update(metadata_dirty=False) != 1:
        return "clean"
    try:
        policy = thread_policy.for_thread(thread)
        if policy.metadata_error:
            raise MetadataError(policy.metadata_error)
        metadata = validate_metadata(policy.metadata)
        provider.update_thread(thread, metadata)
    except (MetadataError, PermanentProviderError) as exc:
        message = exc.message if isinstance(exc, PermanentProviderError) else str(exc)
        Thread.objects.filter(pk=thread_id).update(remote_error=(SYNC_FAILED + message)[:1000])
        return "refused"
    except TransientProviderError:
        Thread.objects.filter(pk=thread_id).update(metadata_dirty=True)
        raise
    Thread.objects.filter(pk=thread_id).update(metadata=metadata, metadata_synced_at=_now())
    # Clear an earlier sync failure only: a failed remote deletion stays in the report.
    Thread.objects.filter(pk=thread_id, remote_error__startswith=SYNC_FAILED).update(remote_error="")
    return "pushed"


def threads_metadata_sweep() -> int:
    """Push metadata that a lost task left dirty."""
    ids = list(Thread.objects.filter(metadata_dirty=True).exclude(remote_id="").values_list("pk", flat=True)[:200])
    for thread_id in ids:
        try:
            thread_metadata_sync(thread_id=thread_id)
        except TransientProviderError as exc:
            logger.info("metadata of thread %s not pushed yet: %s", thread_id, exc)
    return len(ids)
