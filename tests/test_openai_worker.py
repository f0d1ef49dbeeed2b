"""The engine's invariants with the OpenAI provider, a real Celery worker process and the emulator
over loopback HTTP."""

import threading

import pytest
from django.db import connection

from assistants.models import Run
from assistants.tasks import advance_run
from tests.factories import open_ticket
from tests.openai_support import published, worker_env
from tests.worker import broker_unreachable, wait_until
from tickets import services as desk

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def all_done():
    return Run.objects.exists() and not Run.objects.filter(status__in=Run.ACTIVE).exists()


def test_concurrent_customer_posts_each_get_one_reply_from_a_real_worker(celery_worker, served):
    emu, base_url = served
    celery_worker.start(concurrency=4, **worker_env(base_url))
    tickets = [open_ticket(body=f"Question {n}") for n in range(6)]

    def post(ticket):
        try:
            for n in range(3):
                desk.customer_reply(ticket=ticket, customer=ticket.customer, body=f"more {n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(t,)) for t in tickets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: all_done() and all(published(t).count() >= 1 for t in tickets), 60, message="replies")
    wait_until(all_done, 60, message="follow-up runs")
    for ticket in tickets:
        runs = Run.objects.filter(thread=ticket.thread)
        assert set(runs.values_list("status", flat=True)) == {Run.Status.COMPLETED}
        # every customer message is answered by exactly one run, one reply per run
        assert not ticket.thread.messages.filter(role="user", answered_by__isnull=True).exists()
        assert published(ticket).count() == runs.count()
    assert all(c.startswith("conv_") for c in emu.state()["conversations"])


def test_duplicate_task_delivery_does_not_duplicate_the_reply(celery_worker, served, monkeypatch):
    from assistants import scheduling

    emu, base_url = served
    monkeypatch.setattr(scheduling, "enqueue_step", lambda run_id, delay=0.0: None)
    ticket = open_ticket(body="Hello")
    monkeypatch.undo()
    run = Run.objects.get(thread=ticket.thread)
    celery_worker.start(concurrency=4, **worker_env(base_url))
    for _ in range(4):
        advance_run.apply_async(args=[run.pk])
    wait_until(lambda: Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).exists(), 60, message="the run")
    assert published(ticket).count() == 1
    assert emu.count("POST", "/v1/responses") == 1


def test_a_worker_killed_while_creating_the_response_is_replaced_and_the_run_answers_once(celery_worker, served):
    emu, base_url = served
    # The emulator creates the response, then holds the answer: the worker dies waiting for it.
    emu.fail_next(path_prefix="/v1/responses", method="POST", kind="lost", lost_as="timeout", sleep=30)
    env = {**worker_env(base_url), "OPENAI_TIMEOUT": "60", "ASSISTANT_STEP_LEASE": "3"}
    first = celery_worker.start(**env)
    ticket = open_ticket(body="Where is my parcel?")
    wait_until(lambda: emu.count("POST", "/v1/responses") == 1, message="the response to be created")
    first.kill()
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.QUEUED  # the step died with the worker

    celery_worker.start(beat=True, SWEEP_INTERVAL="0.5", ASSISTANT_SWEEP_GRACE="1", **env)
    done = wait_until(lambda: Run.objects.filter(pk=run.pk).exclude(status__in=Run.ACTIVE).first(), 40, message="run")
    assert done.status == Run.Status.COMPLETED, done.error_message
    assert published(ticket).count() == 1
    # The replacement found the customer's message (and the orphan's answer) in the conversation:
    # no second response was paid for and the message was not sent twice.
    assert emu.count("POST", "/v1/responses") == 1
    ticket.thread.refresh_from_db()
    items = emu.state()["conversations"][ticket.thread.remote_id]["items"]
    asked = [i for i in items if i.get("role") == "user" and "Where is my parcel?" in str(i.get("content"))]
    assert len(asked) == 1


def test_a_customer_posts_while_the_broker_is_down_and_the_openai_run_completes_later(celery_worker, served):
    emu, base_url = served
    with broker_unreachable():
        ticket = open_ticket(body="Where is my parcel?")  # the request's work succeeds
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.QUEUED and emu.count("POST", "/v1/responses") == 0

    celery_worker.start(beat=True, SWEEP_INTERVAL="0.5", ASSISTANT_SWEEP_GRACE="1", **worker_env(base_url))
    wait_until(lambda: Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).exists(), 40, message="sweeper")
    assert published(ticket).count() == 1
    assert emu.count("POST", "/v1/responses") == 1
