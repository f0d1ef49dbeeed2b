"""IMAP polling against a real dovecot (tests/mail_services.py), and the whole email channel end to
end with a real Celery worker: a mail in the support mailbox becomes a ticket, the assistant
answers, the customer's mailbox (the SMTP server) receives one threaded reply, and the customer's
reply threads back; automatic mail starts nothing."""

import threading
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assistants.models import Message, Run
from mail import imap, tasks
from mail.models import InboundMail, Mailbox, OutboundMail
from tests.factories import StaffFactory
from tests.mail_corpus import SUPPORT, load, reply_to
from tests.worker import wait_until


def folder_count(client, folder: str) -> int:
    if not client.folder_exists(folder):
        return 0
    return client.select_folder(folder, readonly=True)[b"EXISTS"]


@pytest.mark.django_db
def test_polling_stores_each_mail_once_and_moves_it_to_the_processed_folder(imap_account):
    imap_account.append("INBOX", load("iso_8859_1.eml"))
    imap_account.append("INBOX", load("shift_jis.eml"))
    result = imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk)
    assert result == {"claimed": True, "seen": 2, "stored": 2}
    mails = list(InboundMail.objects.order_by("imap_uid"))
    assert [m.imap_uid for m in mails] == [1, 2] and all(m.imap_uidvalidity for m in mails)
    assert mails[0].message_key == "20261201140000.4711@example-de.test"
    assert {m.state for m in mails} == {InboundMail.State.PENDING}  # parsed later, by a task
    assert folder_count(imap_account, "INBOX") == 0 and folder_count(imap_account, "Processed") == 2
    assert imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk)["seen"] == 0
    # the same mail twice in the folder (delivered to two of our aliases): stored once, both moved
    imap_account.append("INBOX", load("html_only.eml"))
    imap_account.append("INBOX", load("html_only.eml"))
    assert imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk) == {"claimed": True, "seen": 2, "stored": 1}
    assert folder_count(imap_account, "INBOX") == 0 and InboundMail.objects.count() == 3
    mailbox = Mailbox.objects.get(pk=imap_account.mailbox.pk)
    assert mailbox.last_error == "" and mailbox.last_polled_at and mailbox.poll_lease_until is None


@pytest.mark.django_db
def test_a_mail_fetched_again_after_a_crash_before_the_move_is_stored_once(imap_account, monkeypatch):
    imap_account.append("INBOX", load("no_message_id.eml"))

    def crash(*args):
        raise OSError("worker killed before the move")

    real_move = imap._move
    monkeypatch.setattr(imap, "_move", crash)
    assert imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk)["stored"] == 1  # stored, not moved
    monkeypatch.setattr(imap, "_move", real_move)
    assert folder_count(imap_account, "INBOX") == 1
    # A poller may be storing it right now: a fresh row is left to its poller to move.
    again = {"claimed": True, "seen": 1, "stored": 0}
    assert imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk) == again
    assert folder_count(imap_account, "INBOX") == 1
    # Once the poll lease has run out, the poller that stored it is dead: this one moves it.
    InboundMail.objects.update(received_at=timezone.now() - imap.POLL_LEASE - timedelta(seconds=1))
    assert imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk) == again
    assert InboundMail.objects.count() == 1 and folder_count(imap_account, "INBOX") == 0


@pytest.mark.django_db(transaction=True)
def test_two_app_instances_polling_one_mailbox_never_ingest_a_mail_twice(imap_account, monkeypatch):
    for name in ("gmail_new_with_attachments.eml", "html_only.eml", "no_message_id.eml", "iso_8859_1.eml"):
        imap_account.append("INBOX", load(name))
    mailbox_id = imap_account.mailbox.pk
    # Both pollers have fetched every mail before either stores one, and both have stored every
    # mail before either moves one: the worst overlap (two MOVEs of one mail both succeed).
    fetched, stored = threading.Barrier(2, timeout=20), threading.Barrier(2, timeout=20)
    calls = threading.local()
    real_store = imap.inbound_store

    def store_after_both_fetched(**kwargs):
        calls.n = getattr(calls, "n", 0) + 1
        if calls.n == 1:
            fetched.wait()
        result = real_store(**kwargs)
        if calls.n == 4:
            stored.wait()
        return result

    monkeypatch.setattr(imap, "inbound_store", store_after_both_fetched)
    results = []

    def poll():
        from django.db import connection

        try:
            results.append(imap.mailbox_poll(mailbox_id=mailbox_id, lease=False))
        finally:
            connection.close()

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for p in pollers:
        p.start()
    for p in pollers:
        p.join(30)
    assert [r["seen"] for r in results] == [4, 4] and sum(r["stored"] for r in results) == 4
    assert InboundMail.objects.count() == 4
    assert folder_count(imap_account, "INBOX") == 0 and folder_count(imap_account, "Processed") == 4
    # and with the poll lease (the default) the second instance does not even poll
    Mailbox.objects.filter(pk=mailbox_id).update(poll_lease_until=None)
    assert imap._claim(mailbox_id) is True
    assert imap.mailbox_poll(mailbox_id=mailbox_id) == {"claimed": False}


@pytest.mark.django_db
def test_a_wrong_password_is_kept_on_the_mailbox_for_the_lead(imap_account, dovecot, monkeypatch):
    monkeypatch.setenv("HD_TEST_IMAP_PASSWORD", "wrong")
    result = imap.mailbox_poll(mailbox_id=imap_account.mailbox.pk)
    assert "error" in result
    assert "LoginError" in Mailbox.objects.get(pk=imap_account.mailbox.pk).last_error


