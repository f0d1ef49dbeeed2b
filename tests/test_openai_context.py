"""The context budget: past ASSISTANT_CONTEXT_BUDGET the thread rotates to a seeded conversation."""

import pytest

from assistants.models import Run
from tests.factories import open_ticket
from tests.openai_support import last_request, replies
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)


def converse(ticket, drain, turns: int, size: int = 400):
    for n in range(turns):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body=f"turn {n} " + "x" * size)
        drain()


def test_the_thread_rotates_to_a_seeded_conversation_when_it_passes_the_budget(emu, drain, settings):
    settings.ASSISTANT_CONTEXT_BUDGET = 1500
    ticket = open_ticket(body="My original problem: the parcel never arrived.")
    drain()
    thread = ticket.thread
    first = thread.remote_id if thread.remote_id else type(thread).objects.get(pk=thread.pk).remote_id
    converse(ticket, drain, turns=8, size=800)

    thread.refresh_from_db()
    assert thread.remote_id != first
    assert thread.remote_history[0] == {"id": first, "reason": "context_budget", "at": thread.remote_history[0]["at"]}
    assert all(h["reason"] == "context_budget" for h in thread.remote_history)
    seeded = emu.state()["conversations"][thread.remote_id]["items"]
    summary = seeded[0]
    assert summary["role"] == "developer"
    assert "The customer's first message was:\nMy original problem" in summary["content"][0]["text"]
    # Every run after the first rotation stays near the budget instead of growing with the ticket.
    inputs = list(Run.objects.filter(thread=thread).order_by("created_at").values_list("input_tokens", flat=True))
    assert max(inputs[-4:]) < 2 * settings.ASSISTANT_CONTEXT_BUDGET
    assert replies(ticket).count() == 9


def test_without_rotation_the_input_grows_with_the_ticket(emu, drain, settings):
    settings.ASSISTANT_CONTEXT_BUDGET = 0  # off
    ticket = open_ticket(body="My original problem")
    drain()
    converse(ticket, drain, turns=8, size=800)
    ticket.thread.refresh_from_db()
    assert ticket.thread.remote_history == []
    inputs = list(
        Run.objects.filter(thread=ticket.thread).order_by("created_at").values_list("input_tokens", flat=True)
    )
    assert inputs[-1] > 1500 and inputs == sorted(inputs)


def test_the_pending_message_goes_as_input_not_into_the_seed(emu, drain, settings):
    settings.ASSISTANT_CONTEXT_BUDGET = 300
    ticket = open_ticket(body="first " + "y" * 800)
    drain()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="the newest question")
    drain()
    ticket.thread.refresh_from_db()
    assert ticket.thread.remote_history
    seeded = emu.state()["conversations"][ticket.thread.remote_id]["items"]
    seeded_texts = [i["content"][0]["text"] for i in seeded[:-2]]  # before this run's input and output
    assert "the newest question" not in seeded_texts
    sent = last_request(emu, "POST", "/v1/responses")["json"]
    assert sent["input"] == [{"type": "message", "role": "user", "content": "the newest question"}]
