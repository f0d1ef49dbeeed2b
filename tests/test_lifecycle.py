from datetime import timedelta

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assistants import lifecycle, tasks
from assistants.models import Attachment, Message, Run, Thread
from tests.factories import CustomerFactory, open_ticket
from tests.providers import RecordingRemoteProvider
from tickets import accounts
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

PROVIDER = "tests.providers.RecordingRemoteProvider"


@pytest.fixture
def remote(settings):
    settings.ASSISTANT_PROVIDER = PROVIDER
    RecordingRemoteProvider.reset()
    yield RecordingRemoteProvider
    RecordingRemoteProvider.reset()


def remote_ticket(drain, customer=None, subject="Parcel late", attachment=False):
    """A ticket whose thread has a remote conversation (the first run creates it)."""
    ticket = open_ticket(customer=customer, subject=subject)
    drain()
    ticket.refresh_from_db()
    if attachment:
        message = ticket.thread.messages.first()
        Attachment.objects.create(
            message=message,
            file=SimpleUploadedFile("receipt.txt", b"receipt"),
            filename="receipt.txt",
            content_type="text/plain",
            size=7,
            remote_file_id=RecordingRemoteProvider().upload_file("receipt.txt"),
        )
    return ticket


def age(ticket, days, status=None):
    past = timezone.now() - timedelta(days=days)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=past, **({"status": status} if status else {}))
    Thread.objects.filter(pk=ticket.thread_id).update(updated_at=past)


def test_closed_ticket_thread_is_archived_after_the_configured_days(settings, drain):
    settings.THREAD_ARCHIVE_AFTER_DAYS = 10
    old_closed, recent_closed, old_open = open_ticket(), open_ticket(), open_ticket()
    drain()
    age(old_closed, 11, Ticket.Status.CLOSED)
    age(recent_closed, 9, Ticket.Status.CLOSED)
    age(old_open, 30)

    result = lifecycle.lifecycle_run()

    assert result["archived"] == 1
    states = dict(Thread.objects.values_list("pk", "state"))
    assert states[old_closed.thread_id] == Thread.State.ARCHIVED
    assert states[recent_closed.thread_id] == Thread.State.ACTIVE
    assert states[old_open.thread_id] == Thread.State.ACTIVE
    assert Thread.objects.get(pk=old_closed.thread_id).archived_at is not None


def test_a_customer_reply_on_an_archived_thread_makes_it_active_again(settings, drain):
    from tickets import services

    settings.THREAD_ARCHIVE_AFTER_DAYS = 10
    ticket = open_ticket()
    drain()
    age(ticket, 11, Ticket.Status.CLOSED)
    assert lifecycle.lifecycle_run()["archived"] == 1

    ticket.refresh_from_db()
    services.customer_reply(ticket=ticket, customer=ticket.customer, body="It broke again.")
    thread = Thread.objects.get(pk=ticket.thread_id)
    assert thread.state == Thread.State.ACTIVE and thread.archived_at is None
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    drain()
    assert thread.messages.filter(role=Message.Role.ASSISTANT).count() == 2  # answered, as an active thread


def test_remote_conversation_is_deleted_after_retention_keeping_local_history(
    settings, remote, sent, drain, django_capture_on_commit_callbacks
):
    settings.REMOTE_RETENTION_DAYS = 30
    old, recent = remote_ticket(drain), remote_ticket(drain)
    old_remote = old.thread.remote_id
    messages_before = old.thread.messages.count()
    age(old, 31)
    age(recent, 5)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.run_thread_lifecycle()
    sent.run()

    assert result["remote_deletions_queued"] == 1
    assert old_remote not in remote.conversations
    assert recent.thread.remote_id in remote.conversations
    thread = Thread.objects.get(pk=old.thread_id)
    assert thread.remote_id == ""
    assert thread.remote_deleted_at is not None
    assert thread.state == Thread.State.DELETED
    assert thread.remote_history[-1]["id"] == old_remote
    assert thread.messages.count() == messages_before


def test_failed_remote_deletion_is_reported_and_retry_deletes_it(
    remote, sent, drain, django_capture_on_commit_callbacks
):
    ticket = remote_ticket(drain)
    remote.fail_deletes = True
    assert lifecycle.thread_delete_remote(thread_id=ticket.thread_id) is False

    failed = list(lifecycle.remote_deletion_failures())
    assert [t.pk for t in failed] == [ticket.thread_id]
    assert "500" in failed[0].remote_error
    assert failed[0].remote_id in remote.conversations

    remote.fail_deletes = False
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.request_remote_deletion(thread_ids=[ticket.thread_id]) == 1
    sent.run()
    assert not lifecycle.remote_deletion_failures().exists()
    assert remote.conversations == {}


