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


# --- later messages that repeat what was removed -------------------------------------------------


def test_what_counts_as_repeating_removed_text():
    from assistants.redaction import quotes, sensitive_pieces

    pieces = sensitive_pieces("Card 4111-1111-1111-1111, mail me at Ann.Lee@example.com. " + "x" * 5)
    assert quotes("The card 4111 1111 1111 1111 is blocked", pieces)
    assert quotes("ending in 111111", pieces)  # six digits of it
    assert quotes("We wrote to ann.lee@EXAMPLE.com", pieces)
    assert not quotes("Your order 4242 ships today", pieces)
    long = sensitive_pieces("My neighbour at 12 Rue des Lilas keeps the parcel for me every Tuesday")
    assert quotes("You said: my neighbour at 12 rue des lilas keeps the parcel for me.", long)
    assert not quotes("We will ask your neighbour about the parcel.", long)


def test_staff_are_warned_of_later_messages_that_quote_it_and_remove_them_in_one_click(client, staff):
    ticket = open_ticket(body=SECRET)
    first = ticket.thread.messages.get(seq=1)
    quoting = desk.staff_reply(ticket=ticket, staff=staff, body="Card 4111-1111-1111-1111 is blocked now.")
    other = desk.staff_reply(ticket=ticket, staff=staff, body="Anything else?")
    note = desk.staff_reply(ticket=ticket, staff=staff, body=f"They wrote '{SECRET}'", internal=True)

    html = _htmx(client, reverse("staff:message_redact", args=[first.pk]), {"reason": "Card number"}).content.decode()

    assert "2 later messages repeat what was removed" in html and "Remove these too" in html
    assert f'name="ids" value="{quoting.pk}"' in html and f'name="ids" value="{note.pk}"' in html
    assert f'value="{other.pk}"' not in html
    page = _htmx(client, reverse("staff:message_redact_quoting", args=[first.pk]), {"ids": [quoting.pk, note.pk]})
    assert page.status_code == 200
    assert "4111" not in page.content.decode() and "Anything else?" in page.content.decode()
    records = Redaction.objects.order_by("pk")
    assert [(r.message_id, r.reason, r.by) for r in records] == [
        (first.pk, "Card number", staff),
        (quoting.pk, "Card number", staff),
        (note.pk, "Card number", staff),
    ]
    assert not Message.objects.get(pk=other.pk).is_redacted


def test_remove_these_too_reaches_only_later_messages_of_the_same_ticket(client, staff):
    ticket, elsewhere = open_ticket(body="Call 0123456789"), open_ticket(body="Call 0123456789")
    first = ticket.thread.messages.get(seq=1)
    before = elsewhere.thread.messages.get(seq=1)
    desk.message_remove(ticket=ticket, message_id=first.pk, staff=staff, reason="Phone")
    _htmx(client, reverse("staff:message_redact_quoting", args=[first.pk]), {"ids": [before.pk, "junk"]})
    assert Redaction.objects.count() == 1 and not Message.objects.get(pk=before.pk).is_redacted
