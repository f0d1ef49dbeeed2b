"""Thread lifecycle: archive finished threads, delete remote conversations, mirror metadata.

The local history is never deleted here: deleting a remote conversation keeps every message and
run, clears `remote_id` (the old id goes to `remote_history`), sets `remote_deleted_at` and marks
the thread `deleted`. A failed deletion leaves the remote id in place and writes `remote_error`
(prefixed with DELETE_FAILED), which is the report the admin shows and retries from.

assistants never imports tickets: which threads are "finished" is told by a selector that the
owning app registers (tickets registers "closed for THREAD_ARCHIVE_AFTER_DAYS").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from assistants.metadata import SYNC_FAILED  # noqa: F401 - the admin reads it from here
from assistants.models import Attachment, Run, Thread
from assistants.providers import get_provider
from assistants.providers.base import ProviderError

logger = logging.getLogger(__name__)

DELETE_FAILED = "Remote deletion failed: "

# func(cutoff) -> QuerySet of Thread whose owner finished before cutoff.
_archivable: Callable[[object], QuerySet] | None = None


def register_archivable(func: Callable[[object], QuerySet]) -> None:
    global _archivable
    _archivable = func


def _now():
    return timezone.now()


def _enqueue(task_name: str, *args) -> None:
    """Send a lifecycle task once the transaction commits; a broker outage is logged, not raised
    (the hourly lifecycle job picks due work up again)."""

    def send():
        from assistants import tasks

        try:
            getattr(tasks, task_name).delay(*args)
        except Exception:  # noqa: BLE001 - the state is committed; the next lifecycle run retries
            logger.warning("broker unavailable; %s%r waits for the next lifecycle run", task_name, args)

    transaction.on_commit(send)


# --- archive -------------------------------------------------------------------------------


def threads_archive(*, thread_ids: Iterable[int]) -> int:
    """Archive active threads (a local state: nothing remote changes). Returns how many changed."""
    return Thread.objects.filter(pk__in=list(thread_ids), state=Thread.State.ACTIVE).update(
        state=Thread.State.ARCHIVED, archived_at=_now()
    )


def threads_due_for_archive() -> QuerySet:
    if _archivable is None:
        return Thread.objects.none()
    cutoff = _now() - timedelta(days=settings.THREAD_ARCHIVE_AFTER_DAYS)
    return _archivable(cutoff).filter(state=Thread.State.ACTIVE)


# --- remote deletion -----------------------------------------------------------------------


def threads_due_for_remote_deletion() -> QuerySet:
    """Threads idle for REMOTE_RETENTION_DAYS whose remote conversation still exists."""
    cutoff = _now() - timedelta(days=settings.REMOTE_RETENTION_DAYS)
    return (
        Thread.objects.exclude(remote_id="")
        .filter(remote_deleted_at__isnull=True, updated_at__lt=cutoff)
        .exclude(runs__status__in=Run.ACTIVE)
    )


def remote_deletion_failures() -> QuerySet:
    """The report: threads whose remote conversation could not be deleted."""
    return Thread.objects.filter(remote_error__startswith=DELETE_FAILED, remote_deleted_at__isnull=True)


def request_remote_deletion(*, thread_ids: Iterable[int]) -> int:
    """Queue the deletion of each thread's remote conversation. Threads without one (the offline
    provider, or already deleted) are marked at once. Returns how many were queued."""
    queued = 0
    for thread in Thread.objects.filter(pk__in=list(thread_ids)).only("id", "remote_id", "remote_deleted_at"):
        if thread.remote_deleted_at is not None:
            continue
        if not thread.remote_id:
            _mark_deleted(thread.pk, None)
            continue
        _enqueue("delete_remote_thread", thread.pk)
        queued += 1
    return queued


def _mark_deleted(thread_id: int, remote_id: str | None) -> None:
    with transaction.atomic():
        thread = Thread.objects.select_for_update().get(pk=thread_id)
        history = list(thread.remote_history)
        if remote_id:
            history.append({"id": remote_id, "reason": "deleted", "at": _now().isoformat()})
        Thread.objects.filter(pk=thread_id).update(
            remote_id="",
            remote_history=history,
            remote_deleted_at=_now(),
            remote_error="",
            state=Thread.State.DELETED,
        )


def _remote_file_ids(thread_ids: Iterable[int]) -> list[str]:
    return list(
        Attachment.objects.filter(message__thread_id__in=list(thread_ids))
        .exclude(remote_file_id="")
        .values_list("remote_file_id", flat=True)
    )


def _gone(exc: ProviderError) -> bool:
    """A 404 means there is nothing left to delete: that is success."""
    return "not_found" in exc.code or exc.code == "404"


def _delete_files(provider, file_ids: Iterable[str]) -> None:
    delete_file = getattr(provider, "delete_file", None)
    if delete_file is None:
        return
    for file_id in file_ids:
        delete_file(file_id)


def _delete_quietly(func, arg) -> None:
    try:
        func(arg)
    except ProviderError as exc:
        if not _gone(exc):
            raise


def thread_delete_remote(*, thread_id: int) -> bool:
    """Delete one thread's remote conversation and uploaded files; keep the local history.
    Returns True when nothing remote is left; on failure records the reason on the thread."""
    thread = Thread.objects.get(pk=thread_id)
    if thread.remote_deleted_at is not None:
        return True
    if not thread.remote_id:
        _mark_deleted(thread.pk, None)
        return True
    if thread.runs.filter(status__in=Run.ACTIVE).exists():
        Thread.objects.filter(pk=thread.pk).update(
            remote_error=DELETE_FAILED + "a run is still active; retry when it has finished."
        )
        return False
    provider = get_provider()
    try:
        _delete_quietly(provider.delete_thread, thread)
        for file_id in _remote_file_ids([thread.pk]):
            _delete_quietly(partial(_delete_files, provider), [file_id])
    except ProviderError as exc:
        Thread.objects.filter(pk=thread.pk).update(remote_error=(DELETE_FAILED + exc.message)[:2000])
        logger.warning("remote deletion of thread %s failed: %s", thread.pk, exc)
        return False
    Attachment.objects.filter(message__thread_id=thread.pk).update(remote_file_id="")
    _mark_deleted(thread.pk, thread.remote_id)
    return True


def remote_objects_purge(*, conversation_ids: list[str], file_ids: list[str], provider_name: str = "") -> list[str]:
    """Delete remote conversations and files that have no local thread any more (a deleted
    customer account). Returns the ids that could not be deleted; the task retries them."""
    provider = get_provider()
    left: list[str] = []
    for remote_id in conversation_ids:
        try:
            gone = Thread(provider=provider_name or provider.name, remote_id=remote_id)
            _delete_quietly(provider.delete_thread, gone)
        except ProviderError as exc:
            logger.warning("remote conversation %s of a deleted account not deleted: %s", remote_id, exc)
            left.append(remote_id)
    for file_id in file_ids:
        try:
            _delete_quietly(partial(_delete_files, provider), [file_id])
        except ProviderError as exc:
            logger.warning("remote file %s of a deleted account not deleted: %s", file_id, exc)
            left.append(file_id)
    return left


# --- metadata ------------------------------------------------------------------------------


def thread_resync_metadata(*, thread_id: int) -> bool:
    """Push the owner's current metadata now (the admin's re-sync): one rule, the engine's sync."""
    from assistants import services

    Thread.objects.filter(pk=thread_id).update(metadata_dirty=True)
    return services.thread_metadata_sync(thread_id=thread_id) in ("pushed", "no remote conversation")


def request_metadata_resync(*, thread_ids: Iterable[int]) -> int:
    ids = list(Thread.objects.filter(pk__in=list(thread_ids)).values_list("pk", flat=True))
    Thread.objects.filter(pk__in=ids).update(metadata_dirty=True)
    for thread_id in ids:
        _enqueue("sync_thread_metadata", thread_id)
    return len(ids)


# --- the periodic job ----------------------------------------------------------------------


def lifecycle_run() -> dict[str, int]:
    """The hourly job: archive finished threads, then queue remote deletions past retention
    (failed ones included, so a transient provider error heals by itself)."""
    archived = threads_archive(thread_ids=threads_due_for_archive().values_list("pk", flat=True)[:1000])
    due = list(threads_due_for_remote_deletion().values_list("pk", flat=True)[:500])
    with transaction.atomic():
        queued = request_remote_deletion(thread_ids=due)
    return {"archived": archived, "remote_deletions_queued": queued}
