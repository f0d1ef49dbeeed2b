"""Exactly one answer per customer turn under real races: a real Celery worker process, the OpenAI
provider through the real SDK, and our emulator over loopback HTTP. The emulator's hooks let a
test act in the middle of a worker's step (a customer writes, staff cancel, the call is slow)."""

import time

import pytest
from django.db import connection

from assistants.models import Message, Run
from tests.factories import StaffFactory, open_ticket
from tests.openai_support import (
    created_responses,
    published,
    user_texts,
    worker_env,
)
from tests.worker import wait_until
from tickets import services as desk

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def all_ended():
    return Run.objects.exists() and not Run.objects.filter(status__in=Run.ACTIVE).exists()


def in_the_emulator(fn):
    """A hook body that uses the database from the emulator's server thread."""

    def hook(method, path, body):
        try:
            fn(method, path, body)
        finally:
            connection.close()

    return hook


def test_a_message_posted_while_the_run_starts_is_answered_once_by_the_follow_up(celery_worker, served):
    emu, base_url = served
    ticket = open_ticket(body="First question")

    def customer_writes_again(method, path, body):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Second question")
        time.sleep(1.5)  # the conversation is slow to create: the step is still going

    emu.on_call(in_the_emulator(customer_writes_again), method="POST", path_prefix="/v1/conversations")
    celery_worker.start(**worker_env(base_url))
    wait_until(lambda: all_ended() and published(ticket).count() >= 2, 40, message="both turns answered")
    wait_until(all_ended, 20, message="every run to end")

    responses = created_responses(emu)
    assert [user_texts(r["input"]) for r in responses] == [["First question"], ["Second question"]]
    assert all(r["input"] for r in responses)  # no response with an empty input
    runs = list(Run.objects.filter(thread=ticket.thread).order_by("created_at"))
    assert [r.status for r in runs] == [Run.Status.COMPLETED, Run.Status.COMPLETED]
    first, second = ticket.thread.messages.filter(role="user").order_by("seq")
    assert (first.answered_by, second.answered_by) == (runs[0], runs[1])
    assert published(ticket).count() == 2
    ticket.thread.refresh_from_db()
    items = emu.state()["conversations"][ticket.thread.remote_id]["items"]
    assert user_texts(items) == ["First question", "Second question"]


def test_the_same_words_twice_after_a_429_are_sent_and_answered_again(celery_worker, served):
    emu, base_url = served
    celery_worker.start(**worker_env(base_url))
    ticket = open_ticket(body="thanks")
    wait_until(lambda: published(ticket).count() == 1, 30, message="the first answer")
    # The second turn's create is refused with a 429, which processed nothing.
    emu.fail_next(path_prefix="/v1/responses", method="POST", status=429, headers={"retry-after": "0.1"})
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="thanks")
    wait_until(lambda: all_ended() and published(ticket).count() == 2, 30, message="the second answer")

    responses = created_responses(emu)
    assert len(responses) == 2 and user_texts(responses[1]["input"]) == ["thanks"]
    assert emu.count("POST", "/v1/responses", 429) == 1
    # Nothing was looked up after a clean error: recovery happens only after an ambiguous call.
    assert emu.count("GET", "/v1/conversations/{conversation_id}/items") == 0
    second_run = Run.objects.filter(thread=ticket.thread).order_by("-created_at").first()
    assert second_run.remote_response_id == responses[1]["id"]
    ticket.thread.refresh_from_db()
    items = emu.state()["conversations"][ticket.thread.remote_id]["items"]
    assert user_texts(items) == ["thanks", "thanks"]


def failing_first(error: dict):
    """A model whose first response fails with `error`; later ones answer."""
    answered = []

    def brain(request, items):
        answered.append(request)
        if len(answered) == 1:
            return {"status": "failed", "error": error}
        return "Here is what I found."

    return brain


def test_a_message_that_arrived_during_a_failed_run_is_retried_once_and_answered(celery_worker, served):
    emu, base_url = served
    ticket = open_ticket(body="My invoice is wrong")
    # The model's server fails the first response (a transient cause), after the customer wrote again.
    emu.script(failing_first({"code": "server_error", "message": "boom"}))

    def customer_writes_again(method, path, body):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Also, where do I see my plan?")

    emu.on_call(in_the_emulator(customer_writes_again), method="POST", path_prefix="/v1/responses", after=True)
    celery_worker.start(**worker_env(base_url))
    wait_until(lambda: all_ended() and published(ticket).exists(), 30, message="the retry's answer")
    wait_until(all_ended, 20, message="every run to end")

    failed, retry = Run.objects.filter(thread=ticket.thread).order_by("created_at")
    assert failed.status == Run.Status.FAILED and failed.error_code == "server_error"
    assert retry.trigger == Run.Trigger.AUTO_RETRY and retry.status == Run.Status.COMPLETED
    assert set(ticket.thread.messages.filter(role="user").values_list("answered_by", flat=True)) == {retry.pk}
    assert published(ticket).count() == 1
    assert not ticket.thread.messages.filter(kind=Message.Kind.NOTICE).exists()
    assert user_texts(created_responses(emu)[-1]["input"]) == ["My invoice is wrong", "Also, where do I see my plan?"]


