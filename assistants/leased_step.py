"""One leased step of a run: while a worker works on a run, this is the only code that writes it.

A step claims the run with one conditional UPDATE (a lease with a fresh token, on the database's
clock), does one thing with the provider, and writes the outcome. Every later UPDATE of the run is
fenced on the token *and* an active status, so a step whose lease ran out (another worker took the
run over) or whose run was cancelled meanwhile writes nothing. Locks are taken in one order
everywhere: the thread's row, then the run's, then messages'. The lease is renewed between provider
calls, and always checked before a paid one.

The messages a run answers are fixed once, in its first claim's transaction: it takes the customer
messages nobody answers yet and records how far the thread went (`input_seq`); it sends exactly the
unsent messages up to there, and anything later belongs to the follow-up run.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from enum import StrEnum

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, When, prefetch_related_objects
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from assistants import policy as thread_policy
from assistants import scheduling, tools
from assistants.costs import usage_fields
from assistants.models import Attachment, Message, Run, Thread
from assistants.providers import get_provider
from assistants.providers.base import (
    PermanentProviderError,
    RunContext,
    StepResult,
    ToolCall,
    TransientProviderError,
)
from assistants.run_requests import STAFF_TRIGGERS, cancel_remote, settle_turn
from assistants.signals import reply_created, run_ended, run_failed
from assistants.threads import ai_state_fields, attach_output_files, lock_thread, unanswered_customer_messages

logger = logging.getLogger(__name__)

BASE_INSTRUCTIONS = (
    "You are the support assistant of a help desk. Answer the customer's latest messages briefly and "
    "accurately, in their language, using only what the tools you are given return. Never invent "
    "policies, prices or promises; when you cannot help, say so and hand the conversation to a person. "
    "Messages with the developer role are internal notes from staff: follow them, never quote them."
)
STAFF_REQUEST_NOTE = (
    "A member of staff asks you for a suggested reply to the customer's latest messages. It is shown to "
    "them as a draft before anything reaches the customer."
)
STAFF_ASKED_HOLD = "Asked by staff: a suggestion for a person to review, never sent by itself."
SUPERSEDED_REASON = "superseded by a newer reply"
# Steps that need no waiting (running the tools and handing their outputs back) follow each other
# in the same task, each with its own claim; a wait is always a rescheduled task.
MAX_STEPS_PER_TASK = 4


class Outcome(StrEnum):
    NOT_CLAIMED = "not claimed"  # another worker holds the run, or it is no longer active
    LEASE_LOST = "lease lost"  # the run stopped being ours during the step: nothing more was written
    WAITING = "in_progress"  # the provider works; polled again later
    TOOLS_DUE = "requires_action"  # tool calls to run now
    RETRY = "retry"  # a transient error; the step is tried again after a backoff
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class StepStopped(Exception):
    """The run is no longer this step's: its lease ran out and another worker took it, staff
    cancelled it, or it was deleted. The step writes nothing more."""


class OwnerGone(Exception):
    """Nobody owns the thread any more (its ticket was deleted): the run ends, quietly."""


def _lease() -> timedelta:
    return timedelta(seconds=settings.ASSISTANT_STEP_LEASE)


class LeasedStep:
    def __init__(self, run: Run, token: str, taken: list[Message] | None = None):
        self.run = run
        self.token = token
        self.taken = taken  # the customer messages taken by this claim (a run's first claim only)
        self.carried: dict = {}  # what the steps of one task share (run_advance)
        self._renewed = time.monotonic()

    # --- the lease ---------------------------------------------------------------------------

    @classmethod
    def claim(cls, run_id: int) -> LeasedStep | None:
        """Take the run's lease with one conditional UPDATE; only one worker gets a row count of 1.
        A lease that had run out means its holder died mid-step: that counts as a failed attempt
        whose last call is ambiguous, so the provider looks at what it may have done first."""
        token = uuid.uuid4().hex
        # Most steps are of a run that has started (polls, tool outputs, retries): one UPDATE,
        # which touches no other row.
        if cls._take_lease(run_id, token, started=True):
            return cls._read(run_id, token)
        with transaction.atomic():
            # A run's first claim takes its messages under the thread's lock, taken first.
            first_claim = (
                Thread.objects.select_for_update(of=("self",))
                .filter(runs__pk=run_id, runs__status=Run.Status.QUEUED, runs__started_at__isnull=True)
                .values_list("pk", "message_count")
                .first()
            )
            if not first_claim:
                return None
            # Fix what this run answers (every customer message nobody took yet: a burst is one
            # turn) and take the lease with how far the thread went, in one UPDATE of the run;
            # if the lease is not ours, the messages stay untaken (rolled back).
            thread_id, upto = first_claim
            unanswered_customer_messages(Thread(pk=thread_id)).filter(seq__lte=upto).update(answered_by_id=run_id)
            last = Message.objects.filter(answered_by_id=run_id).order_by("-seq").values("pk")[:1]
            limit = timedelta(seconds=settings.ASSISTANT_RUN_TIME_LIMIT)
            # The time limit counts from the start: a run queued while no worker was up still answers.
            taken = cls._take_lease(
                run_id,
                token,
                started=False,
                input_seq=upto,
                answers_message=Subquery(last),
                started_at=Coalesce("started_at", Now()),
                deadline=Coalesce("deadline", Now() + limit),
            )
            step = cls._read(run_id, token) if taken else None
            if step is None:
                transaction.set_rollback(True)
                return None
            step.taken = list(Message.objects.filter(answered_by_id=run_id).order_by("seq"))
        return step

    @staticmethod
    def _take_lease(run_id: int, token: str, *, started: bool, **first_claim) -> bool:
        died = Q(lease_until__isnull=False)
        claimed = (
            Run.objects.filter(pk=run_id, status__in=Run.ACTIVE, started_at__isnull=not started)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=Now()))
            .update(
                lease_until=Now() + _lease(),
                lease_token=token,
                steps=F("steps") + 1,
                attempts=F("attempts") + Case(When(died, then=1), default=0),
                ambiguous=Case(When(died, then=True), default=F("ambiguous")),
                **first_claim,
            )
        )
        return claimed == 1

    @classmethod
    def _read(cls, run_id: int, token: str) -> LeasedStep | None:
        run = Run.objects.select_related("thread").filter(pk=run_id).first()
        return cls(run, token) if run is not None else None

    def _fenced(self):
        return Run.objects.filter(pk=self.run.pk, lease_token=self.token, status__in=Run.ACTIVE)

    def _while_ours(self, threads):
        return threads.filter(runs__pk=self.run.pk, runs__lease_token=self.token, runs__status__in=Run.ACTIVE)

    def write(self, **fields) -> bool:
        """Write to the run and keep the lease, if it is still ours and the run still active."""
        return self._fenced().update(**fields) == 1

    def release(self, **fields) -> bool:
        """Write the step's outcome and give the lease back, if it is still ours."""
        return self._fenced().update(lease_until=None, **fields) == 1

    def renew(self) -> None:
        if not self.write(lease_until=Now() + _lease()):
            raise StepStopped(f"run {self.run.pk} is no longer ours")
        self._renewed = time.monotonic()

    # --- what the provider may ask of the step (assistants.providers.base.StepHooks) --------

    def before_call(self, *, paid: bool = False) -> None:
        """Before each provider call: a paid one always checks the run is still ours (and renews);
        another renews only once half of the lease is gone, so every call (at most OPENAI_TIMEOUT,
        below half the lease) ends inside it. The half is counted from after the claim's or the last
        renewal's UPDATE returned, so it is never less than the database clock's."""
        if paid or time.monotonic() - self._renewed > settings.ASSISTANT_STEP_LEASE / 2:
            self.renew()

    def conversation_created(self, remote_id: str, *, reason: str = "", last_item_id: str | None = None) -> None:
        """Point the thread at its new conversation (the old id goes to remote_history), or, for the
        same id again, record the item it was seeded up to (the anchor of a later recovery)."""
        thread = self.run.thread
        state = {"last_item_id": last_item_id, "open_calls": []}
        with transaction.atomic():
            locked = lock_thread(thread.pk, "remote_id", "remote_history")
            if locked is None or locked.remote_id not in (thread.remote_id, remote_id):
                logger.warning("run %s: conversation %s left unused (the thread changed)", self.run.pk, remote_id)
                raise StepStopped(f"run {self.run.pk} is no longer ours")
            history = list(locked.remote_history or [])
            fields = {"remote_state": state}
            if locked.remote_id != remote_id:
                if locked.remote_id:
                    history.append({"id": locked.remote_id, "reason": reason, "at": timezone.now().isoformat()})
                fields.update(remote_id=remote_id, remote_history=history, context_tokens=0)
                if not locked.remote_id:
                    fields.update(metadata=thread.metadata, metadata_synced_at=Now(), metadata_dirty=False)
            # Written only while the run is still ours (the UPDATE checks it: the thread first, then
            # the run); the next provider call renews the lease if half of it is gone.
            if not self._while_ours(Thread.objects.filter(pk=thread.pk)).update(**fields):
                raise StepStopped(f"run {self.run.pk} is no longer ours")
        thread.remote_id, thread.remote_history, thread.remote_state = remote_id, history, state
        if "context_tokens" in fields:
            thread.context_tokens = 0

    def file_uploaded(self, attachment_id: int, file_id: str) -> None:
        # Kept whatever happens to the step: the next attempt reuses the file instead of uploading again.
        Attachment.objects.filter(pk=attachment_id, remote_file_id="").update(remote_file_id=file_id)

    # --- one step ----------------------------------------------------------------------------

    def advance(self) -> Outcome:
        run = self.run
        if run.deadline and timezone.now() >= run.deadline:
            return self.finish(Run.Status.EXPIRED, "time_limit", time_limit_message())
        if run.attempts >= settings.ASSISTANT_MAX_ATTEMPTS:
            message = f"Gave up after {run.attempts} attempts: the step was interrupted each time."
            return self.finish(Run.Status.FAILED, "interrupted", message, needs_staff=True)
        provider = get_provider()
        try:
            result = self._call_provider(provider)
        except OwnerGone:
            return self.finish(Run.Status.CANCELLED, "owner_deleted", "The ticket was deleted.", settle=False)
        except StepStopped:
            logger.warning("run %s: lease lost mid-step", run.pk)
            return Outcome.LEASE_LOST
        except SoftTimeLimitExceeded:
            error = TransientProviderError("step_timeout", "A step took too long; trying again.", ambiguous=True)
            return self.retry_later(error)
        except TransientProviderError as exc:
            return self.retry_later(exc)
        except PermanentProviderError as exc:
            return self.finish(Run.Status.FAILED, exc.code, exc.message, needs_staff=exc.needs_staff)
        return self.apply(result, provider)

    def _policy(self):
        # Steps that follow each other in one task (a start, then its tool calls) read the owner's
        # policy once; the reply's publication reads it again under the thread's lock, whatever.
        policy = self.carried.get("policy")
        if policy is None:
            policy = self.carried["policy"] = thread_policy.for_thread(self.run.thread)
        if not policy.owned:
            raise OwnerGone
        return policy

    def _call_provider(self, provider) -> StepResult:
        run = self.run
        if run.status == Run.Status.IN_PROGRESS and provider.remote and run.remote_response_id:
            # A response in flight at the provider: the poll needs the run, not the conversation.
            return provider.poll_run(RunContext.for_poll(run, hooks=self))
        policy = self._policy()
        if run.status == Run.Status.QUEUED:
            if provider.remote and not run.thread.remote_id:
                run.thread.metadata = policy.metadata
                self.before_call()
                self.conversation_created(provider.create_thread(run.thread, policy.metadata))
            return provider.start_run(self.context(policy, provider))
        if run.status == Run.Status.IN_PROGRESS:
            return provider.poll_run(self.context(policy, provider))
        # REQUIRES_ACTION: run the tools once; a retried submit reuses the saved outputs.
        outputs = run.provider_state.get("outputs")
        if outputs is None:
            calls = [ToolCall.from_dict(c) for c in run.provider_state.get("pending_calls", [])]
            outputs = [
                {"call_id": c.call_id, "name": c.name, "output": tools.execute(run, c.name, c.arguments)} for c in calls
            ]
            run.provider_state = {**run.provider_state, "outputs": outputs}
            run.tool_calls = [
                *run.tool_calls,
                *[{**c.as_dict(), "output": o["output"]} for c, o in zip(calls, outputs)],
            ]
            if not self.write(provider_state=run.provider_state, tool_calls=run.tool_calls):
                raise StepStopped(f"run {run.pk} is no longer ours")
        return provider.submit_tool_outputs(self.context(policy, provider), outputs)

    def context(self, policy, provider) -> RunContext:
        run, thread = self.run, self.run.thread
        pending = []
        if provider.remote:
            pending = list(
                thread.messages.filter(sync_state=Message.SyncState.PENDING, seq__lte=run.input_seq)
                .exclude(draft_state__in=[Message.DraftState.DRAFT, Message.DraftState.DISCARDED])
                .annotate(has_files=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
                .order_by("seq")
            )
            # The files, in one more query, only when a message has some (most have none).
            prefetch_related_objects([m for m in pending if m.has_files], "attachments")
        customer = self.taken
        if customer is None:
            customer = list(Message.objects.filter(role=Message.Role.USER, answered_by=run).order_by("seq"))
        return RunContext(
            run=run,
            thread=thread,
            pending_messages=pending,
            customer_messages=customer,
            instructions=BASE_INSTRUCTIONS + ("\n\n" + policy.instructions if policy.instructions else ""),
            tools=tools.specs(),
            metadata=policy.metadata,
            safety_identifier=policy.safety_identifier,
            prompt_cache_key=f"thread-{thread.pk}",
            request_note=STAFF_REQUEST_NOTE if run.trigger in STAFF_TRIGGERS else "",
            ambiguous=run.ambiguous,
            hooks=self,
        )

    # --- writing the outcome -----------------------------------------------------------------

    def apply(self, result: StepResult, provider) -> Outcome:
        run = self.run
        run_usage, thread_usage = usage_fields(result, provider)
        if result.status == "completed":
            return self.complete(result, run_usage, thread_usage)
        if result.status in ("failed", "cancelled"):
            status = Run.Status.FAILED if result.status == "failed" else Run.Status.CANCELLED
            message = result.error_message or "The provider ended the run without a reply."
            return self.finish(
                status,
                result.error_code or result.status,
                message,
                retryable=result.retryable,
                run_fields=run_usage,
                thread_fields=thread_usage,
            )
        remote = _remote_fields(run, result)
        if result.status == "requires_action":
            cap = settings.ASSISTANT_MAX_TOOL_CALLS_PER_RUN
            if len(run.tool_calls) + len(result.tool_calls) > cap:
                message = (
                    f"Stopped: the assistant asked for more than {cap} tool calls in one run. A person should answer."
                )
                return self.finish(
                    Run.Status.FAILED,
                    "tool_call_cap",
                    message,
                    needs_staff=True,
                    run_fields=run_usage,
                    thread_fields={**thread_usage, **self._conversation_state(result, provider)},
                    synced=self._synced_ids(result),  # the response finished: its input is in the conversation
                )
            state = {**result.state, "pending_calls": [c.as_dict() for c in result.tool_calls], "outputs": None}
            fields = {"status": Run.Status.REQUIRES_ACTION, "provider_state": state, "next_step_at": Now()}
            delay = None  # due at once: run_advance carries on (or enqueues it)
            thread_fields = {**thread_usage, **self._conversation_state(result, provider)}
        else:  # in_progress: poll again later
            now = scheduling.clock()
            polling = run.status == Run.Status.IN_PROGRESS
            since = run.provider_state.get("waiting_since", now) if polling else now
            delay = scheduling.poll_delay(now - since)
            state = {
                **result.state,
                "polls": (run.provider_state.get("polls", 0) if polling else 0) + 1,
                "waiting_since": since,
                # The messages this response carries: in the conversation once it finishes.
                "carrying": result.sent_message_ids or (run.provider_state.get("carrying", []) if polling else []),
            }
            fields = {"status": Run.Status.IN_PROGRESS, "provider_state": state}
            fields["next_step_at"] = Now() + timedelta(seconds=delay)
            thread_fields = thread_usage
        fields.update(attempts=0, ambiguous=False, **remote, **run_usage)
        synced = self._synced_ids(result) if result.status == "requires_action" else []
        if not self._save(fields, thread_fields, synced):
            self._stray_response(result)
            return Outcome.LEASE_LOST
        if delay is not None:
            scheduling.enqueue_on_commit(run.pk, delay)
        return Outcome(result.status)

    def _save(self, run_fields: dict, thread_fields: dict, synced: list[int]) -> bool:
        """Release the run with its new state; the thread's share (usage, conversation state) and
        the messages now in the conversation commit with it. Thread first, then run, then messages."""
        if not thread_fields and not synced:
            return self.release(**run_fields)
        with transaction.atomic():
            if thread_fields:
                Thread.objects.filter(pk=self.run.thread_id).update(**thread_fields)
            if not self.release(**run_fields):
                transaction.set_rollback(True)
                return False
            _mark_synced(synced)
        return True

    def _synced_ids(self, result: StepResult) -> list[int]:
        """The local messages the finished response put in the conversation (or that were found there)."""
        carried = self.run.provider_state.get("carrying", [])
        return sorted({*carried, *result.sent_message_ids, *result.confirmed_message_ids})

    def _conversation_state(self, result: StepResult, provider) -> dict:
        """What the conversation holds once a response finished: its newest item (the anchor of the
        next recovery) and the function calls still waiting for their output."""
        if not provider.remote:
            return {}
        state = dict(self.run.thread.remote_state or {})
        if result.last_item_id is not None:
            state["last_item_id"] = result.last_item_id
        state["open_calls"] = [c.as_dict() for c in result.tool_calls] if result.status == "requires_action" else []
        return {"remote_state": state}

    def _stray_response(self, result: StepResult) -> None:
        """A response created for a run that was stopped meanwhile: cancel it at the provider."""
        stopped = Run.objects.filter(pk=self.run.pk, status=Run.Status.CANCELLED)
        if result.status == "in_progress" and result.response_id and stopped.exists():
            cancel_remote(self.run.pk, result.response_id)

    def retry_later(self, exc: TransientProviderError) -> Outcome:
        run = self.run
        attempts = run.attempts + 1
        if attempts >= settings.ASSISTANT_MAX_ATTEMPTS:
            message = f"Gave up after {attempts} attempts. Last error: {exc.message}"
            return self.finish(Run.Status.FAILED, exc.code, message, needs_staff=True)
        delay = max(scheduling.backoff(attempts), exc.retry_after or 0.0)
        if run.deadline and timezone.now() + timedelta(seconds=delay) >= run.deadline:
            message = (
                f"The provider asked us to wait {delay:.0f} s, past this run's time limit. Last error: {exc.message}"
            )
            return self.finish(Run.Status.FAILED, exc.code, message, needs_staff=True)
        ambiguous = run.ambiguous or exc.ambiguous
        saved = self.release(
            attempts=attempts,
            next_step_at=Now() + timedelta(seconds=delay),
            error_code=exc.code[:60],
            error_message=exc.message,
            ambiguous=ambiguous,
        )
        if not saved:
            return Outcome.LEASE_LOST
        scheduling.enqueue_on_commit(run.pk, delay)
        return Outcome.RETRY

    def complete(self, result: StepResult, run_usage: dict, thread_usage: dict) -> Outcome:
        text = result.text.strip()
        if not text:
            return self.finish(
                Run.Status.FAILED, "empty_reply", "The model returned no text.", retryable=True, run_fields=run_usage
            )
        try:
            return self._publish(result, text, run_usage, thread_usage)
        except OwnerGone:
            return self.finish(Run.Status.CANCELLED, "owner_deleted", "The ticket was deleted.", settle=False)

    def _publish(self, result: StepResult, text: str, run_usage: dict, thread_usage: dict) -> Outcome:
        """Complete the run and write its reply, published or held, in one transaction."""
        run = self.run
        provider = get_provider()
        with transaction.atomic():
            thread = _lock_for_reply(run.thread_id)
            if thread is None:
                return Outcome.LEASE_LOST
            policy = thread_policy.for_thread(thread)
            if not policy.owned:
                raise OwnerGone
            held = result.hold_reason or _held_reason(thread, policy, run)
            finished = self.release(
                status=Run.Status.COMPLETED,
                finished_at=Now(),
                provider_state={**run.provider_state, **result.state},
                error_code="",
                error_message="",
                ambiguous=False,
                **_remote_fields(run, result),
                **run_usage,
            )
            if not finished:
                self._keep_late_answer(thread, text, result)
                return Outcome.LEASE_LOST
            run.status = Run.Status.COMPLETED
            superseded = supersede_drafts(thread, by_run=run)
            seq = thread.message_count + 1
            message = Message.objects.create(
                thread=thread,
                seq=seq,
                role=Message.Role.ASSISTANT,
                body=text,
                run=run,
                draft_state=Message.DraftState.DRAFT if held else Message.DraftState.PUBLISHED,
                published_at=None if held else timezone.now(),
                sync_state=Message.SyncState.SYNCED if provider.remote else Message.SyncState.LOCAL,
                metadata={
                    **result.reply_metadata,
                    "citations": result.citations,
                    **({"held_reason": held} if held else {}),
                },
            )
            attach_output_files(message, result.output_files)
            state = Thread.AIState.DRAFT_WAITING if held else Thread.AIState.IDLE
            Thread.objects.filter(pk=thread.pk).update(
                **ai_state_fields(state, attention=held),
                message_count=seq,
                **thread_usage,
                **self._conversation_state(result, provider),
            )
            _mark_synced(self._synced_ids(result))
            thread.message_count = seq
            settle_turn(thread, run, retryable=False, waiting=thread.waiting)
            run_ended.send(sender=Run, run=run, reply=message)
            transaction.on_commit(
                lambda: reply_created.send(
                    sender=Message, message=message, run=run, published=not held, superseded=superseded
                )
            )
        return Outcome.COMPLETED

    def _keep_late_answer(self, thread: Thread, text: str, result: StepResult) -> None:
        """An answer that arrived after the run was stopped (staff cancelled it, or replied): kept
        for staff as a discarded draft, never published. A run taken over by another worker keeps
        nothing here: the other worker completes it."""
        if not Run.objects.filter(pk=self.run.pk, status=Run.Status.CANCELLED).exists():
            return
        if Message.objects.filter(run=self.run).exists():
            return
        seq = thread.message_count + 1
        Message.objects.create(
            thread=thread,
            seq=seq,
            role=Message.Role.ASSISTANT,
            body=text,
            run=self.run,
            draft_state=Message.DraftState.DISCARDED,
            sync_state=Message.SyncState.SYNCED if get_provider().remote else Message.SyncState.LOCAL,
            metadata={"citations": result.citations, "discarded_reason": "It arrived after the run was stopped."},
        )
        Thread.objects.filter(pk=thread.pk).update(message_count=seq)
        thread.message_count = seq

    def finish(
        self,
        status: str,
        code: str,
        message: str,
        *,
        needs_staff: bool = False,
        retryable: bool = False,
        run_fields: dict | None = None,
        thread_fields: dict | None = None,
        synced: list[int] = (),
        settle: bool = True,
    ) -> Outcome:
        """End the run without a reply, then settle the customer's turn (retry or hand off)."""
        run = self.run
        with transaction.atomic():
            thread = lock_thread(run.thread_id)
            if thread is None:
                return Outcome.LEASE_LOST
            done = self.release(
                status=status,
                error_code=code[:60],
                error_message=message,
                needs_staff=needs_staff,
                finished_at=Now(),
                **(run_fields or {}),
            )
            if not done:
                return Outcome.LEASE_LOST
            run.status, run.needs_staff, run.error_code, run.error_message = status, needs_staff, code, message
            attention = f"Assistant run {run.get_status_display().lower()}: {message}"
            Thread.objects.filter(pk=thread.pk).update(
                **ai_state_fields(Thread.AIState.FAILED, attention=attention[:300]), **(thread_fields or {})
            )
            _mark_synced(list(synced))
            if settle:
                settle_turn(thread, run, retryable=retryable)
            run_ended.send(sender=Run, run=run, reply=None)
            transaction.on_commit(lambda: run_failed.send(sender=Run, run=run))
        return Outcome(status)


def _held_reason(thread: Thread, policy, run: Run) -> str:
    """Why a reply waits for a person rather than going out (empty: it goes out). The one rule for
    "Ask the assistant": a run a person asked for is a suggestion for them, whatever the AI mode."""
    if run.trigger == Run.Trigger.STAFF:
        return STAFF_ASKED_HOLD
    if policy.reply_mode != "auto":
        return policy.reason or "AI mode is draft: a person approves replies."
    cap = settings.ASSISTANT_MAX_REPLIES_PER_TURN
    sent = thread.replies_this_turn
    if sent >= cap:
        return f"Held as a draft: the assistant already sent {sent} replies since the customer wrote (cap {cap})."
    return ""


def supersede_drafts(thread: Thread, *, by_run: Run | None = None, by_person=None) -> int:
    """A ticket has at most one pending draft: a newer reply replaces any draft still waiting
    (discarded, never published; staff see it with the reason), the one `by_run` is about to write
    or a person's public reply (`by_person`, who wrote it). Called under the thread's lock, in the
    transaction that writes the new reply."""
    if by_person is not None:
        name = by_person.get_full_name() or by_person.email
        cause = {"discarded_reason": f"superseded by a reply from {name}", "superseded_by_user": by_person.pk}
    else:
        cause = {"discarded_reason": SUPERSEDED_REASON, "superseded_by_run": by_run.pk}
    count = 0
    for old in Message.objects.drafts().filter(thread_id=thread.pk).select_for_update():
        old.draft_state = Message.DraftState.DISCARDED
        old.metadata = {**old.metadata, "discard_code": "superseded", **cause}
        old.save(update_fields=["draft_state", "metadata"])
        count += 1
    return count


def _lock_for_reply(thread_id: int) -> Thread | None:
    """The thread's row lock for writing a reply, then what the reply's rules ask: the assistant's
    published replies since the customer last wrote (the per-turn cap) and whether customer messages
    wait (the follow-up run). While the lock is held neither changes but by the reply itself, which
    answers nobody's message and is not a person's.

    Two statements, never one: on PostgreSQL a SELECT ... FOR UPDATE that waited for the lock returns
    the row's newest version, but its subqueries still read the snapshot taken before the wait. A
    customer message committed by the transaction we waited for would be missed (no follow-up run,
    a turn left behind); the second statement's snapshot is taken after the lock is ours."""
    thread = lock_thread(thread_id)
    if thread is None:
        return None
    shell = Thread(pk=thread_id)
    last_customer = Message.objects.filter(thread_id=thread_id, role=Message.Role.USER).order_by("-seq").values("seq")
    replies = (
        Message.objects.filter(
            thread_id=thread_id,
            role=Message.Role.ASSISTANT,
            run__isnull=False,
            draft_state=Message.DraftState.PUBLISHED,
            seq__gt=Coalesce(Subquery(last_customer[:1]), 0),
        )
        .order_by()
        .values("thread_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rules = (
        Thread.objects.filter(pk=thread_id)
        .annotate(replies_this_turn=Coalesce(Subquery(replies), 0), waiting=Exists(unanswered_customer_messages(shell)))
        .values("replies_this_turn", "waiting")
        .first()
    )
    thread.replies_this_turn, thread.waiting = rules["replies_this_turn"], rules["waiting"]
    return thread


def _remote_fields(run: Run, result: StepResult) -> dict:
    if not result.response_id or result.response_id == run.remote_response_id:
        return {}
    return {
        "remote_response_id": result.response_id,
        "remote_response_ids": [*run.remote_response_ids, result.response_id],
    }


def _mark_synced(message_ids: list[int]) -> None:
    if message_ids:
        Message.objects.filter(pk__in=message_ids, sync_state=Message.SyncState.PENDING).update(
            sync_state=Message.SyncState.SYNCED
        )


def time_limit_message() -> str:
    return f"The assistant did not finish within {settings.ASSISTANT_RUN_TIME_LIMIT} s; staff can retry."


def claim_step(run_id: int) -> LeasedStep | None:
    return LeasedStep.claim(run_id)


def run_advance(*, run_id: int, max_steps: int = MAX_STEPS_PER_TASK) -> Outcome:
    """Advance a run by one step, and by the steps after it while they are due at once.
    Returns what happened last, for logs and tests."""
    carried: dict = {}
    outcome = _advance_one(run_id, carried)
    for _ in range(max_steps - 1):
        if outcome != Outcome.TOOLS_DUE:
            break
        outcome = _advance_one(run_id, carried)
    if outcome == Outcome.TOOLS_DUE:
        scheduling.enqueue_on_commit(run_id)
    return outcome


def _advance_one(run_id: int, carried: dict) -> Outcome:
    step = LeasedStep.claim(run_id)
    if step is None:
        return Outcome.NOT_CLAIMED
    step.carried = carried
    # The customer messages a run answers are fixed at its first claim: later steps of the same
    # task reuse them.
    if step.taken is None:
        step.taken = carried.get("taken")
    carried["taken"] = step.taken
    return step.advance()
