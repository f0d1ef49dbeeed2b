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
def cancel_remote_run(run_id: int) -> None:
    services.run_cancel_remote(run_id=run_id)


# --- thread lifecycle (assistants.lifecycle) -----------------------------------------------


@shared_task(ignore_result=True)
def run_thread_lifecycle() -> dict:
    return lifecycle.lifecycle_run()


@shared_task(ignore_result=True)
def delete_remote_thread(thread_id: int) -> bool:
    return lifecycle.thread_delete_remote(thread_id=thread_id)


@shared_task(ignore_result=True)
def resync_thread_metadata(thread_id: int) -> bool:
    return lifecycle.thread_resync_metadata(thread_id=thread_id)


@shared_task(bind=True, ignore_result=True, max_retries=8)
def purge_remote_objects(self, conversation_ids: list[str], file_ids: list[str]) -> list[str]:
    """Remote leftovers of a deleted account: what fails is retried with backoff (no local row remains)."""
    left = lifecycle.remote_objects_purge(conversation_ids=conversation_ids, file_ids=file_ids)
    if left:
        conv = [i for i in conversation_ids if i in left]
        files = [i for i in file_ids if i in left]
        raise self.retry(args=[conv, files], countdown=min(30 * 2**self.request.retries, 3600))
    return left
