"""Every staff URL refuses customers (403) and anonymous visitors (to the login page)."""

import pytest
from django.test import Client
from django.urls import reverse

from assistants.models import Message, Run
from tests.factories import CustomerFactory, open_ticket

pytestmark = pytest.mark.django_db


def _staff_urls():
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    message = ticket.thread.messages.get()
    t = [ticket.pk]
    return [
        ("get", reverse("staff:inbox")),
        ("get", reverse("staff:dashboard")),
        ("get", reverse("staff:ticket", args=t)),
        ("get", reverse("staff:run_status", args=t)),
        ("get", reverse("staff:inbox_live") + "?since=0"),
        ("get", reverse("staff:ticket_live", args=t) + "?since=0"),
        ("post", reverse("staff:typing", args=t)),
        ("get", reverse("staff:messages_older", args=t) + "?before=5"),
        ("post", reverse("staff:reply", args=t)),
        ("post", reverse("staff:ask_assistant", args=t)),
        ("post", reverse("staff:update", args=t)),
        ("post", reverse("staff:escalate", args=t)),
        ("post", reverse("staff:deescalate", args=t)),
        ("post", reverse("staff:draft_approve", args=[message.pk])),
        ("post", reverse("staff:draft_discard", args=[message.pk])),
        ("post", reverse("staff:run_retry", args=[run.pk])),
    ]


def test_a_customer_is_refused_on_every_staff_url_and_changes_nothing():
    customer = CustomerFactory()
    client = Client()
    client.force_login(customer)
    urls = _staff_urls()
    messages_before = Message.objects.count()
    for method, url in urls:
        data = {"body": "x", "status": "closed", "reason": "x"}
        response = getattr(client, method)(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 403, url
    assert Message.objects.count() == messages_before


def test_an_anonymous_visitor_is_sent_to_log_in():
    client = Client()
    for method, url in _staff_urls():
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_top_bar_links_depend_on_who_is_signed_in():
    customer = CustomerFactory()
    client = Client()
    client.force_login(customer)
    html = client.get(reverse("portal:tickets")).content.decode()
    assert "Parcelly Help" in html and reverse("portal:new") in html
    assert reverse("staff:inbox") + '"' not in html
    assert 'action="' + reverse("logout") + '"' in html and 'method="post"' in html
    assert 'hx-headers=\'{"x-csrftoken"' in html
