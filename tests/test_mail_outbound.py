"""Outbound mail through a real SMTP server (aiosmtpd, in the test process): what the customer's
mailbox receives, when, and what staff see when it fails; the sign-in links in every mail."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from assistants.models import Message
from assistants.signals import reply_created
from mail import addresses, links, outbound
from mail.inbound import inbound_process, inbound_store
from mail.models import EmailPreference, InboundMail, OutboundMail, SignInLink
from tests.factories import StaffFactory, open_ticket
from tests.mail_corpus import SUPPORT, load, reply_to
from tickets import services as desk
from tickets.models import Ticket

User = get_user_model()
pytestmark = pytest.mark.django_db(transaction=True)


def ingest(raw: bytes) -> InboundMail:
    mail, _ = inbound_store(raw=raw)
    inbound_process(inbound_id=mail.pk)
    mail.refresh_from_db()
    return mail


@pytest.fixture
def email_ticket(smtp_server, jobs):
    mail = ingest(load("gmail_new_with_attachments.eml"))
    jobs.clear()  # the parse task was run by hand above
    return mail.ticket


def test_the_assistants_reply_reaches_the_customer_once_with_threading_headers(email_ticket, smtp_server, drain, jobs):
    drain()
    assert smtp_server.messages == []  # nothing is sent inside the run: the mail is its own task
    assert jobs.names() == ["mail.tasks.send_outbound"]
    jobs.run()
    [sent] = smtp_server.messages
    record = OutboundMail.objects.get()
    assert record.status == OutboundMail.Status.SENT and record.attempts == 1
    assert sent["Message-ID"] == f"<{record.email_message_id}>"
    assert sent["In-Reply-To"] == "<CAF=k3x9Lq2s7Pq1b0Yh+new1@mail.gmail.test>"
    assert sent["References"] == "<CAF=k3x9Lq2s7Pq1b0Yh+new1@mail.gmail.test>"
    assert sent["Reply-To"] == addresses.reply_address(email_ticket)
    assert sent["From"].addresses[0].addr_spec == SUPPORT
    assert sent["To"] == "alice.customer@gmail.test"
    assert sent["Subject"] == f"Re: My parcel arrived damaged [{email_ticket.reference}]"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent.get_content_type() == "multipart/alternative"
    reply = email_ticket.thread.messages.get(role=Message.Role.ASSISTANT)
    text, html = sent.get_body(("plain",)).get_content(), sent.get_body(("html",)).get_content()
    assert reply.body in text.replace("\r\n", "\n") and "/mail/link/" in text and "/mail/link/" in html
    assert text.startswith(f"Our assistant on your ticket {email_ticket.reference}:")
    assert "/mail/preferences/" in text and "/mail/preferences/" in html
    assert reply.metadata["email_delivery"]["status"] == "sent"
    # the signal again (a redelivery, a retry): still one mail
    reply_created.send(sender=Message, message=reply, run=reply.run, published=True)
    jobs.run()
    assert len(smtp_server.messages) == 1


def test_the_customers_reply_from_their_mail_client_threads_back_without_the_quote(
    email_ticket, smtp_server, drain, jobs
):
    drain()
    jobs.run()
    [sent] = smtp_server.messages
    raw = reply_to(sent, "Thanks! Please send the replacement.", sender="alice.customer@gmail.test")
    mail = ingest(raw)
    assert (mail.ticket, mail.kind) == (email_ticket, InboundMail.Kind.REPLY)
    last = email_ticket.thread.messages.filter(role=Message.Role.USER).last()
    assert last.body == "Thanks! Please send the replacement."
    drain()
    jobs.run()
    second = smtp_server.messages[1]
    assert second["In-Reply-To"] == raw.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode()
    assert sent["Message-ID"] in second["References"]  # the whole conversation stays together


def test_a_staff_reply_is_mailed_as_a_person_and_notes_and_drafts_never_are(email_ticket, smtp_server, jobs):
    staff = StaffFactory()
    desk.staff_reply(ticket=email_ticket, staff=staff, body="Internal: check the warehouse.", internal=True)
    desk.staff_reply(ticket=email_ticket, staff=staff, body="A replacement is on its way.")
    jobs.run()
    [sent] = smtp_server.messages
    assert "A replacement is on its way." in sent.get_body(("plain",)).get_content()
    assert "warehouse" not in sent.as_string()
    assert sent["Auto-Submitted"] is None  # a person wrote it (RFC 3834)
    # whatever signal comes for them, a note or a draft is never mailed
    note = email_ticket.thread.messages.get(visibility=Message.Visibility.INTERNAL)
    draft = Message.objects.create(
        thread=email_ticket.thread, seq=99, role=Message.Role.ASSISTANT, body="Draft text", draft_state="draft"
    )
    for message in (note, draft):
        reply_created.send(sender=Message, message=message, run=None, published=True)
        assert outbound.queue_public_message(message_id=message.pk) is None
    jobs.run()
    assert len(smtp_server.messages) == 1 and OutboundMail.objects.count() == 1


def test_a_draft_is_mailed_only_when_a_person_approves_it(email_ticket, smtp_server, drain, jobs):
    Ticket.objects.filter(pk=email_ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    jobs.run()
    assert smtp_server.messages == []
    draft = email_ticket.thread.messages.drafts().get()
    desk.draft_approve(message=draft, staff=StaffFactory(), body="Approved text.")
    jobs.run()
    [sent] = smtp_server.messages
    assert "Approved text." in sent.get_body(("plain",)).get_content()
    assert sent["Auto-Submitted"] is None


def test_an_automatic_notice_with_no_run_is_mailed_through_the_same_path(email_ticket, smtp_server, jobs):
    from assistants import services as engine

    notice = engine.message_add(thread=email_ticket.thread, role=Message.Role.ASSISTANT, body="A person will reply.")
    reply_created.send(sender=Message, message=notice, run=None, published=True)
    jobs.run()
    [sent] = smtp_server.messages
    assert sent["Auto-Submitted"] == "auto-replied" and "A person will reply." in sent.as_string()


def test_portal_customers_get_replies_by_email_unless_they_turn_it_off(smtp_server, jobs, client, drain, settings):
    ticket = open_ticket(subject="Portal question")
    drain()
    jobs.run()
    assert len(smtp_server.messages) == 1
    client.force_login(ticket.customer)
    client.post(reverse("mail:preferences"), {})
    assert EmailPreference.objects.get(user=ticket.customer).replies_by_email is False
    desk.staff_reply(ticket=ticket, staff=StaffFactory(), body="Second reply")
    jobs.run()
    assert len(smtp_server.messages) == 1
    settings.MAIL_PORTAL_REPLIES = False
    other = open_ticket(subject="Quiet")
    drain()
    jobs.run()
    assert len(smtp_server.messages) == 1 and not OutboundMail.objects.filter(ticket=other).exists()


def test_automatic_mail_to_one_address_is_capped_per_hour(email_ticket, smtp_server, jobs, settings):
    from assistants import services as engine

    settings.MAIL_MAX_AUTO_PER_RECIPIENT_PER_HOUR = 2
    for i in range(3):
        notice = engine.message_add(thread=email_ticket.thread, role=Message.Role.ASSISTANT, body=f"notice {i}")
        outbound.queue_public_message(message_id=notice.pk)
    jobs.run()
    assert len(smtp_server.messages) == 2
    capped = OutboundMail.objects.get(status=OutboundMail.Status.SUPPRESSED)
    assert "2 automatic mails" in capped.last_error


def test_an_smtp_outage_is_retried_with_backoff_then_shown_on_the_ticket_page(
    email_ticket, smtp_server, jobs, settings, client
):
    settings.MAIL_SEND_MAX_ATTEMPTS = 2
    real = settings.MAILERS
    settings.MAILERS = {"default": {**real["default"], "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2}}}
    reply = desk.staff_reply(ticket=email_ticket, staff=StaffFactory(), body="Are you there?")
    jobs.run()  # attempt 1 fails and queues attempt 2 (with a countdown), which fails for good
    record = OutboundMail.objects.get()
    assert record.status == OutboundMail.Status.FAILED and record.attempts == 2
    assert "ConnectionRefusedError" in record.last_error
    client.force_login(StaffFactory())
    page = client.get(reverse("staff:ticket", args=[email_ticket.pk])).content.decode()
    assert "Email to alice.customer@gmail.test: <strong>failed</strong>" in page
    # the server is back; a lead sends it again from the admin
    settings.MAILERS = real
    outbound.outbound_retry(outbound=record)
    jobs.run()
    assert len(smtp_server.messages) == 1
    reply.refresh_from_db()
    assert reply.metadata["email_delivery"]["status"] == "sent"


def test_a_lost_send_task_is_sent_by_the_sweeper(email_ticket, smtp_server, jobs):
    desk.staff_reply(ticket=email_ticket, staff=StaffFactory(), body="Hello again")
    jobs.clear()  # the broker lost it
    OutboundMail.objects.update(next_attempt_at=OutboundMail.objects.get().created_at - timedelta(minutes=5))
    assert outbound.outbound_sweep() == 1
    jobs.run()
    assert len(smtp_server.messages) == 1
    assert outbound.outbound_sweep() == 0


# --- sign-in links -------------------------------------------------------------------------


def _link_token(email_ticket, smtp_server, drain, jobs) -> str:
    drain()
    jobs.run()
    text = smtp_server.messages[-1].get_body(("plain",)).get_content()
    return text.split("/mail/link/")[1].split("/")[0]


def test_the_link_in_the_mail_signs_the_customer_into_their_ticket_once(email_ticket, smtp_server, drain, jobs, client):
    token = _link_token(email_ticket, smtp_server, drain, jobs)
    url = reverse("mail:sign_in", args=[token])
    page = client.get(url)  # a mail scanner following the link uses nothing up
    assert page.status_code == 200 and "Open my ticket" in page.content.decode()
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("portal:ticket", args=[email_ticket.pk])
    assert "My parcel arrived damaged" in client.get(response["Location"]).content.decode()
    client.logout()
    again = client.post(url)
    assert again.status_code == 410 and "already used" in again.content.decode()
    assert client.get(reverse("portal:ticket", args=[email_ticket.pk])).status_code == 302  # not signed in


def test_an_expired_or_tampered_link_signs_nobody_in(email_ticket, smtp_server, drain, jobs, client, monkeypatch):
    token = _link_token(email_ticket, smtp_server, drain, jobs)
    assert client.post(reverse("mail:sign_in", args=[token[:-2] + "xx"])).status_code == 410
    monkeypatch.setattr(links, "max_age", lambda: timedelta(seconds=-1))
    response = client.post(reverse("mail:sign_in", args=[token]))
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert SignInLink.objects.filter(used_at__isnull=False).count() == 0


def test_a_link_never_signs_in_a_staff_account(client):
    staff = StaffFactory()
    ticket = open_ticket(customer=staff)
    token = links.sign_in_url(user=staff, ticket=ticket).split("/mail/link/")[1].strip("/")
    assert client.post(reverse("mail:sign_in", args=[token])).status_code == 410


def test_a_customer_who_came_by_email_sets_a_password_from_the_link(email_ticket, smtp_server, drain, jobs, client):
    token = _link_token(email_ticket, smtp_server, drain, jobs)
    response = client.post(reverse("mail:sign_in", args=[token]), {"next": "password"})
    assert response["Location"] == reverse("mail:password")
    bad = client.post(reverse("mail:password"), {"new_password1": "short", "new_password2": "short"})
    assert bad.status_code == 422
    done = client.post(reverse("mail:password"), {"new_password1": "Parcel-77-lamp", "new_password2": "Parcel-77-lamp"})
    assert done.status_code == 200
    client.logout()
    login = client.post(reverse("login"), {"username": "alice.customer@gmail.test", "password": "Parcel-77-lamp"})
    assert login.status_code == 302 and "_auth_user_id" in client.session


def test_a_subject_with_a_newline_still_sends_on_one_line(smtp_server, jobs, drain):
    ticket = open_ticket(subject="Broken\r\nBcc: victim@example.test")
    drain()
    jobs.run()
    [sent] = smtp_server.messages
    assert sent["Subject"] == f"Re: Broken Bcc: victim@example.test [{ticket.reference}]"
    assert sent["Bcc"] is None and [e.rcpt_tos for e in smtp_server.envelopes] == [[ticket.customer.email]]
