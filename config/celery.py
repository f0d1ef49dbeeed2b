import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _preload_provider(**kwargs):
    """Load the assistant provider once in the worker's main process, before the pool forks, rather
    than in each child on its first task: importing and setting up the openai SDK takes about a
    second, and the SDK builds its response models' schemas at import only when told to."""
    os.environ.setdefault("DEFER_PYDANTIC_BUILD", "false")
    from assistants.providers import get_provider

    provider = get_provider()
    if hasattr(provider, "preload"):
        provider.preload()
    # The embedding model and the language detector, once, for every child (about 1 s together).
    from assistants import knowledge

    knowledge.preload()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **kwargs):
    """Django's rule for a request, applied to a task: close a database connection that broke or
    outlived CONN_MAX_AGE, keep the others (settings.CELERY_DB_REUSE_MAX stops Celery's fixup from
    closing every connection around every task). A task run eagerly, inside the caller's
    transaction, leaves the connection alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _worker_commit_durability(**kwargs):
    """Worker steps commit with synchronous_commit=off on PostgreSQL (WORKER_ASYNC_COMMIT=0 turns
    it off). Every step is re-driven by the lease and the sweeper, and a reply is written in the
    same transaction as its run's completion, so a step lost to a database crash is redone, never
    doubled. Customer messages are written by the web process, with full durability."""
    from django.conf import settings
    from django.db.backends.signals import connection_created

    if settings.WORKER_ASYNC_COMMIT:
        connection_created.connect(_async_commit, weak=False, dispatch_uid="worker_async_commit")


def _async_commit(sender, connection, **kwargs):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
