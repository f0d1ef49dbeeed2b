"""Threads and their messages: appended in order under the thread's row lock, and the inbox's
summary of what the assistant is doing on a thread (ai_state).

Lock order, everywhere: the thread's row first, then a run's, then messages'. lock_thread() is how
every writer takes the first one.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, Q, Subquery, When
from django.db.models.functions import Coalesce, Now

from assistants.models import Message, Run, Thread
from assistants.providers import get_provider


def lock_thread(thread_id: int, *fields: str) -> Thread | None:
    """Take the thread's row lock (inside the caller's transaction); None if the thread is gone."""
    qs = Thread.objects.select_for_update().filter(pk=thread_id)
    if fields:
        qs = qs.only("id", *fields)
    return qs.first()


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
    kind: str = Message.Kind.TEXT,
    metadata: dict | None = None,
) -> Message:
    """Append a message; its place in the thread is assigned under the thread's row lock."""
    from django.utils import timezone

    now = timezone.now()
    # No savepoint: this is one step of the caller's transaction, and a failure aborts all of it.
    with transaction.atomic(savepoint=False):
        locked = lock_thread(thread.pk, "message_count", "state")
        seq = locked.message_count + 1
        # A new message on an archived thread brings it back: the thread is active again (the one
        # place this is decided; the lifecycle archives it again once its owner is finished).
        revived = {"state": Thread.State.ACTIVE, "archived_at": None} if locked.state == Thread.State.ARCHIVED else {}
        Thread.objects.filter(pk=thread.pk).update(message_count=seq, updated_at=now, **revived)
        # Notices are for the customer: the model never receives them.
        local = not get_provider().remote or kind == Message.Kind.NOTICE
        message = Message.objects.create(
            thread_id=thread.pk,
            seq=seq,
            role=role,
            body=body,
            author=author,
            visibility=visibility,
            draft_state=draft_state,
            kind=kind,
            published_at=now if draft_state in ("", Message.DraftState.PUBLISHED) else None,
            published_by=author if draft_state == Message.DraftState.PUBLISHED else None,
            sync_state=Message.SyncState.LOCAL if local else Message.SyncState.PENDING,
            metadata=metadata or {},
        )
    thread.message_count = seq
    if revived:
        thread.state, thread.archived_at = Thread.State.ACTIVE, None
    return message


def attach_output_files(message: Message, files: list[dict]) -> None:
    """Files the model's tools wrote (the code interpreter's), attached to its reply."""
    from django.core.files.base import ContentFile

    from assistants.models import Attachment

    for f in files:
        attachment = Attachment(
            message=message, filename=f["filename"], content_type=f["content_type"][:100], size=len(f["data"])
        )
        attachment.file.save(f["filename"], ContentFile(f["data"]), save=False)
        attachment.save()


def unanswered_customer_messages(thread: Thread, *, or_taken_by: Run | None = None):
    """Customer messages nobody answered yet: no run took them (or only `or_taken_by`, a run that
    ended without answering), and no person has replied publicly since (a person's public reply
    answers everything the customer wrote before it)."""
    last_person_reply = (
        Message.objects.filter(
            thread_id=thread.pk,
            role=Message.Role.ASSISTANT,
            run__isnull=True,
            author__isnull=False,
            visibility=Message.Visibility.PUBLIC,
        )
        .order_by("-seq")
        .values("seq")[:1]
    )
    untaken = Q(answered_by__isnull=True)
    if or_taken_by is not None:
        untaken |= Q(answered_by=or_taken_by)
    return Message.objects.filter(
        untaken, thread_id=thread.pk, role=Message.Role.USER, seq__gt=Coalesce(Subquery(last_person_reply), 0)
    )


def set_ai_state(thread_id: int, state: str, *, attention: str | None = None) -> None:
    """Write the inbox summary; `ai_state_since` marks when the assistant started on a turn."""
    Thread.objects.filter(pk=thread_id).update(**ai_state_fields(state, attention=attention))


def ai_state_fields(state: str, *, attention: str | None = None, **more) -> dict:
    """The UPDATE fields that set ai_state; only a change of state restarts `ai_state_since`, so a
    follow-up run keeps the wait that began with the customer's turn."""
    fields = {
        "ai_state": state,
        "ai_state_since": Case(When(ai_state=state, then=F("ai_state_since")), default=Now()),
        **more,
    }
    if attention is not None:
        fields["attention"] = attention
    return fields


def refresh_ai_state(thread: Thread) -> None:
    """Recompute the inbox summary after a draft was approved or discarded, or a run was stopped."""
    with transaction.atomic():
        locked = lock_thread(thread.pk, "ai_state")
        if locked is None:
            return
        if Run.objects.filter(thread_id=thread.pk, status__in=Run.ACTIVE).exists():
            state = Thread.AIState.RUNNING
        elif Message.objects.drafts().filter(thread_id=thread.pk).exists():
            state = Thread.AIState.DRAFT_WAITING
        elif locked.ai_state in (Thread.AIState.FAILED, Thread.AIState.PAUSED):
            state = locked.ai_state
        else:
            state = Thread.AIState.IDLE
        set_ai_state(thread.pk, state)
    thread.ai_state = state
