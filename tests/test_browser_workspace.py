"""The staff workspace as a colleague, in a real browser (chromium via Playwright) with a real
Celery worker where a run has to happen: suggestions stay drafts, one pending draft per ticket,
keyboard shortcuts."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from assistants.models import Message, Run
from tests.factories import ArticleFactory, CustomerFactory, StaffFactory, open_ticket
from tests.worker import thread_report, wait_until
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 30_000  # ms
REFUNDS = "Refunds are paid back to the card you used within five working days of our approval."


@pytest.mark.worker
def test_ask_the_assistant_in_auto_mode_leaves_a_draft_the_customer_does_not_see(open_as, celery_worker):
    ArticleFactory(title="Refunds", slug="refunds", tags="refund", body=REFUNDS)
    celery_worker.start()
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Refund", body="How long does a refund take?")
    assert ticket.ai_mode == Ticket.AIMode.AUTO
    wait_until(lambda: not Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists(), message="run")
    published_before = Message.objects.public().filter(thread=ticket.thread).count()

    staff_page = open_as(StaffFactory())
    staff_page.goto(f"/staff/tickets/{ticket.pk}/")
    staff_page.get_by_role("button", name="Ask the assistant").click()
    draft = staff_page.locator(".msg-draft")
    expect(draft).to_be_visible(timeout=LIVE)
    expect(draft).to_contain_text("Draft by the assistant")

    suggestion = Message.objects.drafts().get(thread=ticket.thread)
    assert suggestion.run.trigger == Run.Trigger.STAFF
    assert Message.objects.public().filter(thread=ticket.thread).count() == published_before
    customer_page = open_as(customer)
    customer_page.goto(f"/portal/tickets/{ticket.pk}/")
    expect(customer_page.locator(".portal-message-customer")).to_be_visible()
    assert suggestion.body not in customer_page.content()


@pytest.mark.worker
def test_five_quick_customer_messages_on_a_held_ticket_leave_one_pending_draft(open_as, celery_worker, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.DRAFT
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Several questions", body="First question.")
    celery_worker.start()
    portal = open_as(customer)
    portal.goto(f"/portal/tickets/{ticket.pk}/")
    for i in range(5):
        portal.locator("textarea[name=message]").fill(f"And another thing, number {i}.")
        portal.get_by_role("button", name=re.compile("Send")).click()
        expect(portal.locator(".portal-message-customer").filter(has_text=f"number {i}")).to_be_visible()

    def settled():
        return not Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists() and not (
            Message.objects.filter(thread=ticket.thread, role=Message.Role.USER, answered_by__isnull=True).exists()
        )

    def report():
        return f"{thread_report(ticket.thread_id)}\n{celery_worker.log()}"

    wait_until(settled, timeout=60, message="every customer message answered", describe=report)
    assert Message.objects.drafts().filter(thread=ticket.thread).count() == 1
    staff_page = open_as(StaffFactory())
    staff_page.goto(f"/staff/tickets/{ticket.pk}/")
    expect(staff_page.locator(".msg-draft")).to_have_count(1)
    superseded = staff_page.locator(".msg-discarded").filter(has_text="superseded")
    assert (
        superseded.count() == Message.objects.filter(thread=ticket.thread, metadata__discard_code="superseded").count()
    )
    assert superseded.count() >= 1


def test_keyboard_moves_in_the_inbox_opens_and_never_fires_while_typing(open_as, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF
    customer = CustomerFactory()
    open_ticket(customer=customer, subject="Older parcel", body="one")
    newest = open_ticket(customer=customer, subject="Newest parcel", body="two")
    page = open_as(StaffFactory())
    page.goto("/staff/")
    expect(page.get_by_role("link", name="Newest parcel")).to_be_visible()

    # Typing j in the search box types a j: no shortcut fires.
    # (Each edit of the box searches: wait for its list to arrive, or it replaces the rows, and the
    # row picked below with them, after the keys were pressed.)
    page.locator("input[name=q]").click()
    with page.expect_response(lambda r: _searched(r.url) == "jk"):
        page.keyboard.type("jk")
    expect(page.locator("input[name=q]")).to_have_value("jk")
    expect(page.locator("[data-row].kb-current")).to_have_count(0)
    with page.expect_response(lambda r: _searched(r.url) == ""):
        page.locator("input[name=q]").fill("")
    page.locator("input[name=q]").blur()
    expect(page.get_by_role("link", name="Newest parcel")).to_be_visible()

    page.keyboard.press("j")
    current = page.locator("[data-row].kb-current")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Newest parcel")
    page.keyboard.press("j")
    expect(page.locator("[data-row].kb-current")).to_contain_text("Older parcel")
    page.keyboard.press("k")
    expect(page.locator("[data-row].kb-current")).to_contain_text("Newest parcel")
    page.keyboard.press("?")
    expect(page.locator("#kb-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#kb-help")).to_be_hidden()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/staff/tickets/{newest.pk}/")


def _searched(url: str) -> str | None:
    """The inbox search a request asked for (its q), None for any other request."""
    parts = urlsplit(url)
    if parts.path != "/staff/":
        return None
    return parse_qs(parts.query, keep_blank_values=True).get("q", [None])[0]


def test_a_approves_the_draft_from_the_keyboard_and_r_focuses_the_reply(open_as, drain, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.DRAFT
    ticket = open_ticket(subject="Parcel", body="Where is my parcel?")
    drain()
    draft = Message.objects.drafts().get(thread=ticket.thread)
    page = open_as(StaffFactory(first_name="Kim"))
    page.goto(f"/staff/tickets/{ticket.pk}/")
    expect(page.locator(".msg-draft")).to_be_visible()

    page.keyboard.press("r")
    expect(page.locator("#composer textarea[name=body]")).to_be_focused()
    page.keyboard.type("a note")  # typing "a" in the composer approves nothing
    expect(page.locator("#composer textarea[name=body]")).to_have_value("a note")
    assert Message.objects.get(pk=draft.pk).draft_state == Message.DraftState.DRAFT

    page.locator("#composer textarea[name=body]").blur()
    page.keyboard.press("e")
    expect(page.get_by_label("Draft reply")).to_be_focused()
    page.get_by_label("Draft reply").blur()
    page.keyboard.press("a")
    expect(page.locator(".msg-draft")).to_have_count(0)
    expect(page.locator(".msg-assistant").filter(has_text="approved by Kim")).to_be_visible()
    assert Message.objects.get(pk=draft.pk).draft_state == Message.DraftState.PUBLISHED


def test_d_discards_the_draft_from_the_keyboard(open_as, drain, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.DRAFT
    ticket = open_ticket(subject="Parcel", body="Where is my parcel?")
    drain()
    draft = Message.objects.drafts().get(thread=ticket.thread)
    page = open_as(StaffFactory())
    page.goto(f"/staff/tickets/{ticket.pk}/")
    expect(page.locator(".msg-draft")).to_be_visible()
    page.keyboard.press("d")
    expect(page.locator(".msg-draft")).to_have_count(0)
    assert Message.objects.get(pk=draft.pk).draft_state == Message.DraftState.DISCARDED


def test_slash_in_an_empty_reply_box_opens_the_saved_replies_and_inserts_one(open_as, settings):
    from tickets.models import CannedReply

    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF
    ticket = open_ticket(customer=CustomerFactory(first_name="Carol"), subject="Parcel", body="Where is it?")
    CannedReply.objects.create(title="Greeting", body="Hello {{ customer_first_name }}, about {{ ticket_reference }}:")
    CannedReply.objects.create(title="Customs forms", body="Customs need a form.")
    page = open_as(StaffFactory())
    page.goto(f"/staff/tickets/{ticket.pk}/")
    body = page.locator("#composer textarea[name=body]")
    body.click()
    page.keyboard.type("/")
    search = page.get_by_role("searchbox", name="Search saved replies")
    expect(search).to_be_focused()
    expect(body).to_have_value("")  # the slash opened the picker, it typed nothing
    search.fill("greet")
    expect(page.locator("#canned-results")).not_to_contain_text("Customs")
    page.keyboard.press("Enter")  # takes the first result, never sends the reply
    expect(body).to_have_value(f"Hello Carol, about {ticket.reference}:")
    expect(body).to_be_focused()
    expect(page.locator("#canned-picker")).to_have_count(0)
    assert CannedReply.objects.get(title="Greeting").usage_count == 1
    assert not Message.objects.filter(thread=ticket.thread, role=Message.Role.ASSISTANT).exists()
