"""Safety of the customer portal: only your own tickets, only public messages, CSRF on every POST."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from assistants import services as assistant
from assistants.models import Attachment, Message
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

INTERNAL_NOTE = "INTERNAL-NOTE-customer-is-a-known-fraudster"
DRAFT_TEXT = "UNAPPROVED-DRAFT-refund-of-5000-dollars"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner():
    return CustomerFactory()


@pytest.fixture
def ticket(owner):
    ticket = open_ticket(
        owner, files=[SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 hello", content_type="application/pdf")]
    )
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.RESOLVED)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def other_client(client):
    client.force_login(CustomerFactory())
    return client


def _portal_urls(ticket):
    attachment = Attachment.objects.get(message__thread=ticket.thread)
    return [
        ("get", reverse("portal:ticket", args=[ticket.pk])),
        ("get", reverse("portal:updates", args=[ticket.pk]) + "?after=0"),
        ("post", reverse("portal:reply", args=[ticket.pk])),
        ("post", reverse("portal:human", args=[ticket.pk])),
        ("post", reverse("portal:rate", args=[ticket.pk])),
        ("get", reverse("portal:attachment", args=[attachment.pk])),
    ]


def test_every_portal_url_answers_404_with_another_customers_ids(ticket, other_client):
    data = {"message": "let me in", "rating": "5.0"}
    for method, url in _portal_urls(ticket):
        response = getattr(other_client, method)(url, data) if method == "post" else other_client.get(url)
        assert response.status_code == 404, url
    ticket.refresh_from_db()
    assert not ticket.escalated
    assert ticket.feedback_rating is None
    assert ticket.thread.messages.count() == 1


def test_the_owner_reaches_every_portal_url(ticket, owner, client):
    client.force_login(owner)
    for method, url in _portal_urls(ticket):
        response = client.post(url, {"message": "thanks", "rating": "4.5"}) if method == "post" else client.get(url)
        # (the reply reopens the resolved ticket, so the rating after it is refused with a 422)
        assert response.status_code in (200, 302, 422), url


def test_staff_cannot_use_the_portal_on_a_customers_ticket(ticket, client):
    client.force_login(StaffFactory())
    assert client.get(reverse("portal:ticket", args=[ticket.pk])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(ticket, client):
    for method, url in _portal_urls(ticket):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_my_tickets_lists_only_my_own(ticket, owner, client):
    someone_elses = open_ticket(CustomerFactory(), subject="Someone else's secret subject")
    client.force_login(owner)
    page = client.get(reverse("portal:tickets")).content.decode()
    assert ticket.subject in page
    assert someone_elses.subject not in page


def _hide_things(ticket):
    staff = StaffFactory()
    services.staff_reply(ticket=ticket, staff=staff, body=INTERNAL_NOTE, internal=True)
    assistant.message_add(
        thread=ticket.thread, role=Message.Role.ASSISTANT, body=DRAFT_TEXT, draft_state=Message.DraftState.DRAFT
    )
    # The run engine's reply hook copies every reply, drafts too, into the staff preview.
    Ticket.objects.filter(pk=ticket.pk).update(last_message_preview=DRAFT_TEXT)


def test_internal_notes_and_drafts_never_reach_portal_pages_or_partials(owner, client):
    ticket = open_ticket(owner)
    _hide_things(ticket)
    client.force_login(owner)
    pages = [
        client.get(reverse("portal:tickets")),
        client.get(reverse("portal:ticket", args=[ticket.pk])),
        client.get(reverse("portal:updates", args=[ticket.pk]) + "?after=0", headers={"HX-Request": "true"}),
        client.post(
            reverse("portal:reply", args=[ticket.pk]),
            {"message": "hello?", "after": "0", "since": "0"},
            headers={"HX-Request": "true"},
        ),
    ]
    for response in pages:
        assert response.status_code == 200
        body = response.content.decode()
        assert INTERNAL_NOTE not in body
        assert DRAFT_TEXT not in body
    assert "Where is my parcel?" in pages[1].content.decode()


def test_attachments_of_internal_notes_are_not_downloadable_by_the_customer(owner, client):
    ticket = open_ticket(owner)
    note = services.staff_reply(
        ticket=ticket,
        staff=StaffFactory(),
        body="see the log",
        internal=True,
        files=[SimpleUploadedFile("secret.txt", b"internal", content_type="text/plain")],
    )
    attachment = note.attachments.get()
    client.force_login(owner)
    assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404
    page = client.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "secret.txt" not in page


def test_a_post_without_the_csrf_token_is_refused(ticket, owner):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    urls = [
        reverse("portal:new"),
        reverse("portal:reply", args=[ticket.pk]),
        reverse("portal:human", args=[ticket.pk]),
        reverse("portal:rate", args=[ticket.pk]),
    ]
    for url in urls:
        response = csrf_client.post(url, {"subject": "x", "message": "x", "rating": "5.0"})
        assert response.status_code == 403, url
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.thread.messages.count() == 1
    assert not ticket.escalated and ticket.feedback_rating is None


def test_a_post_with_the_token_from_hx_headers_is_accepted(ticket, owner):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    page = csrf_client.get(reverse("portal:ticket", args=[ticket.pk]))
    token = page.cookies["csrftoken"].value
    response = csrf_client.post(
        reverse("portal:reply", args=[ticket.pk]),
        {"message": "with a token"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
