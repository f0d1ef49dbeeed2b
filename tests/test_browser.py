"""The portal and the workspace in a real browser (chromium via Playwright) against a live server.

The assistant's replies come from a real Celery worker process (tests/worker.py), so the page
has to pick them up by itself: each test sets a JavaScript marker on the page and checks that it
survived, which proves the text arrived without a reload.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from assistants.models import Message
from tests import browser as fixtures
from tests.browser import SCREENSHOTS_DIR
from tests.factories import ArticleFactory, CustomerFactory, StaffFactory, open_ticket
from tests.worker import wait_until
from tickets import services
from tickets.models import Ticket

# The browser fixtures, made visible to this module's tests.
chromium, live_server, open_as = fixtures.chromium, fixtures.live_server, fixtures.open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUND_ARTICLE = (
    "Refunds are paid back to the card you used within five working days of our approval. "
    "You will get an email with the refund reference as soon as it is on its way."
)
LIVE = 30_000  # ms: how long a page may take to show what a real worker produced


def set_marker(page) -> None:
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded or navigated away"


@pytest.mark.worker
def test_a_customer_opens_a_ticket_and_the_assistants_reply_appears_without_a_reload(open_as, celery_worker):
    ArticleFactory(title="Refunds", slug="refunds", tags="refund,money back", body=REFUND_ARTICLE)
    CustomerFactory(username="ada@example.com", first_name="Ada")

    page = open_as(None)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "ada@example.com")
    page.fill("input[name=password]", "pass12345")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()

    page.get_by_role("link", name="Open a ticket").click()
    page.fill("input[name=subject]", "Refund for a returned parcel")
    page.fill("textarea[name=message]", "How long does a refund take to reach my card?")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/portal/tickets/\d+/$"))
    # No worker runs yet: the run waits in the broker, and the page says the assistant works on it.
    expect(page.locator(".portal-answering")).to_be_visible()
    expect(page.locator(".portal-message-assistant")).to_have_count(0)
    set_marker(page)

    celery_worker.start()
    reply = page.locator(".portal-message-assistant")
    expect(reply).to_be_visible(timeout=LIVE)
    expect(reply).to_contain_text("five working days")
    expect(page.locator(".portal-answering")).to_have_count(0)
    assert_not_reloaded(page)


@pytest.mark.worker
def test_staff_approve_an_edited_draft_and_the_customer_sees_the_edited_text(open_as, celery_worker, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.DRAFT
    ArticleFactory(title="Refunds", slug="refunds", tags="refund", body=REFUND_ARTICLE)
    celery_worker.start()
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Refund please", body="How long does a refund take?")
    draft = wait_until(lambda: Message.objects.drafts().filter(thread=ticket.thread).first(), message="the draft")

    customer_page = open_as(customer)
    customer_page.goto(f"/portal/tickets/{ticket.pk}/")
    expect(customer_page.locator(".portal-message-customer")).to_be_visible()
    assert draft.body not in customer_page.content()  # an unapproved draft never reaches the portal
    set_marker(customer_page)

    staff_page = open_as(StaffFactory())
    staff_page.goto(f"/staff/tickets/{ticket.pk}/")
    edited = "Your refund of 42 EUR was approved today; it reaches your card within five working days."
    staff_page.get_by_label("Draft reply").fill(edited)
    staff_page.get_by_role("button", name="Approve and send").click()
    expect(staff_page.locator(".msg-assistant").filter(has_text="42 EUR")).to_be_visible()
    expect(staff_page.locator(".msg-draft")).to_have_count(0)

    # The open portal page polls while a person is expected to answer; the approval arrives live.
    published = customer_page.locator(".portal-message-assistant")
    expect(published).to_contain_text("42 EUR was approved today", timeout=LIVE)
    assert draft.body not in customer_page.content()
    assert_not_reloaded(customer_page)
    assert Message.objects.get(pk=draft.pk).body == edited


def test_an_internal_note_by_staff_never_reaches_the_customer(open_as, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Invoice address", body="Please fix the address on my invoice.")
    note = "Internal: this customer is a reseller, check invoice INV-4471 first."

    staff_page = open_as(StaffFactory())
    staff_page.goto(f"/staff/tickets/{ticket.pk}/")
    set_marker(staff_page)
    staff_page.locator("#composer textarea[name=body]").fill(note)
    staff_page.locator("#composer input[name=internal]").check()
    staff_page.locator("#composer").get_by_role("button", name="Send").click()
    expect(staff_page.locator(".msg-note").filter(has_text="INV-4471")).to_be_visible()
    assert_not_reloaded(staff_page)
    assert Message.objects.filter(thread=ticket.thread, visibility=Message.Visibility.INTERNAL).count() == 1

    customer_page = open_as(customer)
    customer_page.goto(f"/portal/tickets/{ticket.pk}/")
    expect(customer_page.locator(".portal-message-customer")).to_contain_text("fix the address")
    assert "INV-4471" not in customer_page.content()
    # The live poll from the very start of the thread: the customer's message, never the note.
    poll = customer_page.request.get(f"/portal/tickets/{ticket.pk}/updates/?after=0")
    assert poll.ok
    assert "fix the address" in poll.text()
    assert "INV-4471" not in poll.text()


def test_a_customer_rates_a_resolved_ticket(open_as, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Lost parcel", body="My parcel never arrived.")
    services.ticket_update(ticket=ticket, by=StaffFactory(), status=Ticket.Status.RESOLVED)

    page = open_as(customer)
    page.goto(f"/portal/tickets/{ticket.pk}/")
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    page.locator("input[name=rating][value='4.5']").check()
    page.fill("textarea[name=comment]", "Quick and friendly.")
    page.locator(".portal-rate").get_by_role("button", name="Rate").click()
    expect(page.get_by_text("Thank you for your feedback.")).to_be_visible()
    expect(page.locator(".portal-rate").get_by_role("button", name="Update rating")).to_be_visible()

    ticket.refresh_from_db()
    assert ticket.feedback_rating == Decimal("4.5")
    assert ticket.feedback_comment == "Quick and friendly."


@pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="set SCREENSHOTS=1 to refresh docs/screenshots/")
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
