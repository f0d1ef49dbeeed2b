"""Accounts and retention: what tickets tells the thread lifecycle.

- When a customer account is deleted, its tickets go with it (Ticket.customer is CASCADE), but
  threads are PROTECTed by the ticket and would be orphaned: the threads are collected before
  the delete, deleted after it in the same transaction, and their remote conversations and
  uploaded files are queued for deletion at the provider once it commits.
- A thread is finished (archivable) when its ticket has been closed or resolved, with no
  activity, for THREAD_ARCHIVE_AFTER_DAYS.

Connected by `connect()` from TicketsConfig.ready().
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, pre_delete

from assistants import lifecycle
from assistants.models import Attachment, Thread
from tickets.models import Ticket

logger = logging.getLogger(__name__)

_PURGE_ATTR = "_helpdesk_purge"


def finished_threads(cutoff):
    done = Ticket.objects.filter(
        status__in=[Ticket.Status.CLOSED, Ticket.Status.RESOLVED], updated_at__lt=cutoff
    ).values("thread_id")
    return Thread.objects.filter(pk__in=done)


def _collect(thread_ids: list[int]) -> dict:
    conversations: list[str] = []
    for remote_id, history in Thread.objects.filter(pk__in=thread_ids).values_list("remote_id", "remote_history"):
        if remote_id:
            conversations.append(remote_id)
        # Earlier conversations (rotations) may still exist remotely; a 404 counts as deleted.
        conversations.extend(h["id"] for h in history or () if h.get("id") and h.get("reason") != "deleted")
    files = list(
        Attachment.objects.filter(message__thread_id__in=thread_ids)
        .exclude(remote_file_id="")
        .values_list("remote_file_id", flat=True)
    )
    local_files = list(
        Attachment.objects.filter(message__thread_id__in=thread_ids).exclude(file="").values_list("file", flat=True)
    )
    return {
        "thread_ids": thread_ids,
        "conversations": list(dict.fromkeys(conversations)),
        "files": list(dict.fromkeys(files)),
        "local_files": local_files,
    }


def on_user_pre_delete(sender, instance, **kwargs) -> None:
    thread_ids = list(Ticket.objects.filter(customer=instance).values_list("thread_id", flat=True))
    setattr(instance, _PURGE_ATTR, _collect(thread_ids))


def on_user_post_delete(sender, instance, **kwargs) -> None:
    found = getattr(instance, _PURGE_ATTR, None)
    if found:
        # The tickets are gone by now (they are deleted before the user): nothing protects the threads.
        _purge(found)


@transaction.atomic
def tickets_delete(*, ticket_ids) -> int:
    """Delete tickets with their threads, local files, and remote conversations and files."""
    thread_ids = list(Ticket.objects.filter(pk__in=list(ticket_ids)).values_list("thread_id", flat=True))
    found = _collect(thread_ids)
    Ticket.objects.filter(pk__in=list(ticket_ids)).delete()
    _purge(found)
    return len(thread_ids)


def _purge(found: dict) -> None:
    Thread.objects.filter(pk__in=found["thread_ids"]).delete()
    if found["conversations"] or found["files"]:
        transaction.on_commit(partial(_queue_purge, found["conversations"], found["files"]))
    if found["local_files"]:
        transaction.on_commit(partial(_delete_local_files, found["local_files"]))


def _queue_purge(conversations: list[str], files: list[str]) -> None:
    from assistants import tasks

    try:
        tasks.purge_remote_objects.delay(conversations, files)
    except Exception:  # noqa: BLE001 - nothing local points at them any more: say so loudly
        logger.error(
            "broker unavailable: remote conversations %s and files %s of a deleted account were not queued",
            conversations,
            files,
        )


def _delete_local_files(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("could not delete the stored file %s", name)


def connect() -> None:
    pre_delete.connect(on_user_pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="tickets.accounts.pre")
    post_delete.connect(on_user_post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="tickets.accounts.post")
    lifecycle.register_archivable(finished_threads)
