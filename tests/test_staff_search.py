"""The inbox search: ticket references, customer names and emails, subjects and message text."""

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, open_ticket
from tickets import selectors
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    carol = CustomerFactory(username="carol.diaz@example.com", first_name="Carol", last_name="Diaz")
    bob = CustomerFactory(username="bob@shop.example", first_name="Bob", last_name="Stone")
    return {
        "carol": open_ticket(customer=carol, subject="Parcel stuck", body="It has not moved."),
        "bob": open_ticket(customer=bob, subject="Invoice copy", body="Please send order 4711 again."),
        # A fixed name: the factory's random first names include Carol, Caroline and Carolyn.
        "other": open_ticket(
            customer=CustomerFactory(first_name="Zed", last_name="Quill"),
            subject="Customs form",
            body="Which customs declaration do I need?",
        ),
    }


def found(client, q: str, **params) -> set[int]:
    response = client.get(reverse("staff:inbox"), {"q": q, **params})
    assert response.status_code == 200
    return {t.pk for t in response.context["page"].tickets}


@pytest.mark.parametrize("form", ["T-{pk}", "t-{pk}", "T{pk}", "#{pk}", "{pk}", " T-{pk} "])
def test_a_ticket_reference_finds_that_ticket(client, staff, desk, form):
    target = desk["bob"]
    assert found(client, form.format(pk=target.pk)) == {target.pk}


def test_a_reference_finds_the_ticket_whatever_its_status(client, staff, desk):
    Ticket.objects.filter(pk=desk["carol"].pk).update(status=Ticket.Status.RESOLVED)
    assert found(client, f"T-{desk['carol'].pk}") == {desk["carol"].pk}
    assert desk["carol"].pk not in found(client, "")  # the default view lists open tickets only


@pytest.mark.parametrize("q", ["carol", "Carol", "diaz", "Carol Diaz", "carol.diaz@example.com", "carol.d"])
def test_customer_names_and_emails_find_their_tickets(client, staff, desk, q):
    assert found(client, q) == {desk["carol"].pk}


def test_subjects_and_message_text_are_still_searched(client, staff, desk):
    assert found(client, "invoice") == {desk["bob"].pk}
    assert found(client, "customs") == {desk["other"].pk}
    assert found(client, "4711") == {desk["bob"].pk}  # a number: the reference or the text


def test_a_name_that_matches_nobody_finds_nothing(client, staff, desk):
    assert found(client, "zebulon") == set()


def test_reference_parsing():
    assert selectors.search_reference("T-6") == 6
    assert selectors.search_reference("#12") == 12
    assert selectors.search_reference("6") is None  # a bare number is searched as text too
    assert selectors.search_reference("T-six") is None


def test_search_keeps_the_inbox_query_count(client, staff, desk, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        client.get(reverse("staff:inbox"), {"q": "carol"})
