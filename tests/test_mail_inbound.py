"""Inbound mail through the one service (store raw first, parse in a task): tickets, threading,
idempotency, strangers, loops, bounces, caps, attachments and failures."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from assistants.models import Attachment, Message, Run
from mail import addresses, outbound
from mail.inbound import inbound_process, inbound_store
from mail.models import AddressStatus, InboundMail, OutboundMail
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tests.mail_corpus import SUPPORT, load
from tickets.models import Ticket

User = get_user_model()
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _support_address(settings):
    settings.MAIL_SUPPORT_ADDRESS = SUPPORT


def ingest(raw: bytes) -> InboundMail:
    """What the task does after the store commits."""
    mail, _created = inbound_store(raw=raw)
    inbound_process(inbound_id=mail.pk)
    mail.refresh_from_db()
    return mail


def simple(sender="zoe@example.test", to=SUPPORT, subject="Hello", body="Where is my parcel?", headers="", mid=None):
    mid = mid or f"<{abs(hash((sender, subject, body, headers)))}@example.test>"
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def user_messages(ticket):
    return ticket.thread.messages.filter(role=Message.Role.USER).order_by("seq")


# --- new tickets ---------------------------------------------------------------------------


def test_a_mail_from_an_unknown_sender_opens_a_ticket_for_a_new_customer_without_a_password():
    mail = ingest(load("gmail_new_with_attachments.eml"))
    assert mail.state == InboundMail.State.PROCESSED and mail.kind == InboundMail.Kind.NEW
    ticket = mail.ticket
    assert ticket.subject == "My parcel arrived damaged"
    customer = ticket.customer
    assert customer.email == "alice.customer@gmail.test" and customer.first_name == "Alice Customer"
    assert not customer.has_usable_password()
    message = user_messages(ticket).get()
    assert message == mail.message and message.author == customer
    assert message.body.startswith("Hello,\n\nmy parcel PX-88213 arrived today")
    assert message.metadata["channel"] == "email" and message.metadata["email"]["inbound"] == mail.pk
    assert sorted(Attachment.objects.filter(message=message).values_list("filename", flat=True)) == [
        "invoice-88213.pdf",
        "photo.png",
    ]
    assert Run.objects.filter(thread=ticket.thread, status=Run.Status.QUEUED).count() == 1


def test_a_known_customer_writing_in_gets_the_ticket_on_their_account():
    customer = CustomerFactory(email="Zoe@Example.test", username="Zoe@Example.test")
    mail = ingest(simple(sender="zoe@example.test"))
    assert mail.ticket.customer == customer
    assert User.objects.filter(email__iexact="zoe@example.test").count() == 1


def test_the_same_mail_twice_is_one_message():
    raw = load("iso_8859_1.eml")
    first, created = inbound_store(raw=raw)
    again, created_again = inbound_store(raw=raw)
    assert created and not created_again and again.pk == first.pk
    inbound_process(inbound_id=first.pk)
    assert inbound_process(inbound_id=first.pk) == "not pending"  # a second delivery of the task
    assert InboundMail.objects.count() == 1 and Ticket.objects.count() == 1
    assert Message.objects.filter(role=Message.Role.USER).count() == 1


def test_a_mail_without_a_message_id_is_deduplicated_by_its_bytes():
    raw = load("no_message_id.eml")
    mail = ingest(raw)
    assert mail.message_key.startswith("sha256:") and mail.state == InboundMail.State.PROCESSED
    assert inbound_store(raw=raw)[1] is False
    assert Ticket.objects.count() == 1


def test_ingest_email_reads_one_mail_on_stdin(capsys):
    raw = load("shift_jis.eml")

    class Stdin(io.StringIO):
        buffer = io.BytesIO(raw)

    call_command("ingest_email", "--now", stdin=Stdin())
    assert "stored mail" in capsys.readouterr().out
    ticket = Ticket.objects.get()
    assert ticket.subject == "荷物が届きません"
    assert "追跡番号は PX-9001 です" in user_messages(ticket).get().body
    Stdin.buffer = io.BytesIO(raw)
    call_command("ingest_email", stdin=Stdin())
    assert "already stored" in capsys.readouterr().out
    assert InboundMail.objects.count() == 1


# --- threading -----------------------------------------------------------------------------


def _email_ticket(sender="zoe@example.test"):
    return ingest(simple(sender=sender, subject="Parcel late", mid="<first@example.test>")).ticket


def test_a_reply_to_the_tickets_reply_address_joins_it_without_the_quote():
    ticket = _email_ticket()
    raw = load(
        "gmail_reply.eml",
        TO=addresses.reply_address(ticket),
        SUBJECT="Parcel late",
        IN_REPLY_TO="<unknown@elsewhere.test>",
    ).replace(b"alice.customer@gmail.test", b"zoe@example.test")
    mail = ingest(raw)
    assert (mail.kind, mail.ticket) == (InboundMail.Kind.REPLY, ticket)
    assert user_messages(ticket).last().body == "Yes please, send the replacement to the same address."


def test_a_forged_reply_token_does_not_reach_the_ticket():
    ticket = _email_ticket()
    forged = addresses.reply_address(ticket).replace(addresses.reply_address(ticket).split(".")[1][:12], "a" * 12)
    mail = ingest(simple(to=forged, subject="hi", body="let me in"))
    assert mail.ticket != ticket and mail.kind == InboundMail.Kind.NEW


def test_a_reply_threads_by_in_reply_to_our_message_id():
    ticket = _email_ticket(sender="bob.buyer@corp.test")
    sent = OutboundMail.objects.create(
        ticket=ticket, to_address="bob.buyer@corp.test", email_message_id="1.2.3.T-9.9@parcelly.test", subject="x"
    )
    mail = ingest(load("outlook_reply.eml", IN_REPLY_TO=f"<{sent.email_message_id}>", SUBJECT="no tag here"))
    assert (mail.kind, mail.ticket) == (InboundMail.Kind.REPLY, ticket)
    assert user_messages(ticket).last().body == "The parcel arrived this morning, thank you. You can close the ticket."


def test_a_reply_threads_by_references_to_the_customers_own_earlier_mail():
    ticket = _email_ticket(sender="carla@icloud.test")
    raw = load("apple_mail_reply.eml", REFERENCES="<first@example.test>", IN_REPLY_TO="<lost@parcelly.test>")
    mail = ingest(raw)
    assert mail.ticket == ticket
    assert user_messages(ticket).last().body.endswith("but it is not.")


def test_the_subject_tag_threads_only_mail_from_the_tickets_customer():
    ticket = _email_ticket()
    mine = ingest(simple(sender="zoe@example.test", subject=f"Re: Parcel late [{ticket.reference}]", body="me again"))
    assert mine.ticket == ticket
    other = ingest(simple(sender="mallory@example.test", subject=f"[{ticket.reference}]", body="me too"))
    assert other.kind == InboundMail.Kind.NEW and other.ticket != ticket


def test_a_stranger_writing_to_a_tickets_reply_address_is_held_for_staff_not_appended():
    ticket = _email_ticket()
    before = user_messages(ticket).count()
    mail = ingest(simple(sender="mallory@example.test", to=addresses.reply_address(ticket), body="I am her lawyer"))
    assert (mail.state, mail.kind, mail.ticket) == (InboundMail.State.HELD, InboundMail.Kind.STRANGER, ticket)
    assert user_messages(ticket).count() == before
    note = ticket.thread.messages.get(role=Message.Role.DEVELOPER)
    assert note.visibility == Message.Visibility.INTERNAL and "mallory@example.test" in note.body
    assert Run.objects.filter(thread=ticket.thread).count() == 1  # only the first mail's run

    from mail.inbound import inbound_accept_held

    inbound_accept_held(mail=mail)
    added = user_messages(ticket).last()
    assert added.body == "I am her lawyer" and added.metadata["email"]["accepted_from"] == "mallory@example.test"


# --- loops, bounces, caps ------------------------------------------------------------------


def test_an_out_of_office_reply_is_recorded_on_its_ticket_but_starts_no_run_and_sends_nothing(jobs):
    ticket = _email_ticket(sender="bob.buyer@corp.test")
    Run.objects.filter(thread=ticket.thread).update(status=Run.Status.COMPLETED)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.PENDING)
    jobs.clear()
    mail = ingest(load("out_of_office.eml", TO=addresses.reply_address(ticket), SUBJECT="Parcel late"))
    assert mail.kind == InboundMail.Kind.AUTOMATIC and mail.reason == "Auto-Submitted: auto-replied"
    assert user_messages(ticket).last().metadata["email"]["automatic"] == "Auto-Submitted: auto-replied"
    assert not Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING  # an out-of-office does not reopen anything
    assert jobs.names() == [] and OutboundMail.objects.count() == 0


@pytest.mark.parametrize(
    "name, reason",
    [
        ("mailing_list.eml", "Precedence: list"),
        ("out_of_office.eml", "Auto-Submitted: auto-replied"),
    ],
)
def test_automatic_mail_with_no_ticket_opens_none(name, reason, jobs):
    mail = ingest(load(name))
    assert (mail.state, mail.kind, mail.reason) == (InboundMail.State.IGNORED, InboundMail.Kind.AUTOMATIC, reason)
    assert Ticket.objects.count() == 0 and Run.objects.count() == 0
    assert jobs.names() == [] and not User.objects.filter(email="news@shop-news.test").exists()


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-generated\r\n",
        "X-Autoreply: yes\r\n",
        "Precedence: bulk\r\n",
        "List-Id: <x.lists.test>\r\n",
        "Return-Path: <>\r\n",
    ],
)
def test_every_automatic_signal_keeps_a_mail_from_opening_a_ticket(headers):
    assert ingest(simple(headers=headers)).kind == InboundMail.Kind.AUTOMATIC
    assert Ticket.objects.count() == 0


def test_mail_from_mailer_daemon_or_our_own_address_opens_nothing():
    assert ingest(simple(sender="MAILER-DAEMON@mx.example.test")).kind == InboundMail.Kind.AUTOMATIC
    assert ingest(simple(sender=SUPPORT, body="looped")).kind == InboundMail.Kind.OWN
    assert ingest(simple(sender="support+T-1.abc@parcelly.test", body="looped 2")).kind == InboundMail.Kind.OWN
    assert Ticket.objects.count() == 0


def test_auto_submitted_no_is_a_person():
    assert ingest(simple(headers="Auto-Submitted: no\r\n")).kind == InboundMail.Kind.NEW


def test_a_bounce_marks_the_address_failing_tells_staff_and_stops_mail_to_it(jobs):
    ticket = _email_ticket(sender="bob.buyer@corp.test")
    sent = OutboundMail.objects.create(
        ticket=ticket,
        to_address="bob.buyer@corp.test",
        email_message_id="9.9.9.T-1.1@parcelly.test",
        subject="Re: Parcel late",
        status=OutboundMail.Status.SENT,
    )
    jobs.clear()
    mail = ingest(load("dsn_bounce.eml", FAILED="bob.buyer@corp.test", ORIGINAL=sent.email_message_id))
    assert (mail.kind, mail.state, mail.ticket) == (InboundMail.Kind.BOUNCE, InboundMail.State.IGNORED, ticket)
    status = AddressStatus.objects.get(address="bob.buyer@corp.test")
    assert status.failing and status.last_status == "5.1.1"
    sent.refresh_from_db()
    assert sent.status == OutboundMail.Status.BOUNCED and "5.1.1" in sent.last_error
    assert "bounced" in ticket.thread.messages.get(role=Message.Role.DEVELOPER).body
    assert not Run.objects.filter(thread=ticket.thread).exclude(pk=Run.objects.earliest("pk").pk).exists()

    staff = StaffFactory()
    from tickets import services as desk

    reply = desk.staff_reply(ticket=ticket, staff=staff, body="Is your address right?")
    out = outbound.queue_public_message(message_id=reply.pk)
    assert out.status == OutboundMail.Status.SUPPRESSED and "bounced" in out.last_error
    assert jobs.names() == []

    ingest(simple(sender="bob.buyer@corp.test", subject="new address", body="I fixed my mailbox"))
    assert not AddressStatus.objects.get(address="bob.buyer@corp.test").failing


def test_new_tickets_per_sender_per_hour_are_capped_without_losing_mail(settings):
    settings.MAIL_MAX_NEW_TICKETS_PER_SENDER_PER_HOUR = 2
    for i in range(4):
        ingest(simple(subject=f"Question {i}", body=f"question {i}"))
    tickets = list(Ticket.objects.order_by("pk"))
    assert len(tickets) == 4
    assert [Run.objects.filter(thread=t.thread).count() for t in tickets] == [1, 1, 0, 0]
    note = tickets[3].thread.messages.get(role=Message.Role.DEVELOPER)
    assert "cap 2" in note.body


# --- content -------------------------------------------------------------------------------


def test_attachments_over_the_portals_limits_are_dropped_with_a_note_to_staff(settings, client):
    settings.HELPDESK_MAX_UPLOAD_BYTES = 512 * 1024
    mail = ingest(load("oversized_attachment.eml"))
    assert mail.state == InboundMail.State.PROCESSED
    message = mail.message
    assert list(message.attachments.values_list("filename", flat=True)) == ["crash.log"]
    dropped = {d["filename"]: d["reason"] for d in message.metadata["email"]["dropped"]}
    assert "too large" in dropped["recording.zip"] and "not accepted" in dropped["fix.exe"]
    client.force_login(StaffFactory())
    page = client.get(reverse("staff:ticket", args=[mail.ticket_id])).content.decode()
    assert "Dropped from the mail: recording.zip" in page and "Dropped from the mail: fix.exe" in page


def test_a_malformed_mime_mail_still_becomes_a_readable_ticket():
    mail = ingest(load("malformed_mime.eml"))
    assert mail.state == InboundMail.State.PROCESSED
    assert user_messages(mail.ticket).get().body == "Hello, my order 7788 never shipped. Café au lait."


def test_html_only_mail_becomes_plain_text_without_scripts():
    message = ingest(load("html_only.eml")).message
    assert "I ordered a blue jacket (order 5521) and got a red one." in message.body
    assert "alert" not in message.body and "<" not in message.body and "steal" not in message.body
    assert message.metadata["email"]["html_only"] is True


def test_a_mail_that_cannot_be_used_is_kept_failed_and_shown_to_staff_who_can_retry_or_discard(client):
    raw = b"Subject: no sender at all\r\nMessage-ID: <nosender@x.test>\r\n\r\nhello\r\n"
    mail = ingest(raw)
    assert mail.state == InboundMail.State.FAILED and "no sender" in mail.error
    assert bytes(mail.raw) == raw and Ticket.objects.count() == 0

    lead = StaffFactory(is_superuser=True)
    client.force_login(lead)
    listing = client.get(reverse("admin:mail_inboundmail_changelist") + "?state=failed").content.decode()
    assert "no sender at all" in listing
    detail = client.get(reverse("admin:mail_inboundmail_change", args=[mail.pk])).content.decode()
    assert "no sender address" in detail and "hello" in detail
    action = reverse("admin:mail_inboundmail_changelist")
    client.post(action, {"action": "retry", "_selected_action": [mail.pk]})
    mail.refresh_from_db()
    assert mail.state == InboundMail.State.PENDING
    client.post(action, {"action": "discard", "_selected_action": [mail.pk]})
    mail.refresh_from_db()
    assert mail.state == InboundMail.State.DISCARDED


def test_a_crash_inside_processing_keeps_the_mail_writes_nothing_and_others_go_on(monkeypatch):
    from mail import inbound

    real = inbound.desk.ticket_open

    def open_then_crash(**kwargs):
        real(**kwargs)  # the customer, the ticket and its message are written ...
        raise RuntimeError("parser bug")  # ... and then something breaks

    monkeypatch.setattr(inbound.desk, "ticket_open", open_then_crash)
    bad = ingest(simple(sender="crash@example.test", body="one"))
    assert bad.state == InboundMail.State.FAILED and "parser bug" in bad.error and bad.attempts == 1
    assert Ticket.objects.count() == 0 and not User.objects.filter(email="crash@example.test").exists()
    monkeypatch.setattr(inbound.desk, "ticket_open", real)
    assert ingest(simple(body="two")).state == InboundMail.State.PROCESSED


def test_the_ticket_page_shows_the_channel_and_the_original_mail_to_staff_only(client):
    mail = ingest(load("gmail_reply.eml", SUBJECT="Parcel"))
    client.force_login(CustomerFactory())
    original = reverse("mail:original", args=[mail.message_id])
    assert client.get(original).status_code == 403
    client.force_login(StaffFactory())
    page = client.get(reverse("staff:ticket", args=[mail.ticket_id])).content.decode()
    assert 'class="badge badge-channel"' in page and original in page
    shown = client.get(original).content.decode()
    assert "Shall we send a replacement?" in shown  # the quoted history, kept for staff
    raw = client.get(reverse("mail:original_raw", args=[mail.message_id]))
    assert raw["Content-Type"] == "message/rfc822" and raw.content == bytes(mail.raw)
    open_ticket()
    portal_message = Message.objects.filter(role=Message.Role.USER).exclude(pk=mail.message_id).get()
    assert client.get(reverse("mail:original", args=[portal_message.pk])).status_code == 404


def test_a_lost_parse_task_is_sent_again_by_the_sweeper_but_a_backlog_not_every_sweep(jobs):
    from datetime import timedelta

    from django.utils import timezone

    from mail.inbound import inbound_sweep

    mail, _ = inbound_store(raw=simple(body="lost task"))
    assert inbound_sweep() == 0  # too fresh: its own task is on its way
    InboundMail.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert inbound_sweep() == 1 and jobs.names() == ["mail.tasks.process_inbound"]
    assert inbound_sweep() == 0  # sent once; not again until the grace has passed
    jobs.run()
    mail.refresh_from_db()
    assert mail.state == InboundMail.State.PROCESSED


def test_a_reply_parsed_before_the_mail_it_answers_waits_for_it_instead_of_opening_a_ticket(jobs):
    from datetime import timedelta

    from django.utils import timezone

    first, _ = inbound_store(raw=simple(body="first", mid="<one@example.test>"))  # stored, not parsed yet
    follow_up, _ = inbound_store(
        raw=simple(subject="Re: Hello", body="forgot the photo", headers="In-Reply-To: <one@example.test>\r\n")
    )
    assert inbound_process(inbound_id=follow_up.pk) == "waiting for the mail it answers"
    assert jobs.names() == ["mail.tasks.process_inbound"] and Ticket.objects.count() == 0
    jobs.clear()
    inbound_process(inbound_id=first.pk)
    inbound_process(inbound_id=follow_up.pk)
    follow_up.refresh_from_db()
    assert follow_up.kind == InboundMail.Kind.REPLY and Ticket.objects.count() == 1
    # a parent that never gets parsed is not waited for forever
    lonely, _ = inbound_store(raw=simple(body="answers a stuck mail", headers="In-Reply-To: <stuck@example.test>\r\n"))
    inbound_store(raw=simple(body="stuck", mid="<stuck@example.test>"))
    InboundMail.objects.filter(pk=lonely.pk).update(received_at=timezone.now() - timedelta(minutes=6))
    assert inbound_process(inbound_id=lonely.pk) == InboundMail.State.PROCESSED
    assert Ticket.objects.count() == 2
