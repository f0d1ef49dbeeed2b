"""Uploads: size and type limits before anything is stored; downloads only through the access check."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assistants.models import Attachment, Message
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_MAX_UPLOAD_BYTES = 1024


def _pdf(name="invoice.pdf", size=100):
    return SimpleUploadedFile(name, b"%PDF" + b"x" * (size - 4), content_type="application/pdf")


def test_a_ticket_opens_with_its_attachments(portal, customer):
    response = portal.post(
        reverse("portal:new"), {"subject": "Invoice", "message": "See attached", "attachments": [_pdf(), _pdf("b.pdf")]}
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(customer=customer)
    names = sorted(Attachment.objects.filter(message__thread=ticket.thread).values_list("filename", flat=True))
    assert names == ["b.pdf", "invoice.pdf"]
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "invoice.pdf" in page


@pytest.mark.parametrize(
    "upload, error",
    [
        (_pdf(size=2048), "too large"),
        (SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream"), "not accepted"),
        (SimpleUploadedFile("page.html", b"<script>", content_type="text/html"), "not accepted"),
        (SimpleUploadedFile("fake.pdf", b"<html>", content_type="text/html"), "not accepted"),
    ],
)
def test_a_rejected_upload_is_a_form_error_and_leaves_no_ticket_and_no_message(portal, upload, error):
    response = portal.post(
        reverse("portal:new"), {"subject": "s", "message": "m", "attachments": [upload]}, headers=HTMX
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#open-form"
    assert error in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()


def test_a_rejected_upload_on_a_reply_stores_nothing(portal, customer):
    ticket = open_ticket(customer)
    response = portal.post(
        reverse("portal:reply", args=[ticket.pk]), {"message": "here", "attachments": [_pdf(size=4096)]}, headers=HTMX
    )
    assert response.status_code == 422
    assert "too large" in response.content.decode()
    assert ticket.thread.messages.count() == 1
    assert not Attachment.objects.exists()


def test_the_service_rejects_an_oversized_upload_atomically(customer):
    # The form checks first; the service checks again, inside its transaction.
    with pytest.raises(Exception, match="too large"):
        services.ticket_open(customer=customer, subject="s", body="b", files=[_pdf(size=4096)])
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()


def test_the_owner_downloads_an_attachment_as_a_file_with_nosniff(portal, customer):
    ticket = open_ticket(customer, files=[_pdf()])
    attachment = Attachment.objects.get(message__thread=ticket.thread)
    response = portal.get(reverse("portal:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="invoice.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_another_customer_cannot_download_it(client, customer):
    ticket = open_ticket(customer, files=[_pdf()])
    attachment = Attachment.objects.get(message__thread=ticket.thread)
    client.force_login(CustomerFactory())
    assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404


def test_a_missing_attachment_id_is_404(portal):
    assert portal.get(reverse("portal:attachment", args=[999999])).status_code == 404


def test_staff_download_any_attachment_internal_ones_too(client, customer):
    ticket = open_ticket(customer, files=[_pdf()])
    staff = StaffFactory()
    note = services.staff_reply(
        ticket=ticket,
        staff=staff,
        body="log",
        internal=True,
        files=[SimpleUploadedFile("debug.log", b"trace", content_type="text/plain")],
    )
    client.force_login(staff)
    for attachment in Attachment.objects.filter(message__thread=ticket.thread):
        assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 200
    assert note.attachments.exists()


def test_an_attachment_of_an_unapproved_draft_is_not_downloadable_by_the_customer(portal, customer):
    ticket = open_ticket(customer)
    from assistants import services as assistant

    draft = assistant.message_add(
        thread=ticket.thread, role=Message.Role.ASSISTANT, body="draft", draft_state=Message.DraftState.DRAFT
    )
    attachment = Attachment.objects.create(
        message=draft, file=_pdf(), filename="draft.pdf", content_type="application/pdf", size=100
    )
    assert portal.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404


def test_a_file_gone_from_disk_is_404_not_500(portal, customer):
    ticket = open_ticket(customer, files=[_pdf()])
    attachment = Attachment.objects.get(message__thread=ticket.thread)
    attachment.file.storage.delete(attachment.file.name)
    assert portal.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404


def test_attachments_are_not_served_from_media_url(settings):
    assert not settings.MEDIA_URL
