"""Renders the main pages with demo data into docs/screenshots/ (1280x800). Not a check, and not
collected by the test run (its name does not start with test_): run it with `make screenshots`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from assistants.models import Message
from tests.browser import SCREENSHOTS_DIR
from tests.factories import ArticleFactory, CustomerFactory, StaffFactory, open_ticket
from tests.test_browser import REFUND_ARTICLE
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_screenshots_of_the_main_pages(open_as, settings, drain):
    """Not a check: renders the main pages with demo data into docs/screenshots/ (1280x800)."""
    for slug, title, body in [
        ("refunds", "Refunds", REFUND_ARTICLE),
        ("customs", "Customs fees", "Customs fees are set by the destination country and paid on delivery. "
         "The customs receipt shows the amount; keep it if you want to claim the fee back."),
        ("tracking", "Tracking a parcel", "Tracking updates when the parcel is scanned at a depot. A parcel that "
         "has not moved for three working days is checked by our team."),
    ]:  # fmt: skip
        ArticleFactory(title=title, slug=slug, body=body)
    lead = StaffFactory(username="grace@example.com", first_name="Grace", last_name="Hopper", is_superuser=True)
    agent = StaffFactory(username="linus@example.com", first_name="Linus", last_name="Berg")
    ada = CustomerFactory(username="ada@example.com", first_name="Ada", last_name="Lovelace")
    others = [CustomerFactory(username=f"{n.lower()}@example.com", first_name=n) for n in ("Bob", "Carla", "Deniz")]

    def opened(customer, subject, body, mode=Ticket.AIMode.AUTO):
        settings.HELPDESK_DEFAULT_AI_MODE = mode
        ticket = open_ticket(customer=customer, subject=subject, body=body)
        drain()
        return Ticket.objects.select_related("thread").get(pk=ticket.pk)

    invoice = opened(ada, "Invoice shows the wrong VAT number", "My invoice has the wrong VAT number.", "off")
    services.staff_reply(ticket=invoice, staff=agent, body="Fixed: the corrected invoice is in your account now.")
    services.ticket_update(ticket=invoice, by=agent, status=Ticket.Status.RESOLVED)
    services.ticket_rate(
        ticket=Ticket.objects.get(pk=invoice.pk), customer=ada, rating=Decimal("4.5"), comment="Quick, thanks!"
    )
    opened(ada, "Where is parcel 48213?", "Any update on my parcel? The tracking has not moved.")
    refund = opened(ada, "Refund for a returned parcel", "How long does a refund take to reach my card?")
    services.customer_reply(ticket=refund, customer=ada, body="Thanks! And will I get an email when it is sent?")
    drain()
    opened(others[1], "I want to talk to a human", "This is the third time my parcel is late. I want a person.")
    opened(others[2], "Damaged mug in parcel 51877", "The box was crushed and the mug inside is broken.", "off")
    customs = opened(others[0], "Customs fee for parcel 77120", "Why do I have to pay a customs fee?", "draft")
    services.staff_reply(
        ticket=customs, staff=agent, internal=True, body="Shipper forgot the customs paperwork; chase the warehouse."
    )
    services.ticket_update(ticket=customs, by=lead, assignee=agent, priority=Ticket.Priority.HIGH)

    # Spread the demo over the last days, so that ages, response times and the chart read naturally.
    now = timezone.now()
    for ticket, hours in zip(Ticket.objects.order_by("pk"), [200, 70, 26, 9, 5, 2]):
        back = timedelta(hours=hours * 0.8)
        Message.objects.filter(thread_id=ticket.thread_id).update(
            created_at=F("created_at") - back, published_at=F("published_at") - back
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=now - timedelta(hours=hours),
            updated_at=F("updated_at") - back,
            first_response_at=F("first_response_at") - back,
            resolved_at=F("resolved_at") - back,
        )

    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)

    def shoot(page, url, name, *, wait_for=None):
        page.goto(url)
        if wait_for:
            expect(page.locator(wait_for).first).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS_DIR / name), full_page=True, animations="disabled")

    portal = open_as(ada)
    shoot(portal, "/portal/", "portal-tickets.png", wait_for=".portal-tickets")
    shoot(portal, f"/portal/tickets/{refund.pk}/", "portal-conversation.png", wait_for=".portal-message-assistant")
    shoot(portal, "/portal/new/", "portal-new-ticket.png", wait_for="#open-form")
    staff = open_as(lead)
    shoot(staff, "/staff/", "staff-inbox.png", wait_for="#ticket-list")
    shoot(staff, f"/staff/tickets/{customs.pk}/", "staff-ticket.png", wait_for=".msg-draft")
    shoot(staff, "/staff/dashboard/", "staff-dashboard.png")
    shoot(staff, "/admin/tickets/ticket/", "admin-tickets.png", wait_for="#result_list")
