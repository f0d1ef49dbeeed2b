"""What a run does after a call whose outcome it cannot know, and how a turn ends when a run cannot
answer: the OpenAI provider through the real SDK against the in-process emulator."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assistants import services
from assistants.models import Message, Run, Thread
from assistants.providers import get_provider
from assistants.providers.base import PermanentProviderError, RunContext
from tests.factories import StaffFactory, open_ticket
from tests.openai_support import created_responses, replies, run_of, step, user_texts
from tickets import services as desk
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
RESPONSES = "/v1/responses"
ITEMS = "/v1/conversations/{conversation_id}/items"


def test_after_a_clean_error_the_conversation_is_not_searched(emu, drain):
    ticket = open_ticket(body="hello")
    emu.fail_next(path_prefix=RESPONSES, method="POST", status=429, headers={"retry-after": "0.01"})
    run = step(ticket)
    assert run.status == Run.Status.QUEUED and not run.ambiguous
    drain()
    assert emu.count("GET", ITEMS) == 0
    assert [user_texts(r["input"]) for r in created_responses(emu)] == [["hello"]]


@pytest.mark.parametrize("lost_as", ["timeout", "drop", "500"])
def test_after_an_ambiguous_start_the_lost_answer_is_adopted_not_paid_twice(emu, drain, lost_as):
    emu.configure(auto_complete=True)  # the orphan completes by itself, as it would at OpenAI
    ticket = open_ticket(body="thanks")
    drain()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="thanks")  # the same words again
    emu.fail_next(path_prefix=RESPONSES, method="POST", kind="lost", lost_as=lost_as)
    run = step(ticket)
    assert run.status == Run.Status.QUEUED and run.ambiguous
    emu.tick(force=True)
    drain()

    run = run_of(ticket)
    assert run.status == Run.Status.COMPLETED and run.provider_state.get("adopted_orphan")
    assert replies(ticket).count() == 2
    assert len(created_responses(emu)) == 2  # one per turn: the orphan's answer was adopted
    ticket.thread.refresh_from_db()
    items = emu.state()["conversations"][ticket.thread.remote_id]["items"]
    assert user_texts(items) == ["thanks", "thanks"]
    assert not ticket.thread.messages.filter(sync_state=Message.SyncState.PENDING).exists()


def test_a_lost_tool_output_submission_is_adopted(emu, drain):
    emu.configure(auto_complete=True)
    emu.set_rules([{"when_contains": "status", "function_call": {"name": "ticket_status", "arguments": {}}}])
    ticket = open_ticket(body="What is the status of my ticket?")
    for _ in range(10):
        if run_of(ticket).status == Run.Status.REQUIRES_ACTION:
            break
        services.run_advance(run_id=run_of(ticket).pk, max_steps=1)
        emu.tick(force=True)
    assert run_of(ticket).status == Run.Status.REQUIRES_ACTION
    emu.fail_next(path_prefix=RESPONSES, method="POST", kind="lost", lost_as="timeout")
    services.run_advance(run_id=run_of(ticket).pk, max_steps=1)
    assert run_of(ticket).ambiguous
    emu.tick(force=True)
    drain()
    assert run_of(ticket).status == Run.Status.COMPLETED
    assert len(created_responses(emu)) == 2  # the first and the (lost) submission, no third
    assert replies(ticket).count() == 1


def test_a_lost_upload_is_found_again_by_its_name_not_uploaded_twice(emu, drain):
    upload = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")
    ticket = open_ticket(body="my receipt", files=[upload])
    emu.fail_next(path_prefix="/v1/files", method="POST", kind="lost", lost_as="timeout")
    run = step(ticket)
    assert run.ambiguous
    drain()
    files = [f for f in emu.state()["files"].values() if f["purpose"] == "user_data"]
    assert len(files) == 1
    assert run_of(ticket).status == Run.Status.COMPLETED


def test_a_response_is_never_created_with_an_empty_input(emu):
    ticket = open_ticket(body="hello")
    provider = get_provider()
    ctx = RunContext(
        run=run_of(ticket),
        thread=ticket.thread,
        pending_messages=[],
        customer_messages=[],
        instructions="",
        tools=[],
        metadata={},
    )
    ticket.thread.remote_id = provider.create_thread(ticket.thread, {})
    with pytest.raises(PermanentProviderError) as refused:
        provider.start_run(ctx)
    assert refused.value.code == "empty_input"
    assert emu.count("POST", RESPONSES) == 0


def test_staff_asking_on_an_answered_ticket_sends_their_request_not_an_empty_input(emu, drain):
    ticket = open_ticket(body="hello")
    drain()
    desk.ask_assistant(ticket=ticket, staff=StaffFactory())
    drain()
    first, second = created_responses(emu)
    assert second["input"] and second["input"][0]["role"] == "developer"
    assert "suggested reply" in json.dumps(second["input"])
    assert run_of(ticket).status == Run.Status.COMPLETED


def test_a_function_call_left_open_by_a_failed_run_is_answered_first_by_the_next(emu, drain, settings):
    settings.ASSISTANT_MAX_TOOL_CALLS_PER_RUN = 0  # the first run stops at its function call
    emu.set_rules([{"when_contains": "status", "function_call": {"name": "ticket_status", "arguments": {}}}])
    ticket = open_ticket(body="What is the status of my ticket?")
    drain()
    assert run_of(ticket).error_code == "tool_call_cap"
    settings.ASSISTANT_MAX_TOOL_CALLS_PER_RUN = 6
    emu.set_rules([])
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Thanks anyway")
    drain()
    last = created_responses(emu)[-1]["input"]
    assert last[0]["type"] == "function_call_output"
    assert user_texts(last) == ["Thanks anyway"]


def test_conversation_metadata_carries_a_hashed_customer_id(emu, drain):
    ticket = open_ticket(body="hello")
    drain()
    ticket.thread.refresh_from_db()
    metadata = emu.state()["conversations"][ticket.thread.remote_id]["metadata"]
    assert str(ticket.customer_id) not in metadata.values()
    assert "customer_id" not in metadata
    assert len(metadata["customer"]) == 32


def test_a_ticket_deleted_mid_step_ends_the_run_cleanly(emu, drain):
    ticket = open_ticket(body="hello")
    emu.on_call(lambda *a: (Ticket.objects.filter(pk=ticket.pk).delete(), connection.close()), method="POST")
    drain()
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.CANCELLED and run.error_code == "owner_deleted"
    assert not Message.objects.filter(thread=ticket.thread, role="assistant").exists()


def test_a_thread_deleted_mid_step_ends_the_step_without_an_error(emu, drain):
    ticket = open_ticket(body="hello")
    run = run_of(ticket)
    thread_id = ticket.thread_id

    def delete_all(*args):
        Ticket.objects.filter(pk=ticket.pk).delete()
        Thread.objects.filter(pk=thread_id).delete()

    emu.on_call(delete_all, method="POST", path_prefix=RESPONSES)
    assert services.run_advance(run_id=run.pk) == "lease lost"
    assert not Run.objects.filter(pk=run.pk).exists()


def test_a_thread_nobody_owns_asks_for_no_run(settings):
    thread = services.thread_create()
    services.message_add(thread=thread, role=Message.Role.USER, body="hello")
    assert services.run_request(thread=thread) is None


def test_a_hand_off_tells_staff_and_the_customer_once_per_wait(emu, drain, mailoutbox, jobs):
    StaffFactory(email="agent@example.com")
    emu.set_rules([{"when_contains": "account", "fail": {"code": "invalid_prompt", "message": "refused"}}])
    ticket = open_ticket(body="Please check my account")
    drain()
    jobs.run()  # emails are tasks of their own
    notices = ticket.thread.messages.filter(kind=Message.Kind.NOTICE)
    assert notices.count() == 1
    subjects = [m.subject for m in mailoutbox]
    assert any("Needs a person" in s for s in subjects)  # staff
    customer_mail = [m for m in mailoutbox if ticket.customer.email in m.to]
    assert customer_mail and "will reply here" in customer_mail[0].body
    # The customer writes again and the assistant fails again: they were told already.
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="my account, please")
    drain()
    jobs.run()
    assert notices.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_a_run_past_its_time_limit_with_a_customer_waiting_hands_the_turn_to_staff(emu, settings):
    settings.ASSISTANT_PROVIDER = "tests.providers.PendingProvider"
    ticket = open_ticket(body="hello")
    run = step(ticket)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="anyone?")
    Run.objects.filter(pk=run.pk).update(deadline=run.started_at)
    assert services.runs_sweep()["expired"] == 1
    assert Run.objects.get(pk=run.pk).status == Run.Status.EXPIRED
    assert ticket.thread.messages.filter(kind=Message.Kind.NOTICE).exists()
    assert not Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists()


def test_staff_stopping_a_run_leave_the_turn_to_a_person_and_start_nothing(emu):
    staff = StaffFactory()
    ticket = open_ticket(body="hello")
    run = step(ticket)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="anyone?")
    assert desk.run_stop(run=run, staff=staff)
    assert Run.objects.filter(thread=ticket.thread).count() == 1
    ticket.thread.refresh_from_db()
    assert ticket.thread.ai_state == Thread.AIState.FAILED
    assert "wait for a person" in ticket.thread.attention
    assert not ticket.thread.messages.filter(kind=Message.Kind.NOTICE).exists()
    # Their next message asks for a run again.
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="still there?")
    assert Run.objects.filter(thread=ticket.thread, status=Run.Status.QUEUED).exists()


@pytest.mark.postgres
def test_every_writer_locks_the_thread_before_the_run(emu):
    """One lock order (thread, then run): a run's first claim (which takes the customer's messages)
    locks the thread's row before it takes the run's lease, and a cancel locks the thread before it
    writes the run. (A later claim of a started run is one UPDATE of the run's row alone.)"""
    ticket = open_ticket(body="hello")
    run = run_of(ticket)

    def order(sql: list[str]) -> list[str]:
        out = []
        for q in sql:
            if 'FROM "assistants_thread"' in q and "FOR UPDATE" in q:
                out.append("thread")
            elif q.startswith('UPDATE "assistants_run"') and '"started_at" IS NOT NULL' not in q:
                out.append("run")  # (the first try, for a started run, matches no row of a new run)
        return out

    with CaptureQueriesContext(connection) as claim:
        services.claim_step(run.pk)
    assert order([q["sql"] for q in claim.captured_queries])[:2] == ["thread", "run"]
    Run.objects.filter(pk=run.pk).update(lease_until=None)
    with CaptureQueriesContext(connection) as cancel:
        services.run_cancel(run=run)
    assert order([q["sql"] for q in cancel.captured_queries])[:2] == ["thread", "run"]


def test_recovery_keeps_only_what_follows_the_anchor_even_if_the_server_ignores_the_cursor(emu, drain, monkeypatch):
    """Anchored on position: with a server that answers every item for `after=`, the earlier turn's
    answer (the same words) is still never adopted."""
    from tests.emulator import state as emulator_state

    emu.configure(auto_complete=True)
    ticket = open_ticket(body="thanks")
    drain()
    original = emulator_state.paginate

    def ignore_the_cursor(items, query, default_order="desc"):
        return original(items, {k: v for k, v in query.items() if k != "after"}, default_order)

    monkeypatch.setattr(emulator_state, "paginate", ignore_the_cursor)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="thanks")
    emu.fail_next(path_prefix=RESPONSES, method="POST", status=500)  # ambiguous, yet nothing was processed
    step(ticket)
    drain()
    assert len(created_responses(emu)) == 2  # the second turn was sent, not matched to the first
    assert replies(ticket).count() == 2
