"""Celery tasks of the API: each takes plain values and does one thing."""

from celery import shared_task

from api import idempotency


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Forget idempotency keys older than API_IDEMPOTENCY_HOURS (a retry after that is a new request)."""
    return idempotency.purge_expired()