@pytest.mark.django_db
def test_a_lead_adds_a_mailbox_in_the_admin_with_an_encrypted_password_and_tests_it(imap_account, dovecot, client):
    lead = StaffFactory(is_superuser=True)
    client.force_login(lead)
    response = client.post(
        reverse("admin:mail_mailbox_add"),
        {
            "name": "Support (admin)",
            "address": SUPPORT,
            "host": "127.0.0.1",
            "port": dovecot.port,
            "username": imap_account.user,
            "password": "secret",
            "password_env": "",
            "folder": "INBOX",
            "processed_folder": "Done",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = Mailbox.objects.get(name="Support (admin)")
    assert mailbox.password_encrypted and "secret" not in mailbox.password_encrypted
    imap_account.append("INBOX", load("html_only.eml"))
    page = client.post(
        reverse("admin:mail_mailbox_changelist"),
        {"action": "test_connection", "_selected_action": [mailbox.pk]},
        follow=True,
    ).content.decode()
    assert f"Connected to 127.0.0.1:{dovecot.port} as {imap_account.user}: 1 mails in INBOX" in page
    assert imap.mailbox_poll(mailbox_id=mailbox.pk)["stored"] == 1
    assert folder_count(imap_account, "Done") == 1


@pytest.mark.django_db
def test_inbound_imap_url_adds_a_mailbox_whose_password_is_never_stored(imap_account, dovecot, settings):
    settings.INBOUND_IMAP_URL = f"imap://{imap_account.user}:secret@127.0.0.1:{dovecot.port}/INBOX?processed=Seen"
    imap_account.append("INBOX", load("shift_jis.eml"))
    ids = imap.active_mailbox_ids()
    env_box = Mailbox.objects.get(name=imap.ENV_MAILBOX)
    assert env_box.pk in ids and env_box.from_env and env_box.password_encrypted == ""
    assert imap.mailbox_poll(mailbox_id=env_box.pk)["stored"] == 1
    settings.INBOUND_IMAP_URL = ""
    assert env_box.pk not in imap.active_mailbox_ids()


@pytest.mark.worker
def test_email_in_and_out_end_to_end_with_a_real_worker(imap_account, smtp_server, celery_worker, dovecot):
    """The issue's acceptance: IMAP -> ticket with attachments -> assistant -> one threaded reply by
    SMTP -> the customer's reply threads back without the quote -> automatic mail starts nothing."""
    celery_worker.start(
        EMAIL_BACKEND="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_server.port,
        MAIL_SUPPORT_ADDRESS=SUPPORT,
        HELPDESK_DEFAULT_AI_MODE="auto",
        ASSISTANT_PROVIDER="offline",
        HD_TEST_IMAP_PASSWORD="secret",
    )
    mailbox_id = imap_account.mailbox.pk
    imap_account.append("INBOX", load("gmail_new_with_attachments.eml"))
    tasks.poll_mailbox.delay(mailbox_id)

    [sent] = wait_until(lambda: smtp_server.messages, timeout=60, message="the assistant's reply by SMTP")
    inbound = InboundMail.objects.get()
    ticket = inbound.ticket
    first = ticket.thread.messages.get(role=Message.Role.USER)
    assert sorted(a.filename for a in first.attachments.all()) == ["invoice-88213.pdf", "photo.png"]
    record = wait_until(lambda: OutboundMail.objects.filter(status=OutboundMail.Status.SENT).first(), timeout=10)
    assert sent["Message-ID"] == f"<{record.email_message_id}>"
    assert sent["In-Reply-To"] == "<CAF=k3x9Lq2s7Pq1b0Yh+new1@mail.gmail.test>"
    assert sent["Auto-Submitted"] == "auto-replied" and sent["To"] == "alice.customer@gmail.test"
    assert folder_count(imap_account, "INBOX") == 0

    raw = reply_to(sent, "It is the blue box, thank you!", sender="alice.customer@gmail.test")
    imap_account.append("INBOX", raw)
    tasks.poll_mailbox.delay(mailbox_id)
    wait_until(lambda: len(smtp_server.messages) == 2, timeout=60, message="the answer to the customer's reply")
    customer_messages = list(ticket.thread.messages.filter(role=Message.Role.USER).order_by("seq"))
    assert [m.body for m in customer_messages][1] == "It is the blue box, thank you!"
    assert InboundMail.objects.get(pk__gt=inbound.pk).ticket == ticket
    assert smtp_server.messages[1]["In-Reply-To"] == raw.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode()

    runs_before = Run.objects.count()
    imap_account.append("INBOX", load("out_of_office.eml", TO=sent["Reply-To"], SUBJECT=sent["Subject"]))
    imap_account.append(
        "INBOX", load("dsn_bounce.eml", FAILED="alice.customer@gmail.test", ORIGINAL=record.email_message_id)
    )
    imap_account.append("INBOX", load("mailing_list.eml"))
    tasks.poll_mailbox.delay(mailbox_id)
    wait_until(
        lambda: InboundMail.objects.count() == 5 and not InboundMail.objects.filter(state="pending").exists(),
        timeout=60,
        message="the automatic mails parsed",
    )
    kinds = sorted(InboundMail.objects.filter(pk__gt=inbound.pk + 1).values_list("kind", flat=True))
    assert kinds == ["automatic", "automatic", "bounce"]
    assert Run.objects.count() == runs_before and OutboundMail.objects.count() == 2
    assert len(smtp_server.messages) == 2
