"""Staff workspace: the ticket page, its partials and every action on it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from assistants.models import Message, Run, Thread
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets.models import FlagChange, Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def staff(client):
    user = StaffFactory(first_name="Sam")
    client.force_login(user)
    return user


@pytest.fixture
def ticket():
    return open_ticket(subject="Parcel lost", body="It never arrived.")


def _add(ticket, body, **kwargs):
    from assistants import services as assistant

    return assistant.message_add(thread=ticket.thread, role=kwargs.pop("role", Message.Role.USER), body=body, **kwargs)


def _draft(ticket, body="Here is what I found."):
    return _add(ticket, body, role=Message.Role.ASSISTANT, draft_state=Message.DraftState.DRAFT)


def test_ticket_page_marks_each_kind_of_message(client, staff, ticket, drain):
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    _add(ticket, "A note for colleagues", role=Message.Role.DEVELOPER, visibility=Message.Visibility.INTERNAL)
    _add(ticket, "Sorry about that", role=Message.Role.ASSISTANT, author=staff)
    _draft(ticket)
    html = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    for marker in ("msg-customer", "msg-note", "msg-staff", "msg-draft", "Internal note", "Draft by the assistant"):
        assert marker in html
    assert reverse("staff:draft_approve", args=[ticket.thread.messages.drafts().get().pk]) in html


def test_ticket_page_shows_the_latest_thirty_and_loads_older_on_demand(client, staff, ticket):
    for i in range(2, 41):
        _add(ticket, f"message number {i}")
    html = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "message number 40" in html and "message number 11" in html
    assert "message number 10" not in html
    assert reverse("staff:messages_older", args=[ticket.pk]) + "?before=11" in html
    older = client.get(reverse("staff:messages_older", args=[ticket.pk]), {"before": 11}, **HTMX).content.decode()
    assert "message number 10" in older and "It never arrived." in older
    assert "message number 11" not in older
    assert "Load older" not in older


def test_messages_older_without_a_cursor_is_a_400(client, staff, ticket):
    assert client.get(reverse("staff:messages_older", args=[ticket.pk])).status_code == 400


def test_message_bodies_are_escaped_in_the_page_and_every_partial(client, staff, drain):
    evil = "<script>alert(1)</script>\nsecond line"
    ticket = open_ticket(subject="<b>bold</b>", body=evil)
    pages = [
        client.get(reverse("staff:ticket", args=[ticket.pk])),
        client.get(reverse("staff:messages_older", args=[ticket.pk]), {"before": 99}, **HTMX),
        client.get(reverse("staff:run_status", args=[ticket.pk]), {"after": 0}, **HTMX),
        client.get(reverse("staff:inbox"), {"q": "bold"}, **HTMX),
        client.get(reverse("staff:inbox")),
    ]
    for response in pages:
        html = response.content.decode()
        assert "<script>alert" not in html
        assert "<b>bold</b>" not in html
    ticket_html = pages[0].content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in ticket_html


def test_public_reply_is_posted_and_the_conversation_comes_back(client, staff, ticket):
    response = client.post(reverse("staff:reply", args=[ticket.pk]), {"body": "We are on it."}, **HTMX)
    assert response.status_code == 200
    message = ticket.thread.messages.get(body="We are on it.")
    assert message.role == Message.Role.ASSISTANT and message.visibility == Message.Visibility.PUBLIC
    html = response.content.decode()
    assert 'id="conversation"' in html and "We are on it." in html
    assert 'id="composer"' in html and 'hx-swap-oob="true"' in html


def test_internal_note_with_an_attachment(client, staff, ticket):
    upload = SimpleUploadedFile("log.txt", b"trace", content_type="text/plain")
    response = client.post(
        reverse("staff:reply", args=[ticket.pk]), {"body": "checked the depot", "internal": "on", "files": [upload]}
    )
    assert response.status_code == 302
    note = ticket.thread.messages.get(body="checked the depot")
    assert note.visibility == Message.Visibility.INTERNAL
    attachment = note.attachments.get()
    assert attachment.filename == "log.txt"
    html = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert reverse("portal:attachment", args=[attachment.pk]) in html


def test_empty_reply_gives_a_form_error_in_place(client, staff, ticket):
    before = ticket.thread.messages.count()
    response = client.post(reverse("staff:reply", args=[ticket.pk]), {"body": "   "}, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#composer" and response["HX-Reswap"] == "outerHTML"
    assert 'id="composer"' in response.content.decode() and "errors" in response.content.decode()
    assert ticket.thread.messages.count() == before


def test_disallowed_attachment_gives_a_form_error_in_place(client, staff, ticket):
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")
    response = client.post(reverse("staff:reply", args=[ticket.pk]), {"body": "see file", "files": [upload]}, **HTMX)
    assert response.status_code == 422
    assert "not accepted" in response.content.decode()
    assert not ticket.thread.messages.filter(body="see file").exists()


def test_draft_approved_as_is(client, staff, ticket):
    draft = _draft(ticket, "Your parcel is at the depot.")
    response = client.post(reverse("staff:draft_approve", args=[draft.pk]), **HTMX)
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.draft_state == Message.DraftState.PUBLISHED and draft.published_by == staff
    assert draft in Message.objects.public()


def test_draft_edited_then_sent(client, staff, ticket):
    draft = _draft(ticket, "Your parcel is at the depot.")
    client.post(reverse("staff:draft_approve", args=[draft.pk]), {"body": "It is at the Leeds depot."}, **HTMX)
    draft.refresh_from_db()
    assert draft.body == "It is at the Leeds depot."
    assert draft.metadata["original_body"] == "Your parcel is at the depot."


def test_draft_discarded_and_a_second_discard_is_refused_in_place(client, staff, ticket):
    draft = _draft(ticket)
    assert client.post(reverse("staff:draft_discard", args=[draft.pk]), **HTMX).status_code == 200
    draft.refresh_from_db()
    assert draft.draft_state == Message.DraftState.DISCARDED
    again = client.post(reverse("staff:draft_discard", args=[draft.pk]), **HTMX)
    assert again.status_code == 422
    assert "already handled" in again.content.decode()


def test_ask_the_assistant_starts_a_run_shown_without_a_poll_of_its_own(client, staff, ticket, drain):
    drain()
    response = client.post(reverse("staff:ask_assistant", args=[ticket.pk]), **HTMX)
    assert response.status_code == 200
    run = Run.objects.filter(thread=ticket.thread).first()
    assert run.trigger == Run.Trigger.STAFF and run.is_active
    html = response.content.decode()
    assert "Queued" in html and reverse("staff:run_stop", args=[run.pk]) in html
    assert "hx-trigger" not in html  # the page's live feed follows the run (test_live.py)


def test_run_status_shows_the_run_and_the_new_message_when_done(client, staff, ticket, drain):
    url = reverse("staff:run_status", args=[ticket.pk])
    active = client.get(url, {"after": 1}, **HTMX).content.decode()
    assert "Queued" in active and "hx-trigger" not in active
    drain()
    done = client.get(url, {"after": 1}, **HTMX).content.decode()
    assert "Assistant: <strong>done</strong>" in done
    assert 'hx-swap-oob="beforeend:#messages"' in done
    reply = ticket.thread.messages.filter(role=Message.Role.ASSISTANT).get()
    assert f'id="msg-{reply.pk}"' in done


def test_a_run_queued_again_after_a_failure_says_so_and_not_queued(client, staff, ticket, django_assert_num_queries):
    run = Run.objects.get(thread=ticket.thread)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, error_message="The model's server failed")
    Run.objects.create(thread=ticket.thread, provider="offline", trigger=Run.Trigger.AUTO_RETRY)
    url, after = reverse("staff:run_status", args=[ticket.pk]), {"after": ticket.thread.message_count}
    client.get(url, after, **HTMX)  # the session is cached now
    with django_assert_num_queries(2):
        html = client.get(url, after, **HTMX).content.decode()
    assert "Retrying after a failed run" in html and "Queued" not in html
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Retrying after a failed run" in page


def test_failed_run_shows_the_reason_and_retry_starts_another(client, staff, ticket, drain):
    run = Run.objects.get(thread=ticket.thread)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, error_message="Quota exceeded")
    Thread.objects.filter(pk=ticket.thread_id).update(ai_state=Thread.AIState.FAILED, attention="Run failed: quota")
    html = client.get(reverse("staff:run_status", args=[ticket.pk]), **HTMX).content.decode()
    assert "Quota exceeded" in html and reverse("staff:run_retry", args=[run.pk]) in html
    assert "Run failed: quota" in html
    response = client.post(reverse("staff:run_retry", args=[run.pk]), **HTMX)
    assert response.status_code == 200
    assert Run.objects.filter(thread=ticket.thread, trigger=Run.Trigger.RETRY).exists()


def test_retrying_an_active_run_is_refused(client, staff, ticket):
    run = Run.objects.get(thread=ticket.thread)
    response = client.post(reverse("staff:run_retry", args=[run.pk]), **HTMX)
    assert response.status_code == 422
    assert "still going" in response.content.decode()


def test_update_status_priority_ai_mode_and_assign_to_me(client, staff, ticket):
    url = reverse("staff:update", args=[ticket.pk])
    response = client.post(url, {"status": "pending", "priority": "4", "ai_mode": "off"}, **HTMX)
    assert response.status_code == 200 and 'id="side-panel"' in response.content.decode()
    client.post(url, {"assignee": "me"}, **HTMX)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.ai_mode, ticket.assignee) == ("pending", 4, "off", staff)
    assert FlagChange.objects.filter(ticket=ticket, field="status", new_value="pending", changed_by=staff).exists()


def test_assign_to_someone_else_and_unassign(client, staff, ticket):
    colleague = StaffFactory()
    url = reverse("staff:update", args=[ticket.pk])
    client.post(url, {"assignee": str(colleague.pk)}, **HTMX)
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    client.post(url, {"assignee": "none"}, **HTMX)
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_assigning_to_a_customer_is_a_form_error(client, staff, ticket):
    response = client.post(reverse("staff:update", args=[ticket.pk]), {"assignee": str(ticket.customer_id)}, **HTMX)
    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_unknown_status_is_a_form_error_in_place(client, staff, ticket):
    response = client.post(reverse("staff:update", args=[ticket.pk]), {"status": "exploded"}, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#side-panel"
    assert "not one of the available choices" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW


def test_escalate_needs_a_reason_and_deescalate_clears_it(client, staff, ticket):
    url = reverse("staff:escalate", args=[ticket.pk])
    assert client.post(url, {"reason": ""}, **HTMX).status_code == 422
    assert client.post(url, {"reason": "Angry customer"}, **HTMX).status_code == 200
    ticket.refresh_from_db()
    assert ticket.escalated and ticket.escalation_reason == "Angry customer"
    client.post(reverse("staff:deescalate", args=[ticket.pk]), **HTMX)
    ticket.refresh_from_db()
    assert not ticket.escalated


def test_side_panel_shows_flags_usage_and_attention(client, staff, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(conversation_topic="delivery", language_preference="de")
    Thread.objects.filter(pk=ticket.thread_id).update(
        input_tokens=1234, output_tokens=56, cost="0.0123", custom_metadata={"order": "A-77"}, attention="Paused by cap"
    )
    html = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    for text in ("delivery", "de", "1234", "56", "$0.0123", "order", "A-77", "Paused by cap"):
        assert text in html


def test_post_without_csrf_token_is_refused():
    staff = StaffFactory()
    ticket = open_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post(reverse("staff:reply", args=[ticket.pk]), {"body": "no token"})
    assert response.status_code == 403
    assert not ticket.thread.messages.filter(body="no token").exists()
    page = client.get(reverse("staff:ticket", args=[ticket.pk]))
    token = page.cookies["csrftoken"].value
    ok = client.post(reverse("staff:reply", args=[ticket.pk]), {"body": "with token"}, HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 302


def test_unknown_ticket_is_a_404(client, staff):
    assert client.get(reverse("staff:ticket", args=[999999])).status_code == 404
    assert client.get(reverse("staff:run_status", args=[999999])).status_code == 404


def test_get_on_an_action_is_405(client, staff, ticket):
    assert client.get(reverse("staff:reply", args=[ticket.pk])).status_code == 405


def test_customer_is_refused_on_a_ticket_page_of_their_own(client):
    customer = CustomerFactory()
    ticket = open_ticket(customer=customer)
    client.force_login(customer)
    assert client.get(reverse("staff:ticket", args=[ticket.pk])).status_code == 403


def test_ticket_page_query_count_is_flat_with_many_messages(client, staff, ticket, django_assert_num_queries):
    from tests.factories import UserFactory

    other = UserFactory()
    for i in range(60):
        _add(ticket, f"m{i}", author=other if i % 2 else staff)
    note = _add(ticket, "with file", role=Message.Role.DEVELOPER, visibility=Message.Visibility.INTERNAL)
    note.attachments.create(file="x.txt", filename="x.txt", content_type="text/plain", size=1)
    FlagChange.objects.create(ticket=ticket, field="status", old_value="new", new_value="open", changed_by=staff)
    # session, user, ticket (+thread, customer, assignee, the live feed's cursor), 30 messages
    # (+authors), their attachments, the latest run, the staff list, recent changes (+who)
    with django_assert_num_queries(7):
        response = client.get(reverse("staff:ticket", args=[ticket.pk]))
    assert len(response.context["messages"]) == 30


def test_run_status_poll_reads_one_row(client, staff, ticket, django_assert_num_queries):
    url = reverse("staff:run_status", args=[ticket.pk])
    last = ticket.thread.message_count
    # user (the session is cached), then one query: the latest run joined with its thread
    with django_assert_num_queries(2):
        response = client.get(url, {"after": last}, **HTMX)
    assert "Queued" in response.content.decode()


def test_run_status_poll_refreshes_the_side_panels_tokens_and_cost(client, staff, ticket, drain):
    url = reverse("staff:run_status", args=[ticket.pk])
    last = ticket.thread.message_count
    before = client.get(url, {"after": last}, **HTMX).content.decode()
    assert 'id="assistant-usage"' in before and 'hx-swap-oob="true"' in before
    # the run finishes and records its tokens and cost on the thread
    drain()
    Thread.objects.filter(pk=ticket.thread_id).update(
        input_tokens=4321, cached_tokens=1000, output_tokens=321, cost="0.0456", run_count=3
    )
    done = client.get(url, {"after": last}, **HTMX).content.decode()
    usage = done[done.index('id="assistant-usage"') :]
    for text in ("4321", "1000 cached", "321", "$0.0456", "<dd>3</dd>"):
        assert text in usage, text


def test_run_status_poll_without_any_run_still_refreshes_the_usage(client, staff, ticket, django_assert_num_queries):
    Run.objects.filter(thread=ticket.thread).delete()
    Thread.objects.filter(pk=ticket.thread_id).update(input_tokens=77, cost="0.0011")
    url = reverse("staff:run_status", args=[ticket.pk])
    with django_assert_num_queries(3):  # user, no run, then the thread
        html = client.get(url, {"after": 1}, **HTMX).content.decode()
    assert 'id="assistant-usage"' in html and "77" in html and "$0.0011" in html
