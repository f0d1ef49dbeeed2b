"""The assistant as a colleague: a staff-asked run yields a draft, one pending draft per ticket,
approved drafts are the approver's, and the dashboard counts what people did with drafts."""

import pytest
from django.urls import reverse

from assistants.models import Message, Run
from mail.models import EmailPreference
from tests.factories import ArticleFactory, StaffFactory, open_ticket
from tickets import selectors, services
from tickets.edit_distance import word_distance
from tickets.models import AssistantReply, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def replies(ticket):
    return ticket.thread.messages.filter(role=Message.Role.ASSISTANT, run__isnull=False)


@pytest.fixture
def refunds():
    return ArticleFactory(
        title="How refunds work", slug="refunds", tags="refund", body="Refunds reach your card within 5 business days."
    )


def test_asking_the_assistant_in_auto_mode_leaves_a_draft_the_customer_never_gets(drain, refunds, jobs, mailoutbox):
    ticket = open_ticket(body="When does my refund arrive?")
    EmailPreference.objects.update_or_create(user=ticket.customer, defaults={"replies_by_email": True})
    drain()
    jobs.run()
    sent_before = len(mailoutbox)
    assert ticket.ai_mode == Ticket.AIMode.AUTO
    staff = StaffFactory()

    run = services.ask_assistant(ticket=ticket, staff=staff)
    drain()
    jobs.run()

    run.refresh_from_db()
    assert run.trigger == Run.Trigger.STAFF and run.status == Run.Status.COMPLETED
    draft = replies(ticket).get(run=run)
    assert draft.draft_state == Message.DraftState.DRAFT
    assert "Asked by staff" in draft.metadata["held_reason"]
    assert not Message.objects.public().filter(pk=draft.pk).exists()
    assert len(mailoutbox) == sent_before  # no mail to the customer for a suggestion


def test_quick_customer_messages_on_a_held_ticket_leave_one_pending_draft(drain):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    for i in range(5):
        services.customer_reply(ticket=ticket, customer=ticket.customer, body=f"one more thing, number {i}")
        drain()

    assert Message.objects.drafts().filter(thread=ticket.thread).count() == 1
    superseded = replies(ticket).filter(draft_state=Message.DraftState.DISCARDED)
    assert superseded.count() == replies(ticket).count() - 1 >= 5
    assert all(m.metadata["discard_code"] == "superseded" for m in superseded)
    assert not Message.objects.public().filter(pk__in=superseded.values("pk")).exists()
    reviews = AssistantReply.objects.filter(ticket=ticket).values_list("review", flat=True)
    assert sorted(reviews).count(AssistantReply.Review.SUPERSEDED) == superseded.count()


def test_a_published_reply_also_replaces_a_pending_draft(drain):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    old = Message.objects.drafts().get(thread=ticket.thread)
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.AUTO)
    services.customer_reply(ticket=ticket, customer=ticket.customer, body="Any news on my parcel?")
    drain()
    old.refresh_from_db()
    assert old.draft_state == Message.DraftState.DISCARDED
    assert old.metadata["discard_code"] == "superseded"
    assert not Message.objects.drafts().filter(thread=ticket.thread).exists()


def test_a_staff_public_reply_supersedes_the_pending_draft(drain, client):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    draft = Message.objects.drafts().get(thread=ticket.thread)
    sam = StaffFactory(first_name="Sam", last_name="Lee")
    note = services.staff_reply(ticket=Ticket.objects.get(pk=ticket.pk), staff=sam, body="Checking.", internal=True)
    draft.refresh_from_db()
    assert note.is_internal and draft.draft_state == Message.DraftState.DRAFT  # a note replaces nothing

    services.staff_reply(ticket=Ticket.objects.get(pk=ticket.pk), staff=sam, body="I refunded you today.")
    draft.refresh_from_db()
    assert draft.draft_state == Message.DraftState.DISCARDED
    assert draft.metadata["discard_code"] == "superseded" and draft.metadata["superseded_by_user"] == sam.pk
    assert not Message.objects.public().filter(pk=draft.pk).exists()
    assert AssistantReply.objects.get(message_id=draft.pk).review == AssistantReply.Review.SUPERSEDED
    ticket.thread.refresh_from_db()
    assert ticket.thread.ai_state != "draft_waiting"
    client.force_login(sam)
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Discarded draft (superseded by a reply from Sam Lee)" in page


