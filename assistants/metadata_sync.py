"""The metadata mirror: the thread's metadata pushed to the provider's conversation when it changes.

The typed fields of the owner (the ticket) are authoritative; the mirror is validated against the
provider's limits before anything is sent, and a refusal is kept in Thread.remote_error for staff.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from assistants import policy as thread_policy
from assistants.metadata import SYNC_FAILED, MetadataError, validate_metadata
from assistants.models import Thread
from assistants.providers import get_provider
from assistants.providers.base import PermanentProviderError, TransientProviderError

logger = logging.getLogger(__name__)


def thread_metadata_sync(*, thread_id: int) -> str:
    """Push the thread's metadata to the provider if it changed. A burst of changes is one push:
    the dirty flag is taken with one conditional UPDATE, so later tasks of the burst find it clear.
    The limits are checked before any call; a refusal is kept in remote_error for staff."""
    provider = get_provider()
    thread = Thread.objects.filter(pk=thread_id).first()
    if thread is None:
        return "no thread"
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
    Thread.objects.filter(pk=thread_id).update(metadata=metadata, metadata_synced_at=timezone.now())
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
