"""Staff remove a message or an attachment from the ticket page: the customer's page, the emails
sent later and the search no longer have it; staff see who removed it and why; the audit log keeps it."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assistants.models import Attachment, Message, Redaction
from mail.models import InboundMail, OutboundMail
from tests.factories import StaffFactory, open_ticket
from tests.mail_corpus import load
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "my card is 4111 1111 1111 1111 quokkasecret"


def _htmx(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_staff_remove_a_message_with_a_reason_and_see_the_placeholder(client, staff, customer):
    ticket = open_ticket(customer=customer, body=SECRET)
    message = ticket.thread.messages.get(seq=1)

    response = _htmx(client, reverse("staff:message_redact", args=[message.pk]), {"reason": "Card number pasted"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "quokkasecret" not in html
    assert "This message was removed by" in html and "Card number pasted" in html
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "quokkasecret" not in page and "Card number pasted" in page
    record = Redaction.objects.get()
    assert (record.by, record.reason, record.message_id) == (staff, "Card number pasted", message.pk)
    ticket.refresh_from_db()
    assert "quokkasecret" not in ticket.last_message_preview


def test_a_removal_without_a_reason_is_a_form_error_in_place(client, staff):
    ticket = open_ticket(body=SECRET)
    message = ticket.thread.messages.get(seq=1)

    response = _htmx(client, reverse("staff:message_redact", args=[message.pk]), {"reason": "   "})

    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#msg-{message.pk}"
    assert "Say why this is removed." in response.content.decode()
    message.refresh_from_db()
    assert message.body == SECRET and not Redaction.objects.exists()


def test_the_customer_sees_only_the_placeholder(client, customer):
    ticket = open_ticket(customer=customer, body=SECRET)
    first = ticket.thread.messages.get(seq=1)
    desk.message_remove(ticket=ticket, message_id=first.pk, staff=StaffFactory(), reason="PII")
    client.force_login(customer)
    html = client.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "quokkasecret" not in html
    assert "This message was removed by" in html
    assert "PII" not in html  # the reason is for staff


def test_search_finds_nothing_of_a_removed_message(client, staff):
    ticket = open_ticket(subject="Billing", body=SECRET)
    inbox = reverse("staff:inbox")
    assert [t.pk for t in client.get(inbox, {"q": "quokkasecret"}).context["page"].tickets] == [ticket.pk]
    desk.message_remove(ticket=ticket, message_id=ticket.thread.messages.get(seq=1).pk, staff=staff, reason="PII")
    assert client.get(inbox, {"q": "quokkasecret"}).context["page"].tickets == []


def test_one_attachment_is_removed_and_its_file_deleted_from_storage(client, staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    customer = staff.__class__.objects.create_user("c1@example.com", "c1@example.com", "x")
    upload = SimpleUploadedFile("card.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    ticket = desk.ticket_open(customer=customer, subject="Photo", body="See the photo", files=[upload])
    attachment = Attachment.objects.get()
    path = attachment.file.path
    assert Path(path).read_bytes().startswith(b"\x89PNG")

    response = _htmx(client, reverse("staff:attachment_redact", args=[attachment.pk]), {"reason": "Shows a card"})

    assert response.status_code == 200
    attachment.refresh_from_db()
    assert attachment.is_redacted and not attachment.file
    assert not Path(path).exists()
    message = ticket.thread.messages.get(seq=1)
    assert message.body == "See the photo" and not message.is_redacted
    assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404
    assert Redaction.objects.get().attachment == attachment


def test_a_message_removed_before_its_mail_went_out_is_never_mailed(smtp_server, jobs):
    from mail.inbound import inbound_process, inbound_store

    mail, _ = inbound_store(raw=load("gmail_new_with_attachments.eml"))
    inbound_process(inbound_id=mail.pk)
    jobs.clear()
    ticket = InboundMail.objects.get(pk=mail.pk).ticket
    staff = StaffFactory()
    reply = desk.staff_reply(ticket=ticket, staff=staff, body="Your card 4111 quokkasecret is noted")
    desk.message_remove(ticket=ticket, message_id=reply.pk, staff=staff, reason="Quoted the card")
    jobs.run()
    assert all("quokkasecret" not in m.as_string() for m in smtp_server.messages)
    assert OutboundMail.objects.get(message=reply).status == OutboundMail.Status.SUPPRESSED
    # The raw mail the customer's message came from goes with it when that one is removed.
    first = ticket.thread.messages.get(seq=1)
    desk.message_remove(ticket=ticket, message_id=first.pk, staff=staff, reason="PII")
    assert bytes(InboundMail.objects.get(pk=mail.pk).raw) == b""


def test_the_audit_log_is_read_only_in_the_admin(client):
    lead = StaffFactory(is_superuser=True)
    client.force_login(lead)
    ticket = open_ticket(body=SECRET)
    desk.message_remove(ticket=ticket, message_id=ticket.thread.messages.get(seq=1).pk, staff=lead, reason="PII")
    listing = client.get(reverse("admin:assistants_redaction_changelist"))
    assert listing.status_code == 200 and "PII" in listing.content.decode()
    record = Redaction.objects.get()
    delete = client.post(reverse("admin:assistants_redaction_delete", args=[record.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert Message.objects.get(pk=record.message_id).is_redacted
