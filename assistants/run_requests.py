"""Asking for runs, stopping them, and what happens to the customer's turn when a run ends.

- A customer message asks for a run. If one is active the message waits: a run answers the
  messages it took when it was first claimed, and one follow-up run answers what came later.
- Caps: runs per ticket per hour (the thread is paused, the reason shown, the sweeper resumes it).
- No turn is left behind: a run that ends failed, expired or cancelled with customer messages still
  unanswered either gets one automatic retry (a transient cause) or hands the ticket to staff, who
  are told, and the customer is told that a person will reply.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone

from assistants import policy as thread_policy
from assistants import scheduling
from assistants.models import Message, Run, Thread
from assistants.providers import get_provider
from assistants.providers.base import PermanentProviderError, TransientProviderError
from assistants.signals import run_handed_off
from assistants.threads import ai_state_fields, lock_thread, message_add, refresh_ai_state, unanswered_customer_messages

logger = logging.getLogger(__name__)

STAFF_TRIGGERS = (Run.Trigger.STAFF, Run.Trigger.RETRY)
HANDOFF_NOTICE = (
    "Our assistant could not answer this automatically, so a member of our support team will reply here "
    "as soon as possible."
)


def run_request(
    *, thread: Thread, trigger: str = Run.Trigger.CUSTOMER, requested_by=None, retry_of: Run | None = None
) -> Run | None:
    """Ask for a run on this thread. Returns the active run if there is one (the new messages
    wait for it or for its follow-up), None when the AI mode or a cap says no."""
    with transaction.atomic(savepoint=False):
        locked = lock_thread(thread.pk)
        if locked is None:
            return None
        if retry_of is not None:
            Message.objects.filter(answered_by=retry_of).update(answered_by=None)
        return request_run_locked(locked, trigger=trigger, requested_by=requested_by)


def request_run_locked(thread: Thread, *, trigger: str, requested_by=None) -> Run | None:
    """run_request's rules, for a caller that holds the thread's lock."""
    active = Run.objects.filter(thread_id=thread.pk, status__in=Run.ACTIVE).first()
    if active is not None:
        return active
    staff_asked = trigger in STAFF_TRIGGERS
    if thread_policy.for_thread(thread).reply_mode == "off" and not staff_asked:
        return None
    if not staff_asked:
        cap = settings.ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR
        recent = Run.objects.filter(thread_id=thread.pk, created_at__gte=timezone.now() - timedelta(hours=1)).count()
        if recent >= cap:
            reason = (
                f"Assistant paused: this ticket had {recent} runs in the last hour, the cap is {cap}. "
                "It resumes when the hour has passed; staff can ask it now."
            )
            Thread.objects.filter(pk=thread.pk).update(**ai_state_fields(Thread.AIState.PAUSED, attention=reason))
            logger.info("thread %s: %s", thread.pk, reason)
            return None
    run = Run.objects.create(
        thread_id=thread.pk,
        trigger=trigger,
        requested_by=requested_by,
        provider=get_provider().name,
        status=Run.Status.QUEUED,
        next_step_at=Now(),
    )
    Thread.objects.filter(pk=thread.pk).update(
        **ai_state_fields(Thread.AIState.RUNNING, attention=""), run_count=F("run_count") + 1
    )
    scheduling.enqueue_on_commit(run.pk)
    return run


def run_cancel(*, run: Run, by=None, reason: str = "", answered: bool = False) -> bool:
    """Stop an active run (idempotent). Whatever its step is doing then writes nothing: every write
    of a step is fenced on its lease token and an active status, and the token is cleared here.
    `answered`: a person answered the customer's turn (a public reply), so nothing waits."""
    with transaction.atomic():
        thread = lock_thread(run.thread_id)  # the thread first, then the run
        if thread is None:
            return False
        why = reason or (f"Stopped by {by.get_full_name() or by.email}." if by is not None else "Stopped.")
        stopped = Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE).update(
            status=Run.Status.CANCELLED,
            finished_at=Now(),
            lease_until=None,
            lease_token="",
            error_code="cancelled",
            error_message=why,
        )
        if not stopped:
            return False
        cancelled = Run.objects.get(pk=run.pk)
        settle_turn(thread, cancelled, retryable=False, stopped_by_person=True, answered_by_person=answered)
        if cancelled.remote_response_id:
            response_id = cancelled.remote_response_id
            transaction.on_commit(lambda: cancel_remote(run.pk, response_id))
    if answered:
        refresh_ai_state(thread)
    run.status = Run.Status.CANCELLED
    return True


