"""How the OpenAI provider's errors drive the run engine (emulator faults through the real SDK)."""

import pytest

from assistants import services
from assistants.models import Message, Run
from assistants.providers.openai import retry_after_seconds
from tests.factories import StaffFactory, open_ticket
from tests.openai_support import replies, run_of, step
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)
RESPONSES = "/v1/responses"


def test_a_429_is_retried_after_the_retry_after_ms_it_asks_for(emu, drain, enqueued):
    ticket = open_ticket(body="hello")
    emu.fail_next(path_prefix=RESPONSES, method="POST", status=429, headers={"retry-after-ms": "4500"})
    run = step(ticket)
    assert run.status == Run.Status.QUEUED and run.attempts == 1 and run.error_code == "rate_limit_exceeded"
    assert enqueued[-1] == (run.pk, 4.5)
    drain()
    assert run_of(ticket).status == Run.Status.COMPLETED
    assert replies(ticket).count() == 1


def test_a_retry_after_longer_than_the_sdk_would_wait_is_still_honoured(emu, settings, enqueued):
    settings.ASSISTANT_RUN_TIME_LIMIT = 3600
    ticket = open_ticket(body="hello")
    emu.fail_next(path_prefix=RESPONSES, method="POST", status=429, headers={"retry-after": "300"})
    run = step(ticket)
    assert run.status == Run.Status.QUEUED
    assert enqueued[-1] == (run.pk, 300.0)
    assert emu.count("POST", RESPONSES) == 1  # the SDK did not retry on its own


def test_a_retry_after_past_the_run_deadline_fails_the_run_for_staff(emu):
    ticket = open_ticket(body="hello")
    emu.fail_next(path_prefix=RESPONSES, method="POST", status=429, headers={"retry-after": "100000"})
    run = step(ticket)
    assert run.status == Run.Status.FAILED and run.needs_staff
    assert "past this run's time limit" in run.error_message


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 503},
        {"kind": "timeout"},
        {"kind": "drop"},
        {"status": 400, "code": "conversation_locked"},
    ],
    ids=["500", "503", "timeout", "dropped", "conversation_locked"],
)
def test_transient_errors_are_retried_until_the_run_completes(emu, drain, fault):
    ticket = open_ticket(body="hello")
    emu.fail_next(path_prefix=RESPONSES, method="POST", count=2, **fault)
    run = step(ticket)
    assert run.status == Run.Status.QUEUED and run.attempts == 1
    drain()
    run = run_of(ticket)
    assert run.status == Run.Status.COMPLETED
    assert replies(ticket).count() == 1


def test_a_poll_that_fails_is_retried(emu, drain):
    ticket = open_ticket(body="hello")
    run = step(ticket)
    assert run.status == Run.Status.IN_PROGRESS
    emu.fail_next(path_prefix=RESPONSES + "/", method="GET", status=502, count=3)
    drain()
    assert run_of(ticket).status == Run.Status.COMPLETED


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"status": 429, "code": "insufficient_quota"}, "insufficient_quota"),
        ({"status": 401}, "invalid_api_key"),
        ({"status": 403}, "permission_error"),
    ],
    ids=["quota", "401", "403"],
)
def test_quota_and_auth_errors_fail_the_run_at_once_for_staff(emu, fault, code):
    ticket = open_ticket(body="hello")
    emu.fail_next(path_prefix=RESPONSES, method="POST", count=5, **fault)
    run = step(ticket)
    assert run.status == Run.Status.FAILED
    assert run.needs_staff is True
    assert run.error_code == code
    assert emu.count("POST", RESPONSES) == 1
    ticket.thread.refresh_from_db()
    assert ticket.thread.ai_state == "failed"


def test_a_400_fails_the_run_with_the_apis_message(emu):
    ticket = open_ticket(body="hello")
    emu.fail_next(
        path_prefix=RESPONSES,
        method="POST",
        status=400,
        body={"error": {"message": "Invalid 'input': bad item.", "type": "invalid_request_error", "code": "x"}},
    )
    run = step(ticket)
    assert run.status == Run.Status.FAILED
    assert "Invalid 'input': bad item." in run.error_message
    assert not run.needs_staff