def test_a_staff_reply_that_fails_leaves_the_draft_pending(drain, monkeypatch):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    draft = Message.objects.drafts().get(thread=ticket.thread)

    def broken(*args, **kwargs):
        raise RuntimeError("the reply's transaction fails after the draft was superseded")

    monkeypatch.setattr(services, "_first_responses", broken)
    with pytest.raises(RuntimeError):
        services.staff_reply(ticket=Ticket.objects.get(pk=ticket.pk), staff=StaffFactory(), body="Refunded.")
    draft.refresh_from_db()
    assert draft.draft_state == Message.DraftState.DRAFT  # one transaction: nothing of the reply stayed
    assert not ticket.thread.messages.filter(body="Refunded.").exists()


def test_a_superseded_draft_shows_with_its_reason_on_the_staff_page(drain, client):
    staff = StaffFactory()
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    services.customer_reply(ticket=ticket, customer=ticket.customer, body="and another question")
    drain()
    client.force_login(staff)
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Discarded draft (superseded by a newer reply)" in page


def test_an_approved_draft_is_the_approvers_reply_with_its_edit_distance(drain, client):
    staff = StaffFactory(first_name="Dana", last_name="Reyes")
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    draft = Message.objects.drafts().get(thread=ticket.thread)
    edited = "Your parcel left our depot this morning. " + draft.body

    services.draft_approve(message=draft, staff=staff, body=edited)

    draft.refresh_from_db()
    assert draft.published_by == staff and draft.body == edited
    review = AssistantReply.objects.get(message_id=draft.pk)
    assert review.review == AssistantReply.Review.EDITED
    # seven words and a full stop
    assert review.edit_distance == word_distance(draft.metadata["original_body"], edited) == 8
    client.force_login(ticket.customer)
    portal = client.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "<strong>Dana</strong>" in portal
    assert "<strong>Assistant</strong>" not in portal
    client.force_login(staff)
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Drafted by the assistant, edited by Dana Reyes" in page


def test_an_unedited_approval_says_approved_by(drain, client):
    staff = StaffFactory(first_name="Dana", last_name="Reyes")
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    draft = Message.objects.drafts().get(thread=ticket.thread)
    services.draft_approve(message=draft, staff=staff, body=draft.body)
    assert AssistantReply.objects.get(message_id=draft.pk).review == AssistantReply.Review.APPROVED
    client.force_login(staff)
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Drafted by the assistant, approved by Dana Reyes" in page


def test_the_dashboard_counts_draft_acceptance(drain, client):
    staff = StaffFactory()
    drafts = []
    for _ in range(3):
        ticket = open_ticket()
        Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
        drafts.append(ticket)
    drain()
    first, second, third = (Message.objects.drafts().get(thread=t.thread) for t in drafts)
    services.draft_approve(message=first, staff=staff)
    services.draft_approve(message=second, staff=staff, body="Completely different words here.")
    services.draft_discard(message=third, staff=staff)

    d = selectors.dashboard_uncached()
    assert d.drafts_approved == 1
    assert d.drafts_edited == 1
    assert d.drafts_discarded == 1
    assert d.mean_edit_distance == word_distance(second.body, "Completely different words here.")
    client.force_login(staff)
    page = client.get(reverse("staff:dashboard")).content.decode()
    assert 'id="drafts-edited"' in page


@pytest.mark.parametrize(
    ("before", "after", "distance"),
    [("", "", 0), ("a b c", "a b c", 0), ("a b c", "a x c", 1), ("a b c", "a c", 1), ("Hello there", "hello THERE", 0)],
)
def test_word_distance_counts_words_changed(before, after, distance):
    assert word_distance(before, after) == distance
