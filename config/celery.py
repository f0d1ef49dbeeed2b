import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
