"""The change feed behind the live pages (tickets/live.py, tickets/views/live.py): what writes a
change and what does not, what a poll costs when nothing changed, and what it sends when
something did."""

from __future__ import annotations

import re

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assistants.models import Run
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets import live, services
from tickets.models import LiveChange, Ticket

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF


def _cursor(html: str) -> int:
    return int(re.search(r"since=(\d+)", html).group(1))


def _ticket_poll(client, ticket, since, after=0, typing=""):
    url = reverse("staff:ticket_live", args=[ticket.pk])
    return client.get(url, {"since": since, "after": after, "typing": typing}, headers=HTMX)


# --- what writes a change ----------------------------------------------------------------------


def test_a_customer_message_a_status_change_and_a_new_ticket_each_write_a_change():
    ticket = open_ticket()
    start = live.latest_change()
    assert start > 0  # the new ticket
    services.customer_reply(ticket=ticket, customer=ticket.customer, body="Any news?")
    message = ticket.thread.messages.order_by("-seq").first()
    assert LiveChange.objects.filter(id__gt=start, ticket_id=ticket.pk, message_id=message.pk).exists()
    middle = live.latest_change()
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.PENDING)  # a queryset update too
    assert live.ticket_changes(ticket.pk, after=middle)[0] > middle


def test_writes_nobody_sees_write_no_change():
    ticket = open_ticket()
    run = Run.objects.create(thread=ticket.thread, provider="offline")
    start = live.latest_change()
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now(), lease_token="abc", steps=F("steps") + 1)
    ticket.thread.messages.update(sync_state="synced")
    assert live.latest_change() == start


def test_prune_keeps_the_newest_change():
    open_ticket()
    open_ticket()
    newest = live.latest_change()
    LiveChange.objects.update(created_at=timezone.now() - live.KEEP * 2)
    live.prune()
    assert list(LiveChange.objects.values_list("id", flat=True)) == [newest]


# --- the staff polls ---------------------------------------------------------------------------


def test_the_inbox_poll_costs_two_queries_when_nothing_changed_and_sends_the_list_when_something_did(
    client, staff, django_assert_num_queries
):
    ticket = open_ticket(subject="Parcel stuck")
    since = _cursor(client.get(reverse("staff:inbox")).content.decode())
    url = reverse("staff:inbox_live")
    with django_assert_num_queries(2):  # the user (the session is cached), the feed's newest id
        assert client.get(url, {"since": since}, headers=HTMX).status_code == 204

    services.customer_reply(ticket=ticket, customer=ticket.customer, body="It moved to Leeds.")
    response = client.get(url, {"since": since, "status": "all"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="ticket-list" class="ticket-list" hx-swap-oob="true"' in html
    assert "It moved to Leeds." in html
    assert _cursor(html) == live.latest_change() > since


def test_the_ticket_poll_costs_two_queries_when_nothing_changed_on_its_ticket(client, staff, django_assert_num_queries):
    ticket, other = open_ticket(), open_ticket()
    since = _cursor(client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode())
    services.customer_reply(ticket=other, customer=other.customer, body="Another ticket's news")
    with django_assert_num_queries(2):  # the user, this ticket's changes after the cursor
        assert _ticket_poll(client, ticket, since, after=1).status_code == 204


def test_the_ticket_poll_sends_another_agents_note_and_the_changed_side_panel(client, staff):
    ticket = open_ticket()
    since = _cursor(client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode())
    alan = StaffFactory(first_name="Alan")
    services.staff_reply(ticket=ticket, staff=alan, body="Called the courier.", internal=True)
    services.ticket_update(ticket=Ticket.objects.get(pk=ticket.pk), by=alan, status=Ticket.Status.ON_HOLD)

    html = _ticket_poll(client, ticket, since, after=1).content.decode()
    assert 'hx-swap-oob="beforeend:#messages"' in html
    assert "Called the courier." in html
    assert '<aside id="side-panel" class="side-panel" hx-swap-oob="true">' in html
    assert '<option value="on_hold" selected>' in html
    assert 'id="run-status"' in html
    assert f"after={ticket.thread.messages.count()}" in html  # the message cursor moved on
    assert _cursor(html) > since


def test_the_ticket_page_polls_once_while_a_run_works_and_the_feed_carries_the_run(client, staff):
    ticket = open_ticket()
    run = Run.objects.create(thread=ticket.thread, provider="offline", trigger=Run.Trigger.STAFF)
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Queued" in page and reverse("staff:run_stop", args=[run.pk]) in page
    # one polling element (the live feed, static/live.js); nothing else polls, the run status neither
    assert page.count("data-live-url=") == 1
    assert "hx-trigger" not in page and reverse("staff:run_status", args=[ticket.pk]) not in page

    since = _cursor(page)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)
    html = _ticket_poll(client, ticket, since, after=1).content.decode()
    status = html[html.index('<div id="run-status"') :]
    assert 'hx-swap-oob="true"' in status[:200] and "Thinking" in status
    assert "hx-trigger" not in html and reverse("staff:run_status", args=[ticket.pk]) not in html

    since = _cursor(html)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, error_message="Quota exceeded")
    html = _ticket_poll(client, ticket, since, after=1).content.decode()
    assert "Assistant run <strong>failed</strong>: Quota exceeded" in html
    assert reverse("staff:run_retry", args=[run.pk]) in html


