"""The portal and the workspace in a real browser (chromium via Playwright) against a live server.

The assistant's replies come from a real Celery worker process (tests/worker.py), so the page
has to pick them up by itself: each test sets a JavaScript marker on the page and checks that it
survived, which proves the text arrived without a reload.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from assistants.models import Message
from tests.factories import ArticleFactory, CustomerFactory, StaffFactory, open_ticket
from tests.knowledge_base import make_knowledge_base
from tests.worker import wait_until
from tickets import services
from tickets.models import Deflection, Ticket

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

    staff_page = open_as(StaffFactory(first_name="Dana", last_name="Reyes"))
    staff_page.goto(f"/staff/tickets/{ticket.pk}/")
    edited = "Your refund of 42 EUR was approved today; it reaches your card within five working days."
    staff_page.get_by_label("Draft reply").fill(edited)
    staff_page.get_by_role("button", name="Approve and send").click()
    sent = staff_page.locator(".msg-assistant").filter(has_text="42 EUR")
    expect(sent).to_be_visible()
    expect(sent).to_contain_text("Drafted by the assistant, edited by Dana Reyes")
    expect(staff_page.locator(".msg-draft")).to_have_count(0)

    # The open portal page polls while a person is expected to answer; the approval arrives live,
    # under the name of the agent who sent it.
    published = customer_page.locator(".portal-message-staff")
    expect(published).to_contain_text("42 EUR was approved today", timeout=LIVE)
    expect(published.locator(".portal-message-meta")).to_contain_text("Dana")
    expect(customer_page.locator(".portal-message-assistant")).to_have_count(0)
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
    expect(page.locator("input[name=rating]")).to_have_count(5)  # whole stars unless the setting asks for halves
    page.locator("input[name=rating][value='4']").check()
    page.fill("textarea[name=comment]", "Quick and friendly.")
    page.locator(".portal-rate").get_by_role("button", name="Rate").click()
    expect(page.get_by_text("Thank you for your feedback.")).to_be_visible()
    expect(page.locator(".portal-rate").get_by_role("button", name="Update rating")).to_be_visible()
    expect(page.locator("input[name=rating][value='4']")).to_be_checked()  # the saved value shows

    ticket.refresh_from_db()
    assert ticket.feedback_rating == Decimal("4")
    assert ticket.feedback_comment == "Quick and friendly."


# --- the help center: deflection while typing, a cited article opened from a reply ---------------


def test_matching_articles_appear_while_typing_and_this_solved_it_sends_no_ticket(open_as):
    make_knowledge_base()
    customer = CustomerFactory()
    page = open_as(customer)
    page.goto("/portal/new/")
    page.fill("input[name=subject]", "Refund")
    page.locator("textarea[name=message]").press_sequentially("how long until my money is back on my card", delay=5)
    suggestion = page.locator(".help-suggestion", has_text="How refunds work")
    expect(suggestion).to_be_visible()
    suggestion.locator("summary").click()
    expect(suggestion).to_contain_text("5 business days")
    suggestion.get_by_role("button", name="This solved it").click()
    expect(page.locator(".help-deflected")).to_contain_text("No ticket was sent")
    assert Deflection.objects.filter(customer=customer, article__slug="refunds").count() == 1
    assert not Ticket.objects.filter(customer=customer).exists()


def test_a_customer_opens_the_cited_article_from_the_assistants_reply(open_as, drain):
    make_knowledge_base()
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Refund", body="How long does a refund take to reach my card?")
    drain()
    page = open_as(customer)
    page.goto(f"/portal/tickets/{ticket.pk}/")
    reply = page.locator(".portal-message-assistant")
    expect(reply).to_contain_text("5 business days")
    with page.expect_popup() as opened:
        reply.get_by_role("link", name="How refunds work").click()
    article = opened.value
    article.wait_for_load_state()
    assert re.search(r"/help/refunds/$", article.url)
    expect(article.get_by_role("heading", name="How refunds work")).to_be_visible()
    expect(article.locator(".help-body h2", has_text="How long a refund takes")).to_be_visible()


# --- under the Content-Security-Policy ----------------------------------------------------------
# The pages people use, in a real browser: htmx still swaps, polls and posts, and chromium reports
# no CSP violation (console or securitypolicyviolation event).

# Runs before any page script (Playwright injects it, the CSP does not apply to it).
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def watched(page):
    """The page, recording CSP violations: console errors that name the policy, and events."""
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.console_errors = []
    page.on(
        "console",
        lambda m: page.console_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page


def violations(page) -> list[str]:
    return page.console_errors + page.evaluate("window.__csp || []")


def test_inbox_ticket_page_and_admin_work_under_the_csp(open_as, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF
    customer = CustomerFactory(first_name="Ada")
    ticket = open_ticket(customer=customer, subject="Parcel stuck in Leeds", body="It has not moved for days.")
    open_ticket(customer=customer, subject="Invoice copy", body="Please send my invoice.")
    # A superuser: transactional tests flush the roles the migrations made.
    lead = StaffFactory(first_name="Grace", is_superuser=True)

    page = watched(open_as(lead))
    page.goto("/staff/")
    expect(page.get_by_role("link", name="Parcel stuck in Leeds")).to_be_visible()
    page.fill("input[name=q]", "invoice")  # htmx swaps the list after a pause
    expect(page.get_by_role("link", name="Parcel stuck in Leeds")).to_have_count(0)
    expect(page.get_by_role("link", name="Invoice copy")).to_be_visible()

    page.goto(f"/staff/tickets/{ticket.pk}/")
    page.get_by_role("button", name="Assign to me").click()  # hx-post with hx-vals
    expect(page.locator("#side-panel")).to_contain_text("Grace")
    page.locator("#composer textarea[name=body]").fill("We are looking into it.")
    page.locator("#composer").get_by_role("button", name="Send").click()
    expect(page.locator(".msg-staff").filter(has_text="looking into it")).to_be_visible()

    page.goto("/staff/dashboard/")
    expect(page.locator("svg.bar").first).to_be_visible()
    page.goto("/admin/tickets/ticket/")
    expect(page.get_by_role("link", name=ticket.reference)).to_be_visible()
    page.goto(f"/admin/tickets/ticket/{ticket.pk}/change/")
    expect(page.locator("#ticket_form")).to_be_visible()
    assert violations(page) == []


def test_the_portal_works_under_the_csp(open_as, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Damaged box", body="The box arrived crushed.")

    anonymous = watched(open_as(None))
    anonymous.goto("/accounts/login/")
    anonymous.goto("/portal/signup/")
    expect(anonymous.get_by_role("heading", name="Create an account")).to_be_visible()
    assert violations(anonymous) == []

    page = watched(open_as(customer))
    page.goto(f"/portal/tickets/{ticket.pk}/")
    page.evaluate("window.__marker = 1")
    page.fill("#reply-form textarea[name=message]", "Photos are attached in my next message.")
    page.locator("#reply-form").get_by_role("button", name="Send").click()  # htmx post, swapped in place
    expect(page.locator(".portal-message-customer").filter(has_text="Photos are attached")).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "the reply reloaded the page"
    page.goto("/portal/new/")
    page.fill("input[name=subject]", "")
    page.locator("#open-form").get_by_role("button", name="Send").click()  # 422 swapped in place
    page.goto("/portal/")
    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()
    assert violations(page) == []
