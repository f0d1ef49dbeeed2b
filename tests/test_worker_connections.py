"""The worker keeps its database connection between tasks (a new PostgreSQL connection per task
cost more than the step itself) and still drops one that broke or outlived CONN_MAX_AGE."""

import time

import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connection

from assistants.tasks import sweep_runs
from config.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def test_celerys_django_fixup_does_not_close_the_connection_around_every_task():
    assert app.conf.get("CELERY_DB_REUSE_MAX")  # without it the fixup closes before and after each task


@pytest.mark.parametrize("signal", [task_prerun, task_postrun])
def test_a_connection_within_its_max_age_is_kept(signal):
    connection.ensure_connection()
    raw = connection.connection
    connection.close_at = time.monotonic() + 60
    signal.send(sender=None)
    assert connection.connection is raw


@pytest.mark.parametrize("signal", [task_prerun, task_postrun])
def test_a_connection_past_its_max_age_is_closed(signal):
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    signal.send(sender=None)
    assert connection.connection is None


@pytest.mark.postgres  # SQLite's connection never reports itself unusable
def test_a_connection_that_broke_is_closed():
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    connection.errors_occurred = True
    connection.connection.close()  # the server went away
    task_postrun.send(sender=None)
    assert connection.connection is None


def test_an_eager_task_leaves_the_callers_connection_alone():
    connection.ensure_connection()
    raw = connection.connection
    connection.close_at = time.monotonic() - 1  # would be closed after a worker's task
    sweep_runs.apply()
    assert connection.connection is raw
