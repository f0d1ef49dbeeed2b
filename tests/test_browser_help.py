"""The help center in a real browser: deflection while typing a new ticket, and a cited article
opened from the assistant's reply."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import browser as fixtures
from tests.factories import CustomerFactory, open_ticket
from tests.knowledge_base import make_knowledge_base
from tickets.models import Deflection, Ticket

chromium, live_server, open_as = fixtures.chromium, fixtures.live_server, fixtures.open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