def test_a_missing_conversation_is_recreated_from_the_local_history(emu, drain, settings):
    ticket = open_ticket(body="My first question")
    drain()
    staff = StaffFactory()
    desk.staff_reply(ticket=ticket, staff=staff, body="Note for the bot", internal=True)
    ticket.thread.refresh_from_db()
    old = ticket.thread.remote_id
    from assistants.providers.openai import get_client

    get_client().conversations.delete(old)  # the provider lost it (expired, deleted by hand...)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="My second question")
    drain()

    thread = ticket.thread
    thread.refresh_from_db()
    assert thread.remote_id != old and thread.remote_id.startswith("conv_")
    assert thread.remote_history[-1]["id"] == old and thread.remote_history[-1]["reason"] == "not_found"
    seeded = emu.state()["conversations"][thread.remote_id]["items"]
    texts = [(i["role"], i["content"][0]["text"]) for i in seeded if i["type"] == "message"]
    assert texts[:3] == [
        ("user", "My first question"),
        ("assistant", "Emulated reply to: My first question"),
        ("developer", "Note for the bot"),
    ]
    assert ("user", "My second question") in texts
    assert [m.body for m in replies(ticket)] == [
        "Emulated reply to: My first question",
        "Emulated reply to: My second question",
    ]


def test_recreating_a_long_history_seeds_at_most_20_items_per_call(emu, drain, settings):
    settings.ASSISTANT_CONTEXT_BUDGET = 100000
    ticket = open_ticket(body="q0")
    drain()
    staff = StaffFactory()
    for n in range(25):
        desk.staff_reply(ticket=ticket, staff=staff, body=f"note {n}", internal=True)
    ticket.thread.messages.update(sync_state=Message.SyncState.SYNCED)  # as if sent by earlier runs
    ticket.thread.refresh_from_db()
    from assistants.providers.openai import get_client

    get_client().conversations.delete(ticket.thread.remote_id)
    services.run_request(thread=ticket.thread, trigger=Run.Trigger.STAFF, requested_by=staff)
    drain()
    thread = ticket.thread
    thread.refresh_from_db()
    creates = [
        r for r in emu.state()["requests"] if r["method"] == "POST" and r["path"].startswith("/v1/conversations")
    ]
    assert all(len(r["json"].get("items") or []) <= 20 for r in creates)
    assert emu.count("POST", "/v1/conversations/{conversation_id}/items") >= 1
    assert run_of(ticket).status == Run.Status.COMPLETED


def test_a_processed_but_lost_start_publishes_one_reply_and_adopts_the_orphan(emu, drain):
    emu.configure(auto_complete=True)  # the orphan completes by itself, as it would at OpenAI
    ticket = open_ticket(body="hello there")
    emu.fail_next(path_prefix=RESPONSES, method="POST", kind="lost", lost_as="timeout")
    run = step(ticket)
    assert run.status == Run.Status.QUEUED and run.error_code == "timeout"
    drain()

    run = run_of(ticket)
    assert run.status == Run.Status.COMPLETED
    assert replies(ticket).count() == 1
    assert replies(ticket).get().body == "Emulated reply to: hello there"
    conversation = emu.state()["conversations"][run.thread.remote_id]
    user_items = [i for i in conversation["items"] if i.get("role") == "user"]
    assert len(user_items) == 1  # the customer's message was not sent twice
    assert emu.count("POST", RESPONSES, 200) == 0  # no second response was paid for


def test_an_orphan_still_in_flight_locks_the_conversation_until_it_ends(emu, drain):
    ticket = open_ticket(body="hello there")
    emu.fail_next(path_prefix=RESPONSES, method="POST", kind="lost", lost_as="500")
    run = step(ticket)
    assert run.status == Run.Status.QUEUED
    run = step(ticket)  # the orphan is still queued: conversation_locked, retried later
    assert run.status == Run.Status.QUEUED and run.error_code == "conversation_locked"
    emu.tick(force=True)  # the orphan ends
    drain()
    assert run_of(ticket).status == Run.Status.COMPLETED
    assert replies(ticket).count() == 1
    follow_up = Message.objects.filter(thread=ticket.thread, role=Message.Role.USER).count()
    assert follow_up == 1


def test_retry_after_parsing():
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "300"}) == 300.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({}) is None
