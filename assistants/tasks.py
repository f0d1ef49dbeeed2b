"""Celery tasks: each takes ids and calls one service."""

from celery import shared_task

from assistants import lifecycle, services


@shared_task(ignore_result=True)
def advance_run(run_id: int) -> str:
    return services.run_advance(run_id=run_id)


@shared_task(ignore_result=True)
def sweep_runs() -> dict:
    return services.runs_sweep()


@shared_task(ignore_result=True)
def cancel_remote_run(run_id: int, response_id: str = "") -> None:
    services.run_cancel_remote(run_id=run_id, response_id=response_id)


# --- thread lifecycle (assistants.lifecycle) -----------------------------------------------


@shared_task(ignore_result=True)
def run_thread_lifecycle() -> dict:
    return lifecycle.lifecycle_run()


@shared_task(ignore_result=True)
def delete_remote_thread(thread_id: int) -> bool:
    return lifecycle.thread_delete_remote(thread_id=thread_id)


@shared_task(bind=True, ignore_result=True, max_retries=8)
def purge_remote_objects(self, conversation_ids: list[str], file_ids: list[str]) -> list[str]:
    """Remote leftovers of a deleted account: what fails is retried with backoff (no local row remains)."""
    left = lifecycle.remote_objects_purge(conversation_ids=conversation_ids, file_ids=file_ids)
    if left:
        conv = [i for i in conversation_ids if i in left]
        files = [i for i in file_ids if i in left]
        raise self.retry(args=[conv, files], countdown=min(30 * 2**self.request.retries, 3600))
    return left


@shared_task(ignore_result=True, bind=True, max_retries=8)
def sync_thread_metadata(self, thread_id: int) -> str:
    from assistants.providers.base import TransientProviderError

    try:
        return services.thread_metadata_sync(thread_id=thread_id)
    except TransientProviderError as exc:
        raise self.retry(countdown=max(exc.retry_after or 0, 2 ** min(self.request.retries, 6))) from exc


@shared_task(ignore_result=True)
def sweep_thread_metadata() -> int:
    return services.threads_metadata_sweep()


@shared_task(ignore_result=True)
def sync_knowledge_base() -> dict:
    from assistants.providers import get_provider

    provider = get_provider()
    sync = getattr(provider, "sync_knowledge_base", None)
    return sync() if sync else {}