def test_remote_deletion_waits_for_an_active_run(remote, drain):
    ticket = remote_ticket(drain)
    Run.objects.create(thread=ticket.thread, provider="recording", status=Run.Status.QUEUED)
    assert lifecycle.thread_delete_remote(thread_id=ticket.thread_id) is False
    assert ticket.thread.remote_id in remote.conversations


def test_already_gone_remote_conversation_counts_as_deleted(remote, drain):
    ticket = remote_ticket(drain)
    remote.conversations.clear()  # deleted at the provider by someone else
    assert lifecycle.thread_delete_remote(thread_id=ticket.thread_id) is True
    assert Thread.objects.get(pk=ticket.thread_id).remote_deleted_at is not None


def test_deleting_a_customer_account_leaves_nothing_remote(remote, sent, drain, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    first = remote_ticket(drain, customer=customer, attachment=True)
    remote_ticket(drain, customer=customer, subject="Second")
    other = remote_ticket(drain, subject="Someone else's")
    # A rotated conversation of the first thread still exists remotely.
    rotated = remote().create_thread(first.thread, {})
    Thread.objects.filter(pk=first.thread_id).update(remote_history=[{"id": rotated, "reason": "rotated"}])
    thread_ids = list(Ticket.objects.filter(customer=customer).values_list("thread_id", flat=True))
    assert len(remote.conversations) == 4 and len(remote.files) == 1

    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    sent.run()

    assert list(remote.conversations) == [other.thread.remote_id]
    assert remote.files == {}
    assert not Thread.objects.filter(pk__in=thread_ids).exists()
    assert not Message.objects.filter(thread_id__in=thread_ids).exists()
    assert Thread.objects.filter(pk=other.thread_id).exists()


def test_deleting_an_account_with_offline_threads_deletes_the_threads(sent, drain, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer)
    drain()
    with django_capture_on_commit_callbacks(execute=True):
        customer.delete()
    assert not Thread.objects.filter(pk=ticket.thread_id).exists()
    assert sent == []  # nothing remote to purge


def test_deleting_tickets_purges_their_threads(remote, sent, drain, django_capture_on_commit_callbacks):
    ticket = remote_ticket(drain)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.tickets_delete(ticket_ids=[ticket.pk])
    sent.run()
    assert remote.conversations == {}
    assert not Thread.objects.filter(pk=ticket.thread_id).exists()


def test_resync_pushes_the_ticket_metadata(remote, drain):
    ticket = remote_ticket(drain)
    Ticket.objects.filter(pk=ticket.pk).update(conversation_topic="billing")
    assert lifecycle.thread_resync_metadata(thread_id=ticket.thread_id) is True
    assert remote.conversations[ticket.thread.remote_id]["conversation_topic"] == "billing"
    thread = Thread.objects.get(pk=ticket.thread_id)
    assert thread.metadata["conversation_topic"] == "billing" and not thread.metadata_dirty


def test_lifecycle_jobs_are_scheduled(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "assistants.tasks.run_thread_lifecycle" in tasks_scheduled
    assert "assistants.tasks.run_thread_lifecycle" in current_app.tasks


def live(emu, kind):
    """What still exists at the emulator (it keeps deleted objects, marked)."""
    return [key for key, value in emu.state()[kind].items() if not value["deleted"]]


@pytest.mark.django_db(transaction=True)
def test_deleting_an_account_leaves_nothing_at_the_openai_emulator(settings, tmp_path, sent, drain):
    from tests.openai_support import emulator_fixture

    settings.MEDIA_ROOT = tmp_path
    fixture = emulator_fixture(settings)
    emu = next(fixture)
    try:
        customer = CustomerFactory()
        kept = open_ticket(subject="Someone else's")
        files = [SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice 42", content_type="application/pdf")]
        open_ticket(customer=customer, body="See attached", files=files)
        open_ticket(customer=customer, subject="Second")
        drain()
        kept.refresh_from_db()
        assert len(live(emu, "conversations")) == 3 and len(live(emu, "files")) == 1

        customer.delete()  # transaction=True: on_commit callbacks run at once
        sent.run()

        assert live(emu, "conversations") == [kept.thread.remote_id]
        assert live(emu, "files") == []
    finally:
        next(fixture, None)
