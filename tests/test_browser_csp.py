"""The pages people use, under the Content-Security-Policy, in a real browser: htmx still swaps,
polls and posts, and chromium reports no CSP violation (console or securitypolicyviolation)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests import browser as fixtures
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets.models import Ticket

chromium, live_server, open_as = fixtures.chromium, fixtures.live_server, fixtures.open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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
    lead = StaffFactory(first_name="Grace")
    lead.groups.add(Group.objects.get(name="Support lead"))

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
