"""The metadata mirror: strings within the limits, pushed by a coalescing task, refused before any call."""

import pytest

from assistants import services, tasks
from assistants.metadata import SYNC_FAILED
from assistants.models import Thread
from tests.factories import StaffFactory, open_ticket
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)
UPDATE = "/v1/conversations/{conversation_id}"


@pytest.fixture
def pushes(monkeypatch):
    """sync_thread_metadata.delay calls, recorded instead of sent."""
    calls = []
    monkeypatch.setattr(tasks.sync_thread_metadata, "delay", lambda thread_id: calls.append(thread_id))
    return calls


def synced_ticket(drain):
    ticket = open_ticket(body="hello")
    drain()
    ticket.thread.refresh_from_db()
    return ticket


def test_flags_arrive_at_the_emulator_as_strings(emu, drain, pushes):
    ticket = synced_ticket(drain)
    desk.ticket_escalate(ticket=ticket, reason="Customer asked")
    assert pushes == [ticket.thread_id]  # enqueued on commit, not pushed inside the request
    assert emu.count("POST", UPDATE) == 0

    assert services.thread_metadata_sync(thread_id=ticket.thread_id) == "pushed"

    remote = emu.state()["conversations"][ticket.thread.remote_id]["metadata"]
    assert remote["escalated"] == "true"
    assert remote["ticket"] == ticket.reference
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in remote.items())
    thread = Thread.objects.get(pk=ticket.thread_id)
    assert thread.metadata_dirty is False and thread.metadata_synced_at is not None
    assert thread.metadata == remote


def test_a_burst_of_changes_is_one_push(emu, drain, pushes):
    ticket = synced_ticket(drain)
    staff = StaffFactory(is_superuser=True)
    desk.ticket_escalate(ticket=ticket, reason="1")
    desk.ticket_update(ticket=ticket, by=staff, conversation_topic="billing")
    desk.ticket_update(ticket=ticket, by=staff, language_preference="fr")
    assert len(pushes) >= 3

    results = [services.thread_metadata_sync(thread_id=t) for t in pushes]

    assert results.count("pushed") == 1 and set(results[1:]) == {"clean"}
    assert emu.count("POST", UPDATE) == 1
    remote = emu.state()["conversations"][ticket.thread.remote_id]["metadata"]
    assert (remote["conversation_topic"], remote["language_preference"]) == ("billing", "fr")


@pytest.mark.parametrize(
    "custom",
    [{f"extra_{n}": "x" for n in range(12)}, {"k" * 65: "v"}, {"note": "v" * 513}, {"count": 3}],
    ids=["17 keys", "long key", "long value", "not a string"],
)
def test_metadata_beyond_the_limits_is_refused_before_the_api_is_called(emu, drain, pushes, custom):
    ticket = synced_ticket(drain)
    Thread.objects.filter(pk=ticket.thread_id).update(custom_metadata=custom, metadata_dirty=True)

    assert services.thread_metadata_sync(thread_id=ticket.thread_id) == "refused"

    assert emu.count("POST", UPDATE) == 0
    thread = Thread.objects.get(pk=ticket.thread_id)
    assert thread.remote_error.startswith(SYNC_FAILED)


def test_a_transient_error_leaves_the_flag_dirty_for_a_retry(emu, drain, pushes):
    from assistants.providers.base import TransientProviderError

    ticket = synced_ticket(drain)
    desk.ticket_escalate(ticket=ticket, reason="1")
    emu.fail_next(path_prefix="/v1/conversations/", method="POST", status=503)
    with pytest.raises(TransientProviderError):
        services.thread_metadata_sync(thread_id=ticket.thread_id)
    assert Thread.objects.get(pk=ticket.thread_id).metadata_dirty is True
    assert services.threads_metadata_sweep() == 1
    assert Thread.objects.get(pk=ticket.thread_id).metadata_dirty is False
    assert emu.state()["conversations"][ticket.thread.remote_id]["metadata"]["escalated"] == "true"


def test_a_thread_without_a_conversation_is_not_pushed(emu, pushes):
    ticket = open_ticket(body="hello")
    assert services.thread_metadata_sync(thread_id=ticket.thread_id) == "no remote conversation"
    assert emu.count("POST", "/v1/conversations") == 0
