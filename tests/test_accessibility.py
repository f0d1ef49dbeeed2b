"""axe-core (npm, pinned in package-lock.json; `make test` installs it with npm ci) on every staff,
portal, help, registration and admin page in chromium: no serious or critical finding.

axe.min.js is added to each page by Playwright; the contexts bypass the CSP for that one script
(the pages' own CSP is checked in tests/test_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistants import services as assistant
from tests import browser as fixtures
from tests.factories import ArticleFactory, CustomerFactory, StaffFactory, open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture
def axe_page(chromium, live_server):
    """`axe_page(user)`: a page (own context, CSP bypassed for axe) signed in as `user` or anonymous."""
    if not AXE.exists():
        fixtures._unavailable(f"needs axe-core at {AXE} (make setup runs npm ci; apt-get install npm)")
    yield from fixtures.pages_as(chromium, live_server, bypass_csp=True)


def findings(page, url: str) -> list[str]:
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{url}: {v['impact']} {v['id']} ({v['help']}): {', '.join(n['target'][0] for n in v['nodes'][:3])}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture
def desk(settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.DRAFT
    customer = CustomerFactory(first_name="Ada")
    ticket = open_ticket(customer=customer, subject="Parcel stuck in Leeds", body="It has not moved.")
    resolved = open_ticket(customer=customer, subject="Refund", body="Where is my refund?")
    lead = StaffFactory(first_name="Grace", is_superuser=True)
    services.staff_reply(ticket=ticket, staff=lead, body="Looking into it.", internal=True)
    assistant.message_add(thread=ticket.thread, role="assistant", body="A draft reply for staff.", draft_state="draft")
    services.ticket_update(ticket=Ticket.objects.get(pk=resolved.pk), by=lead, status=Ticket.Status.RESOLVED)
    ArticleFactory(title="Refunds", slug="refunds", body="Refunds take five working days.")
    return {"customer": customer, "ticket": ticket, "resolved": resolved, "lead": lead}


def test_staff_and_admin_pages_have_no_serious_or_critical_findings(axe_page, desk):
    page = axe_page(desk["lead"])
    pk = desk["ticket"].pk
    urls = [
        "/staff/",
        f"/staff/tickets/{pk}/",
        "/staff/dashboard/",
        "/admin/",
        "/admin/tickets/ticket/",
        f"/admin/tickets/ticket/{pk}/change/",
        "/admin/assistants/thread/",
        "/admin/assistants/run/",
    ]
    problems = [f for url in urls for f in findings(page, url)]
    assert not problems, "\n".join(problems)


def test_portal_help_and_registration_pages_have_no_serious_or_critical_findings(axe_page, desk):
    page = axe_page(desk["customer"])
    urls = [
        "/portal/",
        "/portal/new/",
        f"/portal/tickets/{desk['ticket'].pk}/",
        f"/portal/tickets/{desk['resolved'].pk}/",
        "/help/",
        "/help/refunds/",
        "/help/search/?q=refund",
    ]
    problems = [f for url in urls for f in findings(page, url)]
    anonymous = axe_page(None)
    urls = ["/accounts/login/", "/portal/signup/", "/accounts/password_reset/", "/help/"]
    problems += [f for url in urls for f in findings(anonymous, url)]
    assert not problems, "\n".join(problems)
