"""Live pages, honest states and the phone layout in a real browser (chromium via Playwright).

What another person does (a customer posting, another agent replying, changing the status)
reaches the open pages by the change feed (tickets/live.py, static/live.js) without a reload:
each test sets a JavaScript marker and checks it survived.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from assistants.models import Run
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOON = 6_000  # ms: the pages poll every 2 s, so 3 s is the aim; allow for a loaded machine


def set_marker(page) -> None:
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded or navigated away"


@pytest.fixture
def quiet(settings):
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.OFF


def test_a_customer_posts_and_the_agents_open_inbox_and_ticket_page_show_it(open_as, quiet):
    customer = CustomerFactory(first_name="Ada", username="ada@example.com")
    ticket = open_ticket(customer=customer, subject="Parcel stuck in Leeds", body="It has not moved.")
    agent = StaffFactory(first_name="Grace")

    inbox = open_as(agent)
    inbox.goto("/staff/")
    expect(inbox.get_by_role("link", name="Parcel stuck in Leeds")).to_be_visible()
    set_marker(inbox)
    ticket_page = open_as(agent)
    ticket_page.goto(f"/staff/tickets/{ticket.pk}/")
    set_marker(ticket_page)

    portal = open_as(customer)
    portal.goto(f"/portal/tickets/{ticket.pk}/")
    portal.fill("#reply-form textarea[name=message]", "It moved to Manchester overnight.")
    portal.locator("#reply-form").get_by_role("button", name="Send").click()
    expect(portal.locator(".portal-message-customer").filter(has_text="Manchester")).to_be_visible()

    expect(ticket_page.locator(".msg-customer").filter(has_text="Manchester")).to_be_visible(timeout=SOON)
    expect(inbox.locator("#ticket-list")).to_contain_text("It moved to Manchester", timeout=SOON)

    # A new ticket appears in the open inbox too, with the counts.
    open_ticket(customer=customer, subject="Invoice copy please", body="For March.")
    expect(inbox.get_by_role("link", name="Invoice copy please")).to_be_visible(timeout=SOON)
    expect(inbox.locator(".chip", has_text="All")).to_contain_text("2")
    assert_not_reloaded(inbox)
    assert_not_reloaded(ticket_page)
    expect(ticket_page.locator(".msg-customer")).to_have_count(2)  # shown once, not twice


def test_the_ticket_page_asks_one_endpoint_while_a_run_works(open_as, quiet):
    ticket = open_ticket(subject="Where is my parcel", body="No news since Monday.")
    run = Run.objects.create(thread=ticket.thread, provider="offline", trigger=Run.Trigger.STAFF)
    page = open_as(StaffFactory(first_name="Grace"))
    asked = []
    page.on("request", lambda r: asked.append(urlparse(r.url).path) if r.resource_type in ("fetch", "xhr") else None)
    page.goto(f"/staff/tickets/{ticket.pk}/")
    expect(page.locator("#run-status")).to_contain_text("Queued")

    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)
    expect(page.locator("#run-status")).to_contain_text("Thinking", timeout=SOON)
    page.wait_for_timeout(2_500)  # more than one poll interval
    assert asked and set(asked) == {f"/staff/tickets/{ticket.pk}/live/"}, asked


def test_another_agents_note_status_and_assignee_reach_the_open_ticket_page(open_as, quiet):
    ticket = open_ticket(subject="Broken lid", body="The lid is cracked.")
    grace, alan = StaffFactory(first_name="Grace"), StaffFactory(first_name="Alan")
    page = open_as(grace)
    page.goto(f"/staff/tickets/{ticket.pk}/")
    set_marker(page)

    services.staff_reply(ticket=ticket, staff=alan, body="Asked the courier for photos.", internal=True)
    services.ticket_update(
        ticket=Ticket.objects.get(pk=ticket.pk), by=alan, status=Ticket.Status.PENDING, assignee=alan
    )

    expect(page.locator(".msg-note").filter(has_text="courier for photos")).to_be_visible(timeout=SOON)
    expect(page.locator("#side-panel select[name=status]")).to_have_value("pending", timeout=SOON)
    expect(page.locator("#side-panel")).to_contain_text("Alan")
    assert_not_reloaded(page)


def test_two_agents_writing_on_one_ticket_see_that_the_other_is_replying(open_as, quiet):
    ticket = open_ticket(subject="Wrong size", body="I got an M, not an L.")
    grace, alan = (
        StaffFactory(first_name="Grace", last_name="Hopper"),
        StaffFactory(first_name="Alan", last_name="Turing"),
    )
    grace_page, alan_page = open_as(grace), open_as(alan)
    grace_page.goto(f"/staff/tickets/{ticket.pk}/")
    alan_page.goto(f"/staff/tickets/{ticket.pk}/")

    alan_page.locator("#composer textarea[name=body]").press_sequentially("We will send an L")
    expect(grace_page.locator("#presence")).to_contain_text("Alan Turing is writing a reply", timeout=SOON)
    expect(alan_page.locator("#presence")).not_to_contain_text("Alan")


def test_the_ticket_page_recovers_when_the_server_does_not_answer_for_a_while(open_as, quiet):
    ticket = open_ticket(subject="Lost parcel", body="Nothing arrived.")
    agent = StaffFactory()
    page = open_as(agent)
    page.goto(f"/staff/tickets/{ticket.pk}/")
    set_marker(page)
    # The server "restarts": its polls fail for a few seconds, then it answers again.
    page.route("**/live/**", lambda route: route.abort())
    page.wait_for_timeout(3_000)
    page.unroute("**/live/**")
    services.customer_reply(ticket=ticket, customer=ticket.customer, body="Still nothing today.")
    expect(page.locator(".msg-customer").filter(has_text="Still nothing today")).to_be_visible(timeout=15_000)
    assert_not_reloaded(page)


def test_the_customers_badge_follows_the_ticket_without_a_reload(open_as, quiet):
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Damaged box", body="The box arrived crushed.")
    agent = StaffFactory()
    page = open_as(customer)
    page.goto(f"/portal/tickets/{ticket.pk}/")
    expect(page.locator(".portal-status")).to_have_text("New")
    set_marker(page)

    services.staff_reply(ticket=ticket, staff=agent, body="We are sending a new one.")
    services.ticket_update(ticket=Ticket.objects.get(pk=ticket.pk), by=agent, status=Ticket.Status.RESOLVED)
    expect(page.locator(".portal-status")).to_have_text("Resolved", timeout=SOON)
    expect(page.locator(".portal-message-staff").filter(has_text="new one")).to_be_visible()

    # The customer's reply reopens it, and the badge says so.
    page.fill("#reply-form textarea[name=message]", "It did not arrive after all.")
    page.locator("#reply-form").get_by_role("button", name="Send").click()
    expect(page.locator(".portal-status")).to_have_text("Open", timeout=SOON)
    assert_not_reloaded(page)


PHONE = {"width": 390, "height": 844}


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_inbox_ticket_page_and_portal_fit_a_390_px_phone(open_as, quiet):
    customer = CustomerFactory(first_name="Ada")
    ticket = open_ticket(
        customer=customer, subject="A rather long subject about a parcel stuck in Leeds", body="x " * 200
    )
    open_ticket(customer=customer, subject="Invoice copy", body="Please send my invoice.")
    agent = StaffFactory(first_name="Grace")
    services.staff_reply(ticket=ticket, staff=agent, body="averyveryverylongwordwithoutanyspaces" * 3, internal=True)

    staff_page = open_as(agent)
    staff_page.set_viewport_size(PHONE)
    for url in ("/staff/", f"/staff/tickets/{ticket.pk}/", "/staff/dashboard/"):
        staff_page.goto(url)
        assert _overflow(staff_page) <= 390, f"{url} is {_overflow(staff_page)} px wide"
    portal = open_as(customer)
    portal.set_viewport_size(PHONE)
    for url in ("/portal/", f"/portal/tickets/{ticket.pk}/", "/portal/new/", "/help/"):
        portal.goto(url)
        assert _overflow(portal) <= 390, f"{url} is {_overflow(portal)} px wide"


def test_a_hidden_tab_polls_less_often(open_as, quiet):
    ticket = open_ticket(subject="Lost parcel", body="Nothing arrived.")
    agent = StaffFactory()
    visible, hidden = open_as(agent), open_as(agent)
    hidden.add_init_script("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'});")
    polls = {"visible": 0, "hidden": 0}
    visible.on("request", lambda r: polls.__setitem__("visible", polls["visible"] + ("/live/" in r.url)))
    hidden.on("request", lambda r: polls.__setitem__("hidden", polls["hidden"] + ("/live/" in r.url)))
    visible.goto(f"/staff/tickets/{ticket.pk}/")
    hidden.goto(f"/staff/tickets/{ticket.pk}/")
    visible.wait_for_timeout(7_000)
    assert polls["visible"] >= 2  # every 2 s
    assert polls["hidden"] <= 1  # every 15 s


def test_the_portal_page_polls_less_often_in_a_hidden_tab(open_as, quiet):
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Lost parcel", body="Nothing arrived.")
    visible, hidden = open_as(customer), open_as(customer)
    hidden.add_init_script("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'});")
    polls = {"visible": 0, "hidden": 0}
    visible.on("request", lambda r: polls.__setitem__("visible", polls["visible"] + ("/updates/" in r.url)))
    hidden.on("request", lambda r: polls.__setitem__("hidden", polls["hidden"] + ("/updates/" in r.url)))
    visible.goto(f"/portal/tickets/{ticket.pk}/")
    hidden.goto(f"/portal/tickets/{ticket.pk}/")
    visible.wait_for_timeout(7_000)
    assert polls["visible"] >= 2  # every 3 s while nobody is answering
    assert polls["hidden"] <= 1  # every 15 s


def test_the_portal_page_recovers_after_its_polls_failed(open_as, quiet):
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer, subject="Lost parcel", body="Nothing arrived.")
    page = open_as(customer)
    failed = []

    def down(route):  # the server restarting: connections refused
        failed.append(route.request.url)
        route.abort("connectionrefused")

    page.route("**/updates/**", down)
    page.goto(f"/portal/tickets/{ticket.pk}/")
    set_marker(page)
    page.wait_for_timeout(5_000)
    assert len(failed) >= 2  # it kept trying (1, 2, 4 ... s apart)
    page.unroute("**/updates/**")
    services.staff_reply(ticket=Ticket.objects.get(pk=ticket.pk), staff=StaffFactory(), body="Found it in Leeds.")
    expect(page.locator(".portal-message-staff").filter(has_text="Found it in Leeds")).to_be_visible(timeout=15_000)
    expect(page.locator("#portal-status")).to_have_text("Open")
    assert_not_reloaded(page)


def test_a_draft_another_agent_discards_changes_in_place_on_the_open_page(open_as, quiet):
    from assistants import services as assistant

    ticket = open_ticket(subject="Refund", body="Where is my refund?")
    draft = assistant.message_add(
        thread=ticket.thread, role="assistant", body="A suggested reply.", draft_state="draft"
    )
    grace, alan = StaffFactory(first_name="Grace"), StaffFactory(first_name="Alan")
    page = open_as(grace)
    page.goto(f"/staff/tickets/{ticket.pk}/")
    expect(page.locator(f"#msg-{draft.pk}.msg-draft")).to_be_visible()
    set_marker(page)

    services.draft_discard(message=draft, staff=alan)
    expect(page.locator(f"#msg-{draft.pk}.msg-discarded")).to_be_visible(timeout=SOON)
    expect(page.locator(f"#msg-{draft.pk}")).to_have_count(1)  # replaced where it was, not appended again
    expect(page.locator("#messages article")).to_have_count(2)
    assert_not_reloaded(page)
