"""Invariants of ../shared/DESIGN.md that no other test file pins down on its own:
2 (enqueue on commit), 7 (discarded drafts never reach the customer), 9 (a tool's only scope is
its run's ticket)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction
from django.urls import reverse

from assistants import scheduling, services, tasks
from assistants.models import Attachment, Message, Run
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tests.openai_support import run_of
from tickets import services as desk
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
REAL_ENQUEUE = scheduling.enqueue_step  # before the autouse fixture records instead of sending


def committed_elsewhere(run_id: int) -> bool:
    """Whether another database connection sees the run (that is, it was committed)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM assistants_run WHERE id = %s", [run_id])
            return cursor.fetchone()[0] == 1
    finally:
        other.close()


@pytest.fixture
def published_to_broker(monkeypatch):
    """What reached the broker, and whether each run was committed when it did."""
    seen = []
    monkeypatch.setattr(scheduling, "enqueue_step", REAL_ENQUEUE)
    monkeypatch.setattr(
        tasks.advance_run, "apply_async", lambda args, **kw: seen.append((args[0], committed_elsewhere(args[0])))
    )
    return seen


# --- invariant 2 -----------------------------------------------------------------------------


def test_a_run_is_sent_to_the_broker_only_once_its_request_committed(client, published_to_broker):
    customer = CustomerFactory()
    client.force_login(customer)
    response = client.post(reverse("portal:new"), {"subject": "Parcel", "message": "Where is it?"})
    assert response.status_code == 302
    run = Run.objects.get()
    assert published_to_broker == [(run.pk, True)]  # published after the commit, never before


def test_a_request_that_rolls_back_sends_nothing(published_to_broker):
    customer = CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        desk.ticket_open(customer=customer, subject="Parcel", body="Where is it?")
        raise RuntimeError("the request failed after opening the ticket")
    assert not Ticket.objects.exists() and not Run.objects.exists()
    assert published_to_broker == []


# --- invariant 7 -----------------------------------------------------------------------------

DISCARDED = "A draft staff threw away: do not show it"
LATE = "An answer that came after the run was stopped"


def test_discarded_drafts_never_reach_portal_pages_partials_emails_or_downloads(client, drain, mailoutbox):
    staff = StaffFactory()
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()  # the assistant's reply is held as a draft ...
    draft = ticket.thread.messages.drafts().get()
    Message.objects.filter(pk=draft.pk).update(body=DISCARDED)
    Attachment.objects.create(
        message=draft,
        file=SimpleUploadedFile("draft.txt", b"draft"),
        filename="draft.txt",
        content_type="text/plain",
        size=5,
    )
    desk.draft_discard(message=draft, staff=staff)  # ... and discarded
    services.message_add(
        thread=ticket.thread,
        role=Message.Role.ASSISTANT,
        body=LATE,
        draft_state=Message.DraftState.DISCARDED,
        metadata={"discarded_reason": "It arrived after the run was stopped."},
    )
    desk.staff_reply(ticket=ticket, staff=staff, body="A person's answer")
    mailoutbox_bodies = " ".join(m.body for m in mailoutbox)

    client.force_login(ticket.customer)
    pages = [
        client.get(reverse("portal:ticket", args=[ticket.pk])),
        client.get(reverse("portal:ticket", args=[ticket.pk]) + "?all=1"),
        client.get(reverse("portal:updates", args=[ticket.pk]) + "?after=0&since=0", headers={"HX-Request": "true"}),
    ]
    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200
        assert DISCARDED not in body and LATE not in body and "draft.txt" not in body
    assert "A person&#x27;s answer" in pages[0].content.decode()
    assert DISCARDED not in mailoutbox_bodies and LATE not in mailoutbox_bodies
    attachment = Attachment.objects.get(filename="draft.txt")
    assert client.get(reverse("portal:attachment", args=[attachment.pk])).status_code == 404
    assert set(Message.objects.public().filter(thread=ticket.thread).values_list("body", flat=True)).isdisjoint(
        {DISCARDED, LATE}
    )


# --- invariant 9 -----------------------------------------------------------------------------


def test_a_tool_call_naming_another_ticket_or_an_unknown_tool_is_refused(emu, drain):
    other = open_ticket(subject="Someone else's ticket", body="private question")
    drain()  # the other ticket is answered and left alone
    calls = [
        {"type": "function_call", "name": "ticket_status", "arguments": {"ticket": other.pk}},
        {"type": "function_call", "name": "escalate_to_human", "arguments": {"reason": "x", "ticket_id": other.pk}},
        {"type": "function_call", "name": "escalate_to_human", "arguments": {"reason": "the customer asked"}},
        {"type": "function_call", "name": "run_shell", "arguments": {"cmd": "ls"}},
    ]
    # A model that asks for all of these at once, then answers.
    emu.script(lambda request, items: "Done." if any(i["type"] == "function_call_output" for i in items) else calls)
    ticket = open_ticket(body="status of mine, escalate theirs, and a shell please")
    drain()
    outputs = [(c["name"], c["output"]) for c in run_of(ticket).tool_calls]
    assert "unknown arguments: ticket" in outputs[0][1] and other.reference not in outputs[0][1]
    assert "unknown arguments: ticket_id" in outputs[1][1]
    assert '"escalated": true' in outputs[2][1]
    assert "unknown tool 'run_shell'" in outputs[3][1]
    other.refresh_from_db()
    assert not other.escalated  # the escalation reached this run's ticket only
    ticket.refresh_from_db()
    assert ticket.escalated


def test_the_tools_the_model_is_offered_name_no_ticket_customer_or_user(emu, drain):
    open_ticket(body="hello")
    drain()
    sent = [r for r in emu.state()["requests"] if r["method"] == "POST" and r["path"] == "/v1/responses"][0]
    for tool in sent["json"]["tools"]:
        if tool["type"] != "function":
            continue
        params = set(tool["parameters"]["properties"])
        assert not params & {"ticket", "ticket_id", "customer", "customer_id", "user", "user_id", "thread_id"}
        assert tool["parameters"]["additionalProperties"] is False


# --- invariant 1 -----------------------------------------------------------------------------


def test_pages_and_polls_read_the_local_database_never_the_provider(emu, drain, client):
    """Every page and poll a customer or an agent opens is served from local rows: the provider
    is not called once, even while a run is in flight."""
    ticket = open_ticket(body="Where is my parcel?")
    drain()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="And the second parcel?")
    services.run_advance(run_id=run_of(ticket).pk)  # a response in flight at the provider
    calls_before = len(emu.state()["requests"])

    staff = StaffFactory()
    client.force_login(staff)
    for url in [
        reverse("staff:inbox"),
        reverse("staff:ticket", args=[ticket.pk]),
        reverse("staff:run_status", args=[ticket.pk]) + "?after=0",
        reverse("staff:dashboard"),
    ]:
        assert client.get(url).status_code == 200, url
    client.force_login(ticket.customer)
    for url in [
        reverse("portal:tickets"),
        reverse("portal:ticket", args=[ticket.pk]),
        reverse("portal:updates", args=[ticket.pk]) + "?after=0",
    ]:
        assert client.get(url).status_code == 200, url
    assert len(emu.state()["requests"]) == calls_before
