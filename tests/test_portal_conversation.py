"""The customer's side of a ticket: open it, watch the assistant answer live, reply, ask for a
person, rate. Bad input and floods answer with a form error in place, never a 500."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from assistants import services as assistant
from assistants.models import Message, Run, Thread
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _updates(portal, ticket, after=0, since=None):
    url = reverse("portal:updates", args=[ticket.pk]) + f"?after={after}" + (f"&since={since}" if since else "")
    return portal.get(url, headers=HTMX)


# --- opening a ticket ------------------------------------------------------------------------


def test_opening_a_ticket_with_htmx_redirects_the_browser_to_the_conversation(portal, customer):
    response = portal.post(reverse("portal:new"), {"subject": "Broken lamp", "message": "It flickers."}, headers=HTMX)
    ticket = Ticket.objects.get(customer=customer)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("portal:ticket", args=[ticket.pk])
    assert ticket.subject == "Broken lamp"
    assert ticket.thread.messages.get().body == "It flickers."


def test_opening_a_ticket_without_javascript_redirects(portal, customer):
    response = portal.post(reverse("portal:new"), {"subject": "Broken lamp", "message": "It flickers."})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:ticket", args=[Ticket.objects.get(customer=customer).pk])


@pytest.mark.parametrize(
    "data, error",
    [
        ({"subject": "Lamp", "message": "   "}, "Write a message first."),
        ({"subject": "", "message": "It flickers"}, "Give your ticket a subject."),
    ],
)
def test_bad_input_gives_a_form_error_in_place_and_opens_nothing(portal, data, error):
    response = portal.post(reverse("portal:new"), data, headers=HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#open-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert error in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_new_ticket_page_and_my_tickets_render(portal):
    assert portal.get(reverse("portal:new")).status_code == 200
    assert "no tickets yet" in portal.get(reverse("portal:tickets")).content.decode()


# --- the live conversation -------------------------------------------------------------------


def test_the_assistants_reply_appears_in_the_poll_and_polling_stops_when_it_is_done(portal, customer, drain):
    ticket = open_ticket(customer, body="How do I reset my router?")
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "The assistant is answering" in page
    assert 'data-live-every="1000"' in page

    running = _updates(portal, ticket, after=1).content.decode()
    assert 'data-live-every="1000"' in running
    assert "beforeend:#messages" not in running  # nothing new yet (only the status badge rides along)

    drain()
    done = _updates(portal, ticket, after=1).content.decode()
    reply = ticket.thread.messages.get(role=Message.Role.ASSISTANT)
    assert reply.draft_state == Message.DraftState.PUBLISHED
    assert 'hx-swap-oob="beforeend:#messages"' in done
    assert f'id="message-{reply.seq}"' in done
    # Done: the page keeps following the ticket, slowly, through the change feed's cursor.
    assert 'data-live-every="3000"' in done
    assert "change=" in done
    assert "The assistant is answering" not in done
    assert f'value="{reply.seq}"' in done  # the cursor moved on


def test_the_page_is_polled_by_live_js_which_slows_down_hidden_and_backs_off(portal, customer):
    # static/live.js polls [data-live-url] every data-live-every ms, every 15 s in a hidden tab,
    # and after a failed poll 1, 2, 4 ... 10 s later (the staff pages' poller; browser tests in
    # test_browser_live.py). htmx's own "every" polling did neither.
    ticket = open_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.OFF)
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert '<script src="/static/live.js" defer></script>' in page
    assert f'data-live-url="{reverse("portal:updates", args=[ticket.pk])}?after=' in page
    assert page.count("data-live-url=") == 1 and "hx-trigger" not in page


def test_a_draft_approved_after_newer_messages_still_reaches_the_live_page(portal, customer, drain):
    ticket = open_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    draft = ticket.thread.messages.drafts().get()
    ticket.refresh_from_db()
    # A newer message that asks for no run (with the assistant on, its reply would replace the draft).
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.OFF)
    services.customer_reply(ticket=ticket, customer=customer, body="Any news?")
    drain()
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    after = re.search(r'id="live-after" name="after" value="(\d+)"', page).group(1)
    since = re.search(r'id="live-since" name="since" value="(\d+)"', page).group(1)
    assert int(after) > draft.seq
    services.draft_approve(message=draft, staff=StaffFactory(), body="Edited by a person.")
    poll = _updates(portal, ticket, after=after, since=since).content.decode()
    assert "Edited by a person." in poll


def test_the_page_keeps_polling_slowly_while_a_draft_waits_for_a_person(portal, customer, drain):
    ticket = open_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    assert Thread.objects.get(pk=ticket.thread_id).ai_state == Thread.AIState.DRAFT_WAITING
    poll = _updates(portal, ticket, after=1).content.decode()
    assert 'data-live-every="5000"' in poll
    assert "The assistant is answering" not in poll


def test_a_poll_with_a_garbage_cursor_is_not_an_error(portal, customer):
    ticket = open_ticket(customer)
    response = portal.get(reverse("portal:updates", args=[ticket.pk]) + "?after=abc&since=zzz")
    assert response.status_code == 200
    assert "Where is my parcel?" in response.content.decode()


def test_script_in_a_message_or_an_assistant_reply_is_escaped(portal, customer):
    ticket = open_ticket(customer, subject="<script>alert('s')</script>", body="<script>alert('c')</script>\nline two")
    assistant.message_add(
        thread=ticket.thread, role=Message.Role.ASSISTANT, body="<script>alert('a')</script><img src=x onerror=y>"
    )
    pages = [
        portal.get(reverse("portal:tickets")),
        portal.get(reverse("portal:ticket", args=[ticket.pk])),
        _updates(portal, ticket, after=0),
    ]
    for response in pages:
        body = response.content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
    page = pages[1].content.decode()
    assert "&lt;script&gt;alert(&#x27;c&#x27;)&lt;/script&gt;<br>line two" in page
    assert "&lt;img src=x onerror=y&gt;" in page


# --- replying --------------------------------------------------------------------------------


def test_a_reply_with_htmx_returns_a_fresh_form_the_new_message_and_a_polling_live_element(portal, customer, drain):
    ticket = open_ticket(customer)
    drain()
    response = portal.post(
        reverse("portal:reply", args=[ticket.pk]), {"message": "Thanks, and one more thing", "after": "2"}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="reply-form"' in body
    assert "Thanks, and one more thing" in body  # the new message, out of band
    assert 'id="live" class="portal-live" aria-live="polite" hx-swap-oob="true"' in body
    assert 'data-live-every="1000"' in body
    assert Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists()


def test_an_empty_reply_is_a_form_error_in_place(portal, customer):
    ticket = open_ticket(customer)
    response = portal.post(reverse("portal:reply", args=[ticket.pk]), {"message": ""}, headers=HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#reply-form"
    assert "Write a message first." in response.content.decode()
    assert ticket.thread.messages.count() == 1


def test_an_empty_reply_without_javascript_shows_the_page_with_the_error(portal, customer):
    ticket = open_ticket(customer)
    response = portal.post(reverse("portal:reply", args=[ticket.pk]), {"message": ""})
    assert response.status_code == 422
    assert "Write a message first." in response.content.decode()


@pytest.mark.parametrize("status", [Ticket.Status.RESOLVED, Ticket.Status.CLOSED])
def test_replying_to_a_resolved_or_closed_ticket_reopens_it(portal, customer, status):
    ticket = open_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    response = portal.post(reverse("portal:reply", args=[ticket.pk]), {"message": "It broke again."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.thread.messages.filter(body="It broke again.").exists()


# --- rate limiting ---------------------------------------------------------------------------


def test_a_flood_of_posts_gets_a_429_with_a_clear_message(portal, customer, settings):
    settings.HELPDESK_POSTS_PER_MINUTE = 2
    ticket = open_ticket(customer)
    url = reverse("portal:reply", args=[ticket.pk])
    assert portal.post(url, {"message": "one"}, headers=HTMX).status_code == 200
    assert portal.post(url, {"message": "two"}, headers=HTMX).status_code == 200
    flooded = portal.post(url, {"message": "three"}, headers=HTMX)
    assert flooded.status_code == 429
    assert flooded["HX-Retarget"] == "#reply-form"
    assert "too quickly" in flooded.content.decode()
    assert "three" in flooded.content.decode()  # the text is kept in the form
    opened = portal.post(reverse("portal:new"), {"subject": "s", "message": "four"}, headers=HTMX)
    assert opened.status_code == 429
    assert "too quickly" in opened.content.decode()
    assert not ticket.thread.messages.filter(body__in=["three", "four"]).exists()
    assert Ticket.objects.count() == 1


def test_the_rate_limit_is_per_customer_and_per_window(portal, customer, settings, monkeypatch):
    from tickets import ratelimit

    settings.HELPDESK_POSTS_PER_MINUTE = 1
    clock = [1_000_020.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    ticket = open_ticket(customer)
    url = reverse("portal:reply", args=[ticket.pk])
    assert portal.post(url, {"message": "one"}).status_code == 302
    assert portal.post(url, {"message": "two"}).status_code == 429
    clock[0] += 60  # the next window
    assert portal.post(url, {"message": "three"}).status_code == 302
    other = CustomerFactory()
    portal.force_login(other)
    assert portal.post(reverse("portal:new"), {"subject": "s", "message": "m"}).status_code == 302


# --- talk to a human -------------------------------------------------------------------------


def test_talk_to_a_human_escalates_and_shows_the_banner(portal, customer, mailoutbox):
    StaffFactory()
    ticket = open_ticket(customer)
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "Talk to a human" in page
    assert "A member of our team will reply here" not in page
    response = portal.post(reverse("portal:human", args=[ticket.pk]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.escalated
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "A member of our team will reply here" in page
    assert "Talk to a human" not in page


# --- rating ----------------------------------------------------------------------------------


def _resolved(customer):
    ticket = open_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.RESOLVED)
    return ticket


def test_the_rating_is_whole_stars_from_1_to_5_and_shows_the_saved_value(portal, customer):
    ticket = _resolved(customer)
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert re.findall(r'name="rating" value="([^"]+)"', page) == ["1", "2", "3", "4", "5"]
    assert portal.post(reverse("portal:rate", args=[ticket.pk]), {"rating": "4"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.feedback_rating == Decimal("4")
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert re.search(r'name="rating" value="4"[^>]*checked', page)
    assert "you gave 4" in page
    assert portal.post(reverse("portal:rate", args=[ticket.pk]), {"rating": "4.5"}).status_code == 422


def test_a_resolved_ticket_can_be_rated_in_halves_when_the_setting_asks(portal, customer, settings):
    settings.HELPDESK_RATING_HALF_STARS = True
    ticket = _resolved(customer)
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert len(re.findall(r'name="rating" value="', page)) == 9
    assert "How did we do?" in portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    response = portal.post(reverse("portal:rate", args=[ticket.pk]), {"rating": "4.5", "comment": "Quick!"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.feedback_rating == Decimal("4.5")
    assert ticket.feedback_comment == "Quick!"
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert re.search(r'name="rating" value="4.5"[^>]*checked', page)


@pytest.mark.parametrize("rating", ["4.3", "0.5", "5.5", "6", "abc", ""])
def test_a_rating_outside_1_to_5_in_halves_is_refused(portal, customer, rating):
    ticket = _resolved(customer)
    response = portal.post(reverse("portal:rate", args=[ticket.pk]), {"rating": rating})
    assert response.status_code == 422
    assert "Pick a rating from 1 to 5." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.feedback_rating is None


def test_an_open_ticket_cannot_be_rated(portal, customer):
    ticket = open_ticket(customer)
    assert "How did we do?" not in portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    response = portal.post(reverse("portal:rate", args=[ticket.pk]), {"rating": "5.0"})
    assert response.status_code == 422
    assert "once it is resolved" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.feedback_rating is None


# --- query counts ----------------------------------------------------------------------------


def test_the_portal_ticket_page_query_count(portal, customer, drain, django_assert_num_queries):
    ticket = open_ticket(customer)
    drain()
    for n in range(10):
        services.customer_reply(ticket=ticket, customer=customer, body=f"message {n}")
    drain()
    # user (the session comes from the cache), ticket with its thread (and the live feed's
    # cursor), public messages (each with whether it has files)
    with django_assert_num_queries(3):
        response = portal.get(reverse("portal:ticket", args=[ticket.pk]))
    assert response.status_code == 200
    # the attachments only when a message has some, in one query
    message = ticket.thread.messages.filter(role=Message.Role.USER).last()
    message.attachments.create(file="x.txt", filename="invoice.txt", content_type="text/plain", size=1)
    message.attachments.create(file="y.txt", filename="label.txt", content_type="text/plain", size=1)
    with django_assert_num_queries(4):
        response = portal.get(reverse("portal:ticket", args=[ticket.pk]))
    assert "invoice.txt" in response.content.decode() and "label.txt" in response.content.decode()


def test_the_updates_poll_query_count(portal, customer, drain, django_assert_num_queries):
    ticket = open_ticket(customer)
    drain()
    # user (the session is cached), then the view's own two: ticket with thread (and the live
    # feed's cursor), new messages
    with django_assert_num_queries(3):
        response = _updates(portal, ticket, after=2, since="1")
    assert response.status_code == 200
    # something new: the new messages say whether they have files (none here: no query for them)
    with django_assert_num_queries(3):
        response = _updates(portal, ticket, after=0, since="1")
    assert "hx-swap-oob" in response.content.decode()


def test_a_long_conversation_shows_the_latest_messages_and_a_link_to_the_rest(portal, customer):
    from tickets.views import portal as views

    ticket = open_ticket(customer, body="the very first message")
    for n in range(views.PAGE_MESSAGES):
        assistant.message_add(thread=ticket.thread, role=Message.Role.USER, body=f"numbered {n}")
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "the very first message" not in page
    assert f"numbered {views.PAGE_MESSAGES - 1}" in page
    assert "Show earlier messages" in page
    everything = portal.get(reverse("portal:ticket", args=[ticket.pk]) + "?all=1").content.decode()
    assert "the very first message" in everything
    assert "Show earlier messages" not in everything