def cancel_remote(run_id: int, response_id: str) -> None:
    """Ask a task to cancel a stopped run's response at the provider."""
    from assistants import tasks

    try:
        tasks.cancel_remote_run.delay(run_id, response_id)
    except Exception:  # noqa: BLE001 - the remote response ends by itself; nothing is published
        logger.warning("could not enqueue remote cancel of run %s", run_id, exc_info=True)


def run_cancel_remote(*, run_id: int, response_id: str = "") -> None:
    """The task's work: cancel the response at the provider (the local run is already stopped)."""
    run = Run.objects.filter(pk=run_id).first()
    response_id = response_id or (run.remote_response_id if run else "")
    if run is None or not response_id:
        return
    try:
        get_provider().cancel_run(run, response_id)
    except (TransientProviderError, PermanentProviderError) as exc:
        logger.warning("remote cancel of run %s failed: %s", run_id, exc)


# --- the end of a run: no turn left behind ---------------------------------------------------


def settle_turn(
    thread: Thread,
    run: Run,
    *,
    retryable: bool,
    stopped_by_person: bool = False,
    answered_by_person: bool = False,
    waiting: bool | None = None,
) -> None:
    """Called under the thread's lock once `run` is terminal. A completed run asks for the follow-up
    if messages arrived meanwhile; any other end retries once (a transient cause) or hands the
    customer's turn to staff. `waiting`: whether customer messages wait, if the caller read it
    under the same lock."""
    if waiting is None:
        waiting = unanswered_customer_messages(thread).exists()
    if run.status == Run.Status.COMPLETED:
        if waiting:
            request_run_locked(thread, trigger=Run.Trigger.FOLLOW_UP)
        return
    if stopped_by_person:
        # Staff stopped it: the customer's turn is theirs now, and the inbox says so. (A person who
        # replied instead answered the turn: nothing waits.) The customer's next message asks for a
        # run again, as any new message would.
        if not answered_by_person:
            attention = f"{run.error_message} The customer's messages wait for a person."
            Thread.objects.filter(pk=thread.pk).update(
                **ai_state_fields(Thread.AIState.FAILED, attention=attention[:300])
            )
        return
    if not unanswered_customer_messages(thread, or_taken_by=run).exists():
        return  # a person answered meanwhile: nothing is left to answer
    if run.trigger in STAFF_TRIGGERS and not waiting:
        return  # staff asked and see the failure on the ticket page; the customer waits for them anyway
    if retryable and _automatic_retries(thread) < settings.ASSISTANT_AUTO_RETRIES:
        Message.objects.filter(answered_by=run).update(answered_by=None)
        if request_run_locked(thread, trigger=Run.Trigger.AUTO_RETRY) is not None:
            return
    hand_off(thread, run, reason=run.error_message or "The assistant could not answer.")


def _automatic_retries(thread: Thread) -> int:
    """Automatic retries since the thread's last completed run."""
    last_done = (
        Run.objects.filter(thread_id=thread.pk, status=Run.Status.COMPLETED)
        .order_by("-created_at")
        .values("created_at")
    )[:1]
    runs = Run.objects.filter(thread_id=thread.pk, trigger=Run.Trigger.AUTO_RETRY)
    if last_done:
        runs = runs.filter(created_at__gt=last_done[0]["created_at"])
    return runs.count()


def hand_off(thread: Thread, run: Run | None, *, reason: str) -> Message | None:
    """A person takes the customer's turn: the inbox shows the thread as needing attention with the
    reason, staff are notified, and the customer is told in the thread (once per turn)."""
    attention = f"Needs a person: {reason}"
    Thread.objects.filter(pk=thread.pk).update(**ai_state_fields(Thread.AIState.FAILED, attention=attention[:300]))
    notice = None
    if not _told_since_last_reply(thread):
        text = thread_policy.for_thread(thread).handoff_notice or HANDOFF_NOTICE
        notice = message_add(
            thread=thread,
            role=Message.Role.ASSISTANT,
            body=text,
            draft_state=Message.DraftState.PUBLISHED,
            kind=Message.Kind.NOTICE,
            metadata={"handoff": True, "run": run.pk if run else None},
        )
    thread_policy.handed_off(thread, reason)
    logger.info("thread %s handed to staff: %s", thread.pk, reason)
    transaction.on_commit(lambda: run_handed_off.send(sender=Run, run=run, notice=notice, reason=reason))
    return notice


def _told_since_last_reply(thread: Thread) -> bool:
    """Was the customer already told that a person will reply, with no answer since? Then a second
    failure in the same wait tells them nothing new."""
    last = (
        Message.objects.public()
        .filter(thread_id=thread.pk, role=Message.Role.ASSISTANT)
        .order_by("-seq")
        .values_list("kind", flat=True)
        .first()
    )
    return last == Message.Kind.NOTICE