def test_a_run_that_fails_for_good_hands_the_turn_to_a_person_and_tells_the_customer(celery_worker, served):
    emu, base_url = served
    ticket = open_ticket(body="Please check my account")
    emu.script(failing_first({"code": "invalid_prompt", "message": "refused"}))  # not worth a retry

    def customer_writes_again(method, path, body):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Hello?")

    emu.on_call(in_the_emulator(customer_writes_again), method="POST", path_prefix="/v1/responses", after=True)
    celery_worker.start(**worker_env(base_url))
    wait_until(lambda: ticket.thread.messages.filter(kind=Message.Kind.NOTICE).exists(), 30, message="the notice")
    wait_until(all_ended, 20, message="every run to end")

    (run,) = Run.objects.filter(thread=ticket.thread)  # a permanent cause: no automatic retry
    assert run.status == Run.Status.FAILED and run.error_code == "invalid_prompt"
    notice = ticket.thread.messages.get(kind=Message.Kind.NOTICE)
    assert notice in Message.objects.public()
    assert "a member of our support team will reply" in notice.body
    ticket.refresh_from_db()
    ticket.thread.refresh_from_db()
    assert ticket.status == "open" and ticket.thread.ai_state == "failed"
    assert ticket.thread.attention.startswith("Needs a person:")
    # Both customer messages (the one that arrived during the run too) are covered by the notice.
    assert not ticket.thread.messages.filter(role="user", seq__gt=notice.seq).exists()


def test_a_cancel_that_lands_mid_step_holds_and_the_stray_response_is_cancelled(celery_worker, served):
    emu, base_url = served
    staff = StaffFactory()
    ticket = open_ticket(body="Where is my parcel?")

    def staff_stop_it(method, path, body):
        run = Run.objects.get(thread=ticket.thread)
        assert desk.run_stop(run=run, staff=staff)

    # Staff stop the run while its step is creating the response (which the emulator still creates,
    # and would answer after 5 s).
    emu.configure(latency=5)
    emu.on_call(in_the_emulator(staff_stop_it), method="POST", path_prefix="/v1/responses")
    celery_worker.start(**worker_env(base_url))
    wait_until(lambda: emu.count("POST", "/v1/responses/{response_id}/cancel") == 1, 30, message="the remote cancel")
    time.sleep(0.5)  # give a step that would overwrite the cancel the time to do it

    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.CANCELLED and "Stopped by" in run.error_message
    assert not published(ticket).exists()
    (response,) = created_responses(emu)
    assert emu.state()["responses"][response["id"]]["status"] == "cancelled"
    ticket.thread.refresh_from_db()
    assert "wait for a person" in ticket.thread.attention


def test_a_person_replying_stops_the_run_and_its_late_answer_is_never_published(celery_worker, served):
    emu, base_url = served
    staff = StaffFactory()
    ticket = open_ticket(body="Where is my parcel?")
    polls = []

    def person_replies(method, path, body):
        polls.append(path)
        if len(polls) == 2:  # the poll that brings the answer: the person replied just before
            desk.staff_reply(ticket=ticket, staff=staff, body="It left our warehouse today.")

    # Responses finish on the second poll; one worker process, so the remote cancel waits its turn.
    emu.configure(auto_complete=False, latency=0)
    emu.on_call(in_the_emulator(person_replies), method="GET", path_prefix="/v1/responses/", count=None)
    celery_worker.start(concurrency=1, **worker_env(base_url))
    late = wait_until(
        lambda: ticket.thread.messages.filter(run__isnull=False).first(), 30, message="the late answer kept"
    )
    assert late.draft_state == Message.DraftState.DISCARDED and late.body.startswith("Emulated reply to")
    assert Run.objects.get(thread=ticket.thread).status == Run.Status.CANCELLED
    assert not published(ticket).exists()
    public = list(Message.objects.public().filter(thread=ticket.thread, role="assistant"))
    assert [m.body for m in public] == ["It left our warehouse today."]


def test_a_slow_step_renews_its_lease_and_is_never_handed_to_a_second_worker(celery_worker, served):
    emu, base_url = served
    # Each call takes 1.2 s, the lease is 2 s: the first step (conversation + response) outlasts it.
    emu.on_call(lambda *a: time.sleep(1.2), method="POST", path_prefix="/v1/conversations", count=None)
    emu.on_call(lambda *a: time.sleep(1.2), method="POST", path_prefix="/v1/responses", count=None)
    env = worker_env(base_url, ASSISTANT_STEP_LEASE=2, SWEEP_INTERVAL=0.3, ASSISTANT_SWEEP_GRACE=0.3)
    worker = celery_worker.start(beat=True, concurrency=2, **env)
    ticket = open_ticket(body="Where is my parcel?")
    wait_until(lambda: published(ticket).exists(), 30, message="the answer")

    assert emu.count("POST", "/v1/conversations") == 1
    assert emu.count("POST", "/v1/responses") == 1
    assert Run.objects.get(thread=ticket.thread).attempts == 0
    assert "lease lost" not in worker.log()
