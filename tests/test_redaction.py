"""Removing a message: gone locally, from the search, from the provider's conversation and from what
the assistant reads next; recorded in the audit log."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assistants import redaction
from assistants.models import Attachment, Message, Redaction
from tests.factories import StaffFactory, open_ticket
from tests.openai_support import created_responses, user_texts
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Card 4111-1111-1111-1111 zanzibarquokka"


@pytest.fixture
def remote_deletes(monkeypatch):
    calls = []
    monkeypatch.setattr(redaction, "enqueue_remote_delete", lambda pk, delay=0.0: calls.append(pk))
    return calls


def _customer_message(ticket):
    return ticket.thread.messages.get(role=Message.Role.USER, seq=1)


def test_redacting_a_sent_message_deletes_its_item_in_the_remote_conversation(emu, drain, remote_deletes):
    ticket = open_ticket(body=SECRET)
    drain()
    conversation = ticket.thread.__class__.objects.get(pk=ticket.thread_id).remote_id
    texts = lambda: user_texts(emu.state()["conversations"][conversation]["items"])  # noqa: E731
    assert any("zanzibarquokka" in t for t in texts())
    staff = StaffFactory()

    message = redaction.message_redact(message=_customer_message(ticket), by=staff, reason="Card number")

    assert message.body == "" and message.is_redacted and message.redacted_by == staff
    record = Redaction.objects.get()
    assert record.reason == "Card number" and record.by == staff and record.message == message
    assert record.remote_state == Redaction.RemoteState.PENDING and remote_deletes == [record.pk]
    assert redaction.redaction_remote_delete(redaction_id=record.pk) == "done"
    record.refresh_from_db()
    assert record.remote_state == Redaction.RemoteState.DONE and record.remote_items_deleted == 1
    assert record.remote_fingerprints == ""
    assert texts() == []
    assert len(emu.state()["conversations"][conversation]["items"]) == 1  # the reply stays


def _items_with_file(emu, conversation: str, file_id: str) -> list[dict]:
    items = emu.state()["conversations"][conversation]["items"]
    return [
        i for i in items if any(isinstance(p, dict) and p.get("file_id") == file_id for p in i.get("content") or [])
    ]


def test_redacting_one_attachment_deletes_its_remote_item_and_uploaded_file(emu, drain, remote_deletes):
    card = SimpleUploadedFile("card.pdf", b"%PDF-1.4 card 4111 1111 1111 1111", content_type="application/pdf")
    receipt = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt 42", content_type="application/pdf")
    ticket = open_ticket(body="Both attached", files=[card, receipt])
    drain()
    conversation = ticket.thread.__class__.objects.get(pk=ticket.thread_id).remote_id
    attachment = Attachment.objects.get(filename="card.pdf")
    file_id = attachment.remote_file_id
    assert file_id and _items_with_file(emu, conversation, file_id)

    redaction.attachment_redact(attachment=attachment, by=StaffFactory(), reason="Shows a card")

    record = Redaction.objects.get()
    assert record.remote_state == Redaction.RemoteState.PENDING and remote_deletes == [record.pk]
    assert redaction.redaction_remote_delete(redaction_id=record.pk) == "done"
    record.refresh_from_db()
    assert record.remote_state == Redaction.RemoteState.DONE and record.remote_items_deleted == 1
    state = emu.state()
    assert state["files"][file_id]["deleted"]
    assert _items_with_file(emu, conversation, file_id) == []
    other = Attachment.objects.get(filename="receipt.pdf")
    assert not state["files"][other.remote_file_id]["deleted"] and not other.is_redacted
    assert _customer_message(ticket).body == "Both attached"  # the text stays here (and is shown)


def test_redacting_twice_records_once(emu, drain, remote_deletes):
    ticket = open_ticket(body=SECRET)
    drain()
    staff = StaffFactory()
    redaction.message_redact(message=_customer_message(ticket), by=staff, reason="Card number")
    again = redaction.message_redact(message=_customer_message(ticket), by=staff, reason="Again")
    assert again.redaction_reason == "Card number"
    assert Redaction.objects.count() == 1 and len(remote_deletes) == 1


def test_the_next_run_does_not_see_a_redacted_message(emu, drain, remote_deletes):
    ticket = open_ticket(body=SECRET)
    drain()
    staff = StaffFactory()
    redaction.message_redact(message=_customer_message(ticket), by=staff, reason="Card number")
    # The conversation is rotated for the next run: its seed is built from local history.
    ticket.thread.__class__.objects.filter(pk=ticket.thread_id).update(context_tokens=10**6)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Any news?")
    drain()
    thread = ticket.thread.__class__.objects.get(pk=ticket.thread_id)
    assert thread.remote_history  # the next run did start a new conversation, from local history
    sent = user_texts(created_responses(emu)[-1]["input"])
    seeded = user_texts(emu.state()["conversations"][thread.remote_id]["items"])
    assert sent == ["Any news?"]
    assert seeded and not any("zanzibarquokka" in t for t in seeded)


def test_a_transient_failure_of_the_remote_delete_is_retried_not_lost(emu, drain, remote_deletes):
    from assistants.providers.base import TransientProviderError

    ticket = open_ticket(body=SECRET)
    drain()
    redaction.message_redact(message=_customer_message(ticket), by=StaffFactory(), reason="Card number")
    record = Redaction.objects.get()
    emu.fail_next("/v1/conversations", method="DELETE", status=503)
    with pytest.raises(TransientProviderError):
        redaction.redaction_remote_delete(redaction_id=record.pk)
    record.refresh_from_db()
    assert record.remote_state == Redaction.RemoteState.PENDING and record.remote_error
    assert redaction.redaction_remote_delete(redaction_id=record.pk) == "done"
    conversation = ticket.thread.__class__.objects.get(pk=ticket.thread_id).remote_id
    assert user_texts(emu.state()["conversations"][conversation]["items"]) == []


def test_a_remote_delete_waits_while_a_run_is_working_on_the_conversation(emu, drain, remote_deletes):
    ticket = open_ticket(body=SECRET)
    drain()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Any news?")  # a run is now queued
    redaction.message_redact(message=_customer_message(ticket), by=StaffFactory(), reason="Card number")
    record = Redaction.objects.get()
    with pytest.raises(redaction.RemoteWait):
        redaction.redaction_remote_delete(redaction_id=record.pk)
    drain()
    assert redaction.redaction_remote_delete(redaction_id=record.pk) == "done"
