"""Saved (canned) replies: placeholders, usage counting, who may see and manage which."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from assistants.models import Message, Run
from tests.factories import ArticleFactory, CustomerFactory, StaffFactory, open_ticket
from tickets import canned
from tickets.models import CannedReply

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return open_ticket(customer=CustomerFactory(first_name="Carol"), subject="Parcel", body="Where is it?")


def test_placeholders_are_filled_in_for_the_ticket(ticket, settings):
    settings.SITE_URL = "https://help.example"
    agent = StaffFactory(first_name="Dana")
    article = ArticleFactory(title="Tracking a parcel", slug="tracking")
    # The assistant's published reply cited the article (its run is the ticket's queued one).
    ticket.thread.messages.create(
        seq=99,
        role=Message.Role.ASSISTANT,
        body="See the article.",
        draft_state=Message.DraftState.PUBLISHED,
        run=Run.objects.get(thread=ticket.thread),
        metadata={"citations": [{"article_id": article.pk, "slug": "tracking", "title": "Tracking a parcel"}]},
    )
    reply = CannedReply.objects.create(
        title="Hello",
        body="Hi {{ customer_first_name }}, about {{ticket_reference}}: {{ last_article }}. {{ agent_name }}",
    )
    text = canned.canned_use(canned=reply, ticket=ticket, staff=agent)
    assert text == (
        f"Hi Carol, about {ticket.reference}: Tracking a parcel "
        f"(https://help.example{reverse('help:article', args=['tracking'])}). Dana"
    )


def test_a_placeholder_without_a_value_stays_visible(ticket):
    ticket.customer.first_name = ""
    ticket.customer.save()
    reply = CannedReply.objects.create(title="x", body="Hi {{ customer_first_name }}, see {{ last_article }}")
    text = canned.canned_use(canned=reply, ticket=ticket, staff=StaffFactory())
    assert text == "Hi {{ customer_first_name }}, see {{ last_article }}"


def test_text_is_not_a_template(ticket):
    reply = CannedReply.objects.create(
        title="x", body="{% debug %} {{ settings.SECRET_KEY }} <b>bold</b> {{ ticket_reference }}"
    )
    text = canned.canned_use(canned=reply, ticket=ticket, staff=StaffFactory())
    assert text == f"{{% debug %}} {{{{ settings.SECRET_KEY }}}} <b>bold</b> {ticket.reference}"


def test_saving_an_unknown_placeholder_is_an_error():
    with pytest.raises(ValidationError, match="Unknown placeholder: customer_name"):
        canned.canned_create(by=StaffFactory(), title="x", body="Hi {{ customer_name }}")
    assert not CannedReply.objects.exists()


def test_the_form_shows_the_unknown_placeholder_in_place(client, staff):
    response = client.post(reverse("staff:canned_new"), {"title": "x", "body": "Hi {{ nme }}"})
    assert response.status_code == 422
    assert "Unknown placeholder: nme" in response.content.decode()
    assert not CannedReply.objects.exists()


def test_every_use_is_counted(client, staff, ticket):
    reply = canned.canned_create(by=staff, title="Thanks", body="Thanks {{ customer_first_name }}!")
    url = reverse("staff:canned_use", args=[ticket.pk, reply.pk])
    for _ in range(3):
        response = client.post(url)
        assert response.status_code == 200
    assert response.content.decode() == "Thanks Carol!"
    reply.refresh_from_db()
    assert reply.usage_count == 3 and reply.last_used_at is not None


def test_the_picker_searches_shared_and_own_replies_only(client, staff, ticket):
    CannedReply.objects.create(title="Refund policy", body="Refunds take five days.")
    canned.canned_create(by=staff, title="My refund note", body="I checked your refund.")
    canned.canned_create(by=StaffFactory(), title="Someone else's refund", body="Private.")
    CannedReply.objects.create(title="Customs", body="Customs forms.")
    response = client.get(reverse("staff:canned_picker", args=[ticket.pk]), {"q": "refund", "results": "1"})
    page = response.content.decode()
    assert "Refund policy" in page and "My refund note" in page
    assert "Someone else" not in page and "Customs" not in page


def test_someone_elses_personal_reply_cannot_be_used(client, staff, ticket):
    private = canned.canned_create(by=StaffFactory(), title="Mine", body="Private.")
    assert client.post(reverse("staff:canned_use", args=[ticket.pk, private.pk])).status_code == 404
    private.refresh_from_db()
    assert private.usage_count == 0


def test_an_agent_manages_their_own_replies_but_not_shared_ones(client, staff):
    shared = CannedReply.objects.create(title="Shared", body="For all.")
    own = canned.canned_create(by=staff, title="Own", body="Mine.")
    assert client.post(reverse("staff:canned_edit", args=[shared.pk]), {"title": "x", "body": "y"}).status_code == 403
    assert client.post(reverse("staff:canned_delete", args=[shared.pk])).status_code == 403
    assert client.post(reverse("staff:canned_new"), {"title": "s", "body": "b", "shared": "on"}).status_code == 403
    assert (
        client.post(reverse("staff:canned_edit", args=[own.pk]), {"title": "Own 2", "body": "Mine."}).status_code == 302
    )
    assert CannedReply.objects.get(pk=own.pk).title == "Own 2"
    assert client.post(reverse("staff:canned_delete", args=[own.pk])).status_code == 302
    assert CannedReply.objects.filter(pk=shared.pk).exists() and not CannedReply.objects.filter(pk=own.pk).exists()
    with pytest.raises(PermissionDenied):
        canned.canned_create(by=staff, title="s", body="b", shared=True)


def test_a_lead_manages_shared_replies(client, lead):
    response = client.post(reverse("staff:canned_new"), {"title": "Welcome", "body": "Hi!", "shared": "on"})
    assert response.status_code == 302
    shared = CannedReply.objects.get(title="Welcome")
    assert shared.shared
    assert (
        client.post(reverse("staff:canned_edit", args=[shared.pk]), {"title": "Welcome!", "body": "Hi."}).status_code
        == 302
    )
    assert client.get(reverse("staff:canned")).status_code == 200
    assert client.post(reverse("staff:canned_delete", args=[shared.pk])).status_code == 302
    assert not CannedReply.objects.exists()


def test_customers_cannot_reach_saved_replies(ticket):
    customer = Client()
    customer.force_login(ticket.customer)
    reply = CannedReply.objects.create(title="x", body="y")
    assert customer.get(reverse("staff:canned")).status_code == 403
    assert customer.post(reverse("staff:canned_use", args=[ticket.pk, reply.pk])).status_code == 403


def test_the_admin_refuses_an_unknown_placeholder(admin_client):
    response = admin_client.post(reverse("admin:tickets_cannedreply_add"), {"title": "x", "body": "{{ oops }}"})
    assert response.status_code == 200
    assert "Unknown placeholder: oops" in response.content.decode()
    assert not CannedReply.objects.exists()
