"""The engine's promises with a real Celery worker process and the real broker."""

import threading

import pytest
from django.db import connection

from assistants import scheduling
from assistants.models import Message, Run
from assistants.tasks import advance_run
from tests.factories import CustomerFactory, open_ticket
from tests.worker import broker_unreachable, wait_until
from tickets import services as desk

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def replies(ticket):
    return Message.objects.filter(thread=ticket.thread, role=Message.Role.ASSISTANT, run__isnull=False)


def test_a_real_worker_publishes_the_offline_reply(celery_worker):
    celery_worker.start()
    ticket = open_ticket(body="I want to talk to a human about my parcel")
    assert Message.objects.filter(thread=ticket.thread, role="user").count() == 1  # committed
    run = wait_until(
        lambda: Run.objects.filter(thread=ticket.thread, status=Run.Status.COMPLETED).first(), message="the run"
    )
    assert replies(ticket).count() == 1
    assert run.tool_calls[0]["name"] == "escalate_to_human"


def test_the_same_advance_task_delivered_twice_at_once_does_one_step_each(celery_worker, monkeypatch):
    monkeypatch.setattr(scheduling, "enqueue_step", lambda run_id, delay=0.0: None)  # we deliver by hand
    ticket = open_ticket(body="How do refunds work?")
    monkeypatch.undo()
    run = Run.objects.get(thread=ticket.thread)
    celery_worker.start(concurrency=4)
    for _ in range(4):
        advance_run.apply_async(args=[run.pk])
    wait_until(lambda: Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).exists(), message="completion")
    run.refresh_from_db()
    # the offline assistant takes two steps (ask for a tool, answer); duplicates claimed nothing
    assert run.steps == 2
    assert replies(ticket).count() == 1


def test_a_worker_killed_mid_run_is_replaced_and_the_run_finishes_once(celery_worker):
    slow = {"ASSISTANT_PROVIDER": "tests.providers.SlowProvider", "SLOW_PROVIDER_SECONDS": "3"}
    timing = {"ASSISTANT_STEP_LEASE": "4", "SWEEP_INTERVAL": "0.5", "ASSISTANT_SWEEP_GRACE": "1"}
    first = celery_worker.start(**slow, **timing)
    ticket = open_ticket(body="Where is my parcel?")
    run = Run.objects.get(thread=ticket.thread)
    wait_until(lambda: Run.objects.filter(pk=run.pk, steps__gte=1).exists(), message="the slow step to start")
    first.kill()
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED  # the step died with the worker

    celery_worker.start(beat=True, **slow, **timing)
    done = wait_until(
        lambda: Run.objects.filter(pk=run.pk).exclude(status__in=Run.ACTIVE).first(), 40, message="the run"
    )
    assert done.status == Run.Status.COMPLETED, done.error_message
    assert replies(ticket).count() == 1


def test_a_customer_can_post_while_the_broker_is_down_and_is_answered_later(celery_worker):
    with broker_unreachable():
        ticket = open_ticket(body="Where is my parcel?")  # the request's work succeeds
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.QUEUED
    assert Message.objects.filter(thread=ticket.thread, role="user").count() == 1

    celery_worker.start(beat=True, SWEEP_INTERVAL="0.5", ASSISTANT_SWEEP_GRACE="1")
    wait_until(lambda: Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).exists(), message="the sweeper")
    assert replies(ticket).count() == 1


@pytest.mark.postgres
def test_fifty_concurrent_customer_messages_on_one_ticket(celery_worker):
    celery_worker.start()
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, body="first")
    max_active = {"n": 0}
    stop = threading.Event()

    def monitor():
        while not stop.is_set():
            n = Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).count()
            max_active["n"] = max(max_active["n"], n)
        connection.close()

    def post(i):
        try:
            desk.customer_reply(ticket=ticket, customer=customer, body=f"message {i}")
        finally:
            connection.close()

    watcher = threading.Thread(target=monitor)
    watcher.start()
    posters = [threading.Thread(target=post, args=(i,)) for i in range(50)]
    for t in posters:
        t.start()
    for t in posters:
        t.join()

    customer_messages = Message.objects.filter(thread=ticket.thread, role="user")
    assert customer_messages.count() == 51
    # numbered without gaps or repeats, in the order they were committed
    rows = list(Message.objects.filter(thread=ticket.thread).order_by("seq").values_list("seq", "created_at"))
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
    assert [at for _, at in rows] == sorted(at for _, at in rows)
    wait_until(lambda: not Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists(), 60, message="idle")
    stop.set()
    watcher.join()

    assert max_active["n"] == 1
    last = customer_messages.order_by("-seq").first()
    assert last.answered_by is not None and last.answered_by.status == Run.Status.COMPLETED
    assert not customer_messages.filter(answered_by__isnull=True).exists()
    runs = Run.objects.filter(thread=ticket.thread)
    assert all(r.status == Run.Status.COMPLETED for r in runs)
    # one reply per run, never two
    assert replies(ticket).count() == runs.count()
    assert runs.count() < 51  # the burst was coalesced
