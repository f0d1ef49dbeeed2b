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
    """Index articles whose passages are stale (missed saves, a model installed since), then refresh
    the provider's copy of the knowledge base (OpenAI's vector store) if it keeps one."""
    from assistants import knowledge
    from assistants.providers import get_provider

    indexed = [knowledge.article_index(article_id=pk) for pk in knowledge.articles_to_index()]
    sync = getattr(get_provider(), "sync_knowledge_base", None)
    return {"indexed": len(indexed), **(sync() if sync else {})}


@shared_task(ignore_result=True)
def index_article(article_id: int) -> str:
    """An article was saved: store its passages and embeddings, then refresh the provider's copy."""
    from assistants import knowledge
    from assistants.providers import get_provider

    state = knowledge.article_index(article_id=article_id)
    sync = getattr(get_provider(), "sync_knowledge_base", None)
    if sync:
        sync()
    return state


# --- redaction (assistants.redaction) ------------------------------------------------------


@shared_task(bind=True, ignore_result=True, max_retries=None)
def delete_redacted_remote(self, redaction_id: int) -> str:
    """Delete the provider's copies of a removed message; transient failures and a run in flight
    are retried with backoff (the service caps the attempts)."""
    from assistants import redaction
    from assistants.providers.base import TransientProviderError
    from assistants.scheduling import backoff

    try:
        return redaction.redaction_remote_delete(redaction_id=redaction_id)
    except TransientProviderError as exc:
        raise self.retry(countdown=max(exc.retry_after or 0, backoff(self.request.retries))) from exc
    except redaction.RemoteWait as exc:
        raise self.retry(countdown=backoff(min(self.request.retries, 4))) from exc


@shared_task(ignore_result=True)
def sweep_redactions() -> int:
    from assistants import redaction

    return redaction.redactions_sweep()