def test_someone_else_writing_shows_on_the_ticket_page_and_goes_when_they_send(client, staff):
    ticket = open_ticket()
    since = live.latest_change()
    alan_client = Client()
    alan = StaffFactory(first_name="Alan", last_name="Turing")
    alan_client.force_login(alan)
    assert alan_client.post(reverse("staff:typing", args=[ticket.pk])).status_code == 204

    html = _ticket_poll(client, ticket, since).content.decode()
    assert "Alan Turing is writing a reply on this ticket." in html
    assert "typing=Alan%20Turing" in html
    assert _ticket_poll(client, ticket, since, typing="Alan Turing").status_code == 204  # already shown
    assert "Alan Turing" not in _ticket_poll(alan_client, ticket, since).content.decode()  # not to himself

    alan_client.post(reverse("staff:typing", args=[ticket.pk]), {"stopped": "1"})
    html = _ticket_poll(client, ticket, since, typing="Alan Turing").content.decode()
    assert "is writing" not in html


def test_customers_cannot_poll_the_staff_feeds():
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer)
    client = Client()
    client.force_login(customer)
    assert client.get(reverse("staff:inbox_live"), {"since": 0}).status_code == 403
    assert _ticket_poll(client, ticket, 0).status_code == 403
    assert client.post(reverse("staff:typing", args=[ticket.pk])).status_code == 403


def test_bad_cursors_are_read_as_zero_not_a_500(client, staff):
    ticket = open_ticket()
    assert client.get(reverse("staff:inbox_live"), {"since": "x"}, headers=HTMX).status_code == 200
    assert _ticket_poll(client, ticket, "-5", after="zz").status_code == 200


# --- the portal's poll -------------------------------------------------------------------------


def test_the_portal_poll_costs_two_queries_when_nothing_changed_and_never_shows_an_internal_note(
    django_assert_num_queries,
):
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer)
    client = Client()
    client.force_login(customer)
    page = client.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    change = int(re.search(r"change=(\d+)", page).group(1))
    url = reverse("portal:updates", args=[ticket.pk])
    with django_assert_num_queries(2):  # the user, then the ticket (theirs?) with "changed since?"
        assert client.get(url, {"after": 1, "change": change}, headers=HTMX).status_code == 204

    services.staff_reply(ticket=ticket, staff=StaffFactory(), body="Secret courier number 42", internal=True)
    services.ticket_update(ticket=Ticket.objects.get(pk=ticket.pk), by=StaffFactory(), status=Ticket.Status.PENDING)
    html = client.get(url, {"after": 1, "change": change}, headers=HTMX).content.decode()
    assert 'id="portal-status" class="portal-status portal-status-pending" hx-swap-oob="true"' in html
    assert "Secret courier" not in html
    other = open_ticket()
    assert client.get(reverse("portal:updates", args=[other.pk]), {"change": 0}).status_code == 404
