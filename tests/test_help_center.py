"""The public help center, deflection on the new-ticket form, the cited article under a reply, the
dashboard's assistant figures, the knowledge-base admin."""

from __future__ import annotations

import pytest
from django.core import mail
from django.template.defaultfilters import floatformat
from django.urls import reverse

from assistants.models import KnowledgeArticle, Message
from tests.factories import ArticleFactory, StaffFactory, open_ticket
from tickets.models import AssistantReply, Deflection

pytestmark = pytest.mark.django_db


def test_the_help_center_lists_published_articles_by_category(client, kb):
    ArticleFactory(slug="draft-article", title="Not yet", published=False)
    page = client.get(reverse("help:index")).content.decode()
    assert "Billing" in page and "How refunds work" in page and "Not yet" not in page


def test_an_article_page_renders_markdown_safely_and_links_its_translations(client, kb):
    KnowledgeArticle.objects.filter(slug="refunds").update(body="## Policy\n<script>x()</script> **fast**")
    page = client.get(reverse("help:article", args=["refunds"])).content.decode()
    assert "<h2>Policy</h2>" in page and "<strong>fast</strong>" in page
    assert "<script>x()" not in page and "&lt;script&gt;" in page
    assert reverse("help:article", args=["rueckerstattungen"]) in page


def test_an_unpublished_or_unknown_article_is_404(client, kb):
    KnowledgeArticle.objects.filter(slug="refunds").update(published=False)
    assert client.get(reverse("help:article", args=["refunds"])).status_code == 404
    assert client.get(reverse("help:article", args=["nope"])).status_code == 404


def test_search_uses_the_assistants_retrieval(client, kb):
    page = client.get(reverse("help:search"), {"q": "how do I get reimbursed"}).content.decode()
    assert "How refunds work" in page
    assert client.get(reverse("help:search"), {"q": "x" * 5000}).status_code == 200


def test_suggestions_follow_what_the_customer_types(portal, kb):
    response = portal.get(reverse("help:suggest"), {"subject": "Refund", "message": "how long until my money is back"})
    assert "How refunds work" in response.content.decode() and "This solved it" in response.content.decode()
    assert portal.get(reverse("help:suggest"), {"subject": "hi"}).content.decode().strip() == ""


def test_this_solved_it_counts_a_deflection_and_sends_no_ticket(portal, customer, kb):
    article = KnowledgeArticle.objects.get(slug="refunds")
    response = portal.post(reverse("help:deflect"), {"article": article.pk, "subject": "Refund", "message": "when?"})
    assert response.status_code == 200 and "No ticket was sent" in response.content.decode()
    deflection = Deflection.objects.get()
    assert deflection.article == article and deflection.customer == customer and deflection.query == "Refund when?"
    assert not customer.tickets.exists()
    assert portal.post(reverse("help:deflect"), {"article": "junk"}).status_code == 200  # counted, no article


def test_deflection_needs_a_customer_login(client, kb):
    assert client.post(reverse("help:deflect"), {"article": 1}).status_code == 302
    assert not Deflection.objects.exists()


def test_the_new_ticket_form_asks_for_suggestions_as_the_customer_types(portal):
    page = portal.get(reverse("portal:new")).content.decode()
    assert reverse("help:suggest") in page and "delay:400ms" in page


def _answered_ticket(drain, django_capture_on_commit_callbacks, customer=None):
    ticket = open_ticket(customer=customer, subject="Refund", body="How long does a refund take to reach my card?")
    with django_capture_on_commit_callbacks(execute=True):
        drain()
    return ticket


def test_the_cited_article_is_linked_under_the_reply_and_in_the_email(
    portal, customer, kb, drain, django_capture_on_commit_callbacks, jobs
):
    ticket = _answered_ticket(drain, django_capture_on_commit_callbacks, customer)
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert f'href="{reverse("help:article", args=["refunds"])}"' in page
    jobs.run()  # the reply's email is its own task
    sent = mail.outbox[-1]
    assert reverse("help:article", args=["refunds"]) in sent.body
    assert reverse("help:article", args=["refunds"]) in sent.alternatives[0][0]


def test_staff_see_the_confidence_and_the_candidate_articles(
    client, staff, kb, drain, django_capture_on_commit_callbacks
):
    ticket = _answered_ticket(drain, django_capture_on_commit_callbacks)
    reply = ticket.thread.messages.get(role=Message.Role.ASSISTANT)
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    # As the template rounds it (floatformat rounds 0.995 up; Python's format, on the float, down).
    assert f"confidence {floatformat(reply.metadata['confidence'], 2)}" in page
    assert "Assistant: answered" in page and reverse("help:article", args=["refunds"]) in page


def test_the_dashboard_shows_answer_rate_handoff_rate_csat_and_deflections(
    client, staff, kb, drain, django_capture_on_commit_callbacks
):
    _answered_ticket(drain, django_capture_on_commit_callbacks)
    escalated = open_ticket(subject="Person", body="Can I speak to somebody?")
    with django_capture_on_commit_callbacks(execute=True):
        drain()
    Deflection.objects.create(query="refund")
    assert sorted(AssistantReply.objects.values_list("outcome", flat=True)) == ["answered", "escalated"]
    d = client.get(reverse("staff:dashboard")).context["d"]
    assert (d.answer_rate, d.handoff_rate, d.deflections) == (0.5, 0.5, 1)
    page = client.get(reverse("staff:dashboard")).content.decode()
    assert 'id="deflections"' in page and "50%" in page
    assert escalated.pk


def test_saving_an_article_in_the_admin_queues_its_indexing(client, django_capture_on_commit_callbacks, monkeypatch):
    from assistants import tasks

    lead = StaffFactory(is_superuser=True)
    client.force_login(lead)
    queued = []
    monkeypatch.setattr(tasks.index_article, "delay", lambda pk: queued.append(pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:assistants_knowledgearticle_add"),
            {"title": "Lockers", "slug": "lockers", "language": "en", "translation_group": "", "category": "Pickup",
             "tags": "locker", "published": "on", "body": "## Lockers\nOpen a locker with the code."},
        )  # fmt: skip
    assert response.status_code == 302
    article = KnowledgeArticle.objects.get(slug="lockers")
    assert queued == [article.pk]
    tasks.index_article(article.pk)
    article.refresh_from_db()
    assert article.passages.count() == 1 and article.index_state in ("ready", "lexical")
    page = client.get(reverse("admin:assistants_knowledgearticle_change", args=[article.pk])).content.decode()
    assert article.get_index_state_display() in page and "Not used (offline assistant)" in page
