"""The OpenAI provider through the real SDK against our emulator (in-process HTTP transport)."""

import json

import pytest

from assistants import services
from assistants.models import Message, Run
from assistants.providers.base import PermanentProviderError
from tests.factories import StaffFactory, open_ticket
from tests.openai_support import last_request, replies, run_of
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ticket_becomes_a_conversation_and_a_run_a_background_response(emu, drain):
    ticket = open_ticket(subject="Parcel", body="Where is my parcel?")
    drain()

    thread = ticket.thread
    thread.refresh_from_db()
    assert thread.remote_id.startswith("conv_")
    conversation = emu.state()["conversations"][thread.remote_id]
    assert conversation["metadata"]["ticket"] == ticket.reference
    assert all(isinstance(v, str) for v in conversation["metadata"].values())

    sent = last_request(emu, "POST", "/v1/responses")["json"]
    assert sent["conversation"] == thread.remote_id
    assert sent["background"] is True and sent["store"] is True
    assert sent["model"] == "gpt-5-mini"
    assert sent["max_output_tokens"] > 0
    assert sent["prompt_cache_key"] == f"thread-{thread.pk}"
    assert len(sent["safety_identifier"]) <= 128 and str(ticket.customer_id) != sent["safety_identifier"]
    assert sent["input"] == [{"type": "message", "role": "user", "content": "Where is my parcel?"}]
    assert {t["name"] for t in sent["tools"] if t["type"] == "function"} >= {"ticket_status", "escalate_to_human"}
    assert sent["metadata"]["run"] == str(run_of(ticket).pk)

    run = run_of(ticket)
    assert run.status == Run.Status.COMPLETED
    assert run.remote_response_id.startswith("resp_")
    assert replies(ticket).get().body == "Emulated reply to: Where is my parcel?"
    assert run.model == "gpt-5-mini"
    assert run.input_tokens > 0 and run.output_tokens > 0 and run.cost > 0
    thread.refresh_from_db()
    assert thread.context_tokens == run.input_tokens + run.output_tokens
    assert not thread.messages.filter(sync_state=Message.SyncState.PENDING).exists()


def test_staff_replies_and_internal_notes_reach_the_model_in_order_with_their_roles(emu, drain):
    ticket = open_ticket(body="First question")
    drain()
    staff = StaffFactory()
    desk.staff_reply(ticket=ticket, staff=staff, body="A person answers", internal=False)
    desk.staff_reply(ticket=ticket, staff=staff, body="Note: be kind", internal=True)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Second question")
    drain()

    sent = last_request(emu, "POST", "/v1/responses")["json"]["input"]
    assert [(i["role"], i["content"]) for i in sent] == [
        ("assistant", "A person answers"),
        ("developer", "Note: be kind"),
        ("user", "Second question"),
    ]
    assert replies(ticket).count() == 2


def test_function_calls_are_run_by_the_engine_and_answered_in_a_new_background_response(emu, drain):
    emu.set_rules([{"when_contains": "status", "function_call": {"name": "ticket_status", "arguments": {}}}])
    ticket = open_ticket(body="What is the status of my ticket?")
    drain()

    run = run_of(ticket)
    ticket.thread.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    assert [c["name"] for c in run.tool_calls] == ["ticket_status"]
    assert len(run.remote_response_ids) == 2
    follow_up = last_request(emu, "POST", "/v1/responses")["json"]
    assert follow_up["conversation"] == ticket.thread.remote_id and follow_up["background"] is True
    [output] = follow_up["input"]
    assert output["type"] == "function_call_output"
    assert output["call_id"] == run.tool_calls[0]["call_id"]
    assert json.loads(output["output"])["reference"] == ticket.reference
    assert ticket.reference in replies(ticket).get().body


def test_tool_call_cap_stops_a_runaway_loop(emu, drain, settings):
    settings.ASSISTANT_MAX_TOOL_CALLS_PER_RUN = 1
    calls = [{"name": "ticket_status", "arguments": {}}] * 2
    emu.set_rules([{"when_contains": "status", "function_call": calls}])
    ticket = open_ticket(body="status please")
    drain()
    run = run_of(ticket)
    assert run.status == Run.Status.FAILED and run.error_code == "tool_call_cap" and run.needs_staff


def test_a_failed_response_fails_the_run_with_the_models_reason(emu, drain):
    emu.set_rules([{"when_contains": "boom", "fail": {"code": "server_error", "message": "the model broke"}}])
    ticket = open_ticket(body="boom")
    drain()
    run = run_of(ticket)
    assert run.status == Run.Status.FAILED
    assert "the model broke" in run.error_message
    assert not replies(ticket).exists()


def test_an_incomplete_response_is_not_published(emu, drain):
    emu.set_rules([{"when_contains": "long", "incomplete": "max_output_tokens"}])
    ticket = open_ticket(body="a long answer please")
    drain()
    run = run_of(ticket)
    assert run.status == Run.Status.FAILED and run.error_code == "incomplete_max_output_tokens"
    assert not replies(ticket).exists()


def test_cancel_is_idempotent_locally_and_remotely(emu):
    ticket = open_ticket(body="hello")
    run = run_of(ticket)
    services.run_advance(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.IN_PROGRESS

    assert services.run_cancel(run=run) is True
    assert services.run_cancel(run=run) is False
    services.run_cancel_remote(run_id=run.pk)
    services.run_cancel_remote(run_id=run.pk)
    assert emu.state()["responses"][run.remote_response_id]["status"] == "cancelled"
    assert emu.count("POST", "/v1/responses/{response_id}/cancel", 200) == 2
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert not replies(ticket).exists()


def test_deleting_a_thread_deletes_the_conversation_and_tolerates_a_missing_one(emu, drain):
    from assistants.providers import get_provider

    ticket = open_ticket(body="hello")
    drain()
    thread = ticket.thread
    thread.refresh_from_db()
    get_provider().delete_thread(thread)
    get_provider().delete_thread(thread)  # already gone: no error
    assert emu.state()["conversations"][thread.remote_id]["deleted"] is True
    assert emu.count("DELETE", "/v1/conversations/{conversation_id}", 404) == 1


def test_metadata_beyond_the_limits_is_refused_before_any_call(emu):
    from assistants.providers import get_provider

    ticket = open_ticket(body="hello")
    thread = ticket.thread
    before = len(emu.state()["requests"])
    for bad in ({f"k{i}": "v" for i in range(17)}, {"k" * 65: "v"}, {"k": "v" * 513}, {"k": 3}):
        with pytest.raises(PermanentProviderError, match="Metadata not sent"):
            get_provider().create_thread(thread, bad)
    assert len(emu.state()["requests"]) == before
