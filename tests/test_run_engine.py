"""The run engine's invariants, driven through the services (no worker: see test_worker.py)."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assistants import scheduling, services
from assistants.models import Message, Run, Thread
from assistants.providers.base import PermanentProviderError, TransientProviderError
from tests.factories import ArticleFactory, StaffFactory, open_ticket
from tests.providers import ScriptedProvider
from tests.worker import wait_until
from tickets import services as desk
from tickets.models import FlagChange, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def refund_article():
    ArticleFactory(title="Tracking a parcel", slug="tracking", body="Open the app and tap Track to follow a parcel.")
    ArticleFactory(title="Changing your password", slug="password", body="Use Forgot password on the login page.")
    return ArticleFactory(
        title="How refunds work",
        slug="refunds",
        body="Refunds are paid back to the original card within 5 business days after we approve them.",
        tags="refund,billing",
    )


def customer_messages(ticket):
    return ticket.thread.messages.filter(role=Message.Role.USER)


def replies(ticket):
    return ticket.thread.messages.filter(role=Message.Role.ASSISTANT, run__isnull=False)


def test_customer_message_is_committed_and_answered_with_a_cited_article(drain, refund_article, enqueued):
    ticket = open_ticket(subject="Refund", body="When will my refund arrive on my card?")
    assert customer_messages(ticket).count() == 1
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.QUEUED
    assert enqueued == [(run.pk, 0.0)]  # sent once the request committed

    drain()

    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    reply = replies(ticket).get()
    assert reply.draft_state == Message.DraftState.PUBLISHED
    assert "5 business days" in reply.body
    assert reply.metadata["citations"][0]["article_id"] == refund_article.pk
    assert run.tool_calls[0]["name"] == "search_knowledge_base"
    assert customer_messages(ticket).get().answered_by == run
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.thread.input_tokens > 0


def test_offline_assistant_asks_for_details_when_nothing_matches(drain, refund_article):
    ticket = open_ticket(subject="Hmm", body="Zebra xylophone quantum")
    drain()
    assert "tell me a little more" in replies(ticket).get().body


def test_status_question_goes_through_the_ticket_status_tool(drain):
    ticket = open_ticket(subject="Order", body="Is there any update on the status of my ticket?")
    drain()
    run = Run.objects.get(thread=ticket.thread)
    assert [c["name"] for c in run.tool_calls] == ["ticket_status"]
    assert ticket.reference in replies(ticket).get().body


def test_a_burst_while_a_run_is_active_gets_one_follow_up_run(drain, refund_article):
    ticket = open_ticket(body="My refund?")
    first = Run.objects.get(thread=ticket.thread)
    services.run_advance(run_id=first.pk, max_steps=1)  # started: it took the first message
    for text in ("hello?", "anyone there?", "refund to my card please"):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body=text)
    assert Run.objects.filter(thread=ticket.thread).count() == 1

    drain()

    runs = list(Run.objects.filter(thread=ticket.thread).order_by("pk"))
    assert [r.trigger for r in runs] == [Run.Trigger.CUSTOMER, Run.Trigger.FOLLOW_UP]
    assert all(r.status == Run.Status.COMPLETED for r in runs)
    # every customer message is answered by exactly one run; the burst by the follow-up
    answered = {m.body: m.answered_by_id for m in customer_messages(ticket)}
    assert answered["My refund?"] == runs[0].pk
    assert {answered[t] for t in ("hello?", "anyone there?", "refund to my card please")} == {runs[1].pk}
    assert replies(ticket).count() == 2


@pytest.mark.postgres  # SQLite lets one writer in at a time: no statement ever waits on a row lock
def test_a_message_committed_while_the_reply_waits_for_the_thread_lock_gets_the_follow_up(drain, refund_article):
    """The customer's transaction holds the thread's lock (their message written, the run seen as
    active) when the run's completing step asks for it. PostgreSQL hands the lock over after the
    commit; the step must then see the new message and ask for the follow-up run."""
    ticket = open_ticket(body="My refund?")
    first = Run.objects.get(thread=ticket.thread)
    services.run_advance(run_id=first.pk, max_steps=1)  # started, its tool call due next
    finishing = threading.Thread(target=_advance_in_own_connection, args=(first.pk,))
    with transaction.atomic():
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body="And to which card?")
        assert Run.objects.filter(thread=ticket.thread).count() == 1  # the active run: the message waits
        finishing.start()
        wait_until(_waiting_for_a_row_lock, 20, message="the completing step waiting for the thread's lock")
    finishing.join(20)

    first.refresh_from_db()
    assert first.status == Run.Status.COMPLETED
    follow_ups = list(Run.objects.filter(thread=ticket.thread, trigger=Run.Trigger.FOLLOW_UP))
    assert len(follow_ups) == 1, "the message committed while the reply waited for the lock has no run"
    drain()
    assert customer_messages(ticket).get(body="And to which card?").answered_by == follow_ups[0]
    assert replies(ticket).count() == 2


def _advance_in_own_connection(run_id: int) -> None:
    try:
        services.run_advance(run_id=run_id)
    finally:
        connection.close()


def _waiting_for_a_row_lock() -> bool:
    """Is another session of this database waiting on a lock? (The step is the only other one.) Asked
    inside the customer's transaction, so the statistics snapshot, which holds for a transaction, is
    cleared first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] == 1


def test_messages_arriving_before_the_run_starts_join_it(drain):
    ticket = open_ticket(body="first")
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="second")
    drain()
    run = Run.objects.get(thread=ticket.thread)
    assert run.answers_message.body == "second"
    assert replies(ticket).count() == 1


def test_database_refuses_a_second_active_run_on_a_thread():
    ticket = open_ticket()
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(thread=ticket.thread, provider="offline", status=Run.Status.IN_PROGRESS)


def test_database_refuses_a_second_reply_from_the_same_run(drain):
    ticket = open_ticket()
    drain()
    run = Run.objects.get(thread=ticket.thread)
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(thread=ticket.thread, seq=99, role="assistant", body="again", run=run)


def test_the_same_step_delivered_twice_does_one_step():
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    token = services.claim_step(run.pk)
    assert token
    # a second delivery while the first holds the lease does nothing
    assert services.run_advance(run_id=run.pk) == "not claimed"
    run.refresh_from_db()
    assert run.steps == 1


def test_a_finished_run_ignores_a_late_duplicate_delivery(drain):
    ticket = open_ticket()
    drain()
    run = Run.objects.get(thread=ticket.thread)
    assert services.run_advance(run_id=run.pk) == "not claimed"
    assert replies(ticket).count() == 1


def test_draft_mode_holds_the_reply_for_staff(drain):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.DRAFT)
    drain()
    reply = replies(ticket).get()
    assert reply.draft_state == Message.DraftState.DRAFT
    assert not Message.objects.public().filter(pk=reply.pk).exists()
    assert Thread.objects.get(pk=ticket.thread_id).ai_state == Thread.AIState.DRAFT_WAITING


def test_off_mode_requests_no_run():
    customer_ticket = open_ticket()
    Ticket.objects.filter(pk=customer_ticket.pk).update(ai_mode=Ticket.AIMode.OFF)
    Run.objects.all().delete()
    desk.customer_reply(ticket=customer_ticket, customer=customer_ticket.customer, body="hi")
    assert not Run.objects.exists()


def test_a_human_public_reply_takes_over_from_the_assistant(drain):
    ticket = open_ticket()
    drain()
    staff = StaffFactory()
    desk.staff_reply(ticket=ticket, staff=staff, body="I'm on it.")
    ticket.refresh_from_db()
    assert ticket.ai_mode == Ticket.AIMode.DRAFT
    assert FlagChange.objects.filter(ticket=ticket, field="ai_mode", changed_by=staff).exists()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="thanks, and my refund?")
    drain()
    assert replies(ticket).order_by("-seq").first().draft_state == Message.DraftState.DRAFT


def test_asking_for_a_human_escalates_stops_auto_replies_and_records_why(drain, mailoutbox, jobs):
    staff = StaffFactory(email="lead@example.com")
    ticket = open_ticket(body="I want to talk to a human, now.")
    drain()
    ticket.refresh_from_db()
    assert ticket.escalated and ticket.escalated_at
    assert "person" in ticket.escalation_reason
    change = FlagChange.objects.get(ticket=ticket, field="escalated")
    assert change.run == Run.objects.get(thread=ticket.thread)
    assert change.reason == ticket.escalation_reason
    # the reply is held for staff, not sent
    assert replies(ticket).get().draft_state == Message.DraftState.DRAFT
    assert mailoutbox == []  # staff are told by a task, not inside the run's step
    jobs.run()
    assert any(staff.email in m.to for m in mailoutbox)
    assert mailoutbox[0].extra_headers["Auto-Submitted"] == "auto-generated"


def test_an_angry_customer_is_escalated(drain):
    ticket = open_ticket(body="This is UNACCEPTABLE, I will call my lawyer!!!")
    drain()
    ticket.refresh_from_db()
    assert ticket.escalated


def test_runs_per_ticket_per_hour_cap_holds_and_says_why(drain, settings):
    settings.ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR = 3
    ticket = open_ticket()
    drain()
    for i in range(10):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body=f"message {i}")
        drain()
    assert Run.objects.filter(thread=ticket.thread).count() == 3
    thread = Thread.objects.get(pk=ticket.thread_id)
    assert thread.ai_state == Thread.AIState.PAUSED
    assert "cap is 3" in thread.attention


def test_paused_thread_resumes_when_the_hour_has_passed(drain, settings):
    settings.ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR = 1
    ticket = open_ticket()
    drain()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="more")
    assert Run.objects.filter(thread=ticket.thread).count() == 1
    Run.objects.update(created_at=timezone.now() - timedelta(hours=2))
    assert services.runs_sweep()["resumed"] == 1
    drain()
    assert replies(ticket).count() == 2


def test_replies_per_customer_turn_cap_holds_extra_replies_as_drafts(drain, settings, refund_article):
    settings.ASSISTANT_MAX_REPLIES_PER_TURN = 1
    ticket = open_ticket(subject="Refund", body="When will my refund arrive on my card?")
    drain()
    staff = StaffFactory()
    # A retry is not a suggestion asked for (that is always a draft): it answers the customer, within the cap.
    desk.run_retry(run=Run.objects.get(thread=ticket.thread), staff=staff)
    drain()
    latest = replies(ticket).order_by("-seq").first()
    assert latest.draft_state == Message.DraftState.DRAFT
    assert "cap 1" in latest.metadata["held_reason"]


def test_tool_call_cap_fails_the_run_with_a_reason(drain, settings):
    settings.ASSISTANT_MAX_TOOL_CALLS_PER_RUN = 0
    ticket = open_ticket()
    drain()
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.FAILED
    assert run.error_code == "tool_call_cap"
    assert run.needs_staff
    assert "tool calls" in Thread.objects.get(pk=ticket.thread_id).attention


@pytest.fixture
def scripted(settings):
    settings.ASSISTANT_PROVIDER = "tests.providers.ScriptedProvider"
    ScriptedProvider.errors = []
    ScriptedProvider.calls = []
    yield ScriptedProvider
    ScriptedProvider.errors = []


def test_transient_error_is_retried_with_backoff_honouring_retry_after(scripted, enqueued, drain):
    scripted.errors = [TransientProviderError("rate_limited", "slow down", retry_after=7.0)]
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    assert services.run_advance(run_id=run.pk) == "retry"
    run.refresh_from_db()
    assert run.attempts == 1 and run.status == Run.Status.QUEUED
    assert run.error_code == "rate_limited"
    assert enqueued[-1] == (run.pk, 7.0)
    assert run.next_step_at >= timezone.now() + timedelta(seconds=6)
    drain()
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    assert replies(ticket).count() == 1


def test_backoff_doubles_and_is_capped(settings):
    settings.ASSISTANT_BACKOFF_BASE = 0.5
    settings.ASSISTANT_BACKOFF_MAX = 30
    assert 0.45 <= services.backoff(0) <= 0.55
    assert 0.9 <= services.backoff(1) <= 1.1
    assert 27 <= services.backoff(10) <= 33


def test_a_response_in_progress_is_polled_in_proportion_to_how_long_it_has_run(settings):
    settings.ASSISTANT_BACKOFF_BASE = 0.5
    settings.ASSISTANT_BACKOFF_MAX = 30
    assert 0.45 <= services.poll_delay(0) <= 0.55  # soon at first
    assert 0.45 <= services.poll_delay(1.0) <= 0.55
    assert 0.9 <= services.poll_delay(2.0) <= 1.1  # then half the time it has run
    assert 27 <= services.poll_delay(600) <= 33  # capped


def test_polls_of_a_running_response_are_spaced_from_when_it_started(settings, enqueued, monkeypatch):
    settings.ASSISTANT_BACKOFF_BASE = 0.5
    settings.ASSISTANT_PROVIDER = "tests.providers.PendingProvider"
    monkeypatch.setattr(scheduling.random, "uniform", lambda a, b: 1.0)
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    clock = timezone.now().timestamp()
    for waited, expected in [(0, 0.5), (0.5, 0.5), (4.0, 2.0)]:
        monkeypatch.setattr(scheduling, "clock", lambda w=waited: clock + w)
        Run.objects.filter(pk=run.pk).update(lease_until=None)
        services.run_advance(run_id=run.pk)
        assert enqueued[-1] == (run.pk, pytest.approx(expected))
    run.refresh_from_db()
    assert run.status == Run.Status.IN_PROGRESS and run.provider_state["polls"] == 3


def test_permanent_error_fails_at_once_for_staff(scripted, mailoutbox):
    StaffFactory(email="agent@example.com")
    scripted.errors = [PermanentProviderError("invalid_api_key", "Incorrect API key provided.", needs_staff=True)]
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    assert services.run_advance(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.needs_staff
    assert run.error_message == "Incorrect API key provided."
    assert Thread.objects.get(pk=ticket.thread_id).ai_state == Thread.AIState.FAILED


def test_attempts_are_capped(scripted, settings, drain):
    settings.ASSISTANT_MAX_ATTEMPTS = 3
    scripted.errors = [TransientProviderError("server_error", "boom")] * 5
    ticket = open_ticket()
    drain()
    run = Run.objects.get(thread=ticket.thread)
    assert run.status == Run.Status.FAILED
    assert "Gave up after 3 attempts" in run.error_message
    assert replies(ticket).count() == 0


def test_tool_side_effects_happen_once_when_the_submit_is_retried(scripted, drain):
    scripted.errors = [None, TransientProviderError("server_error", "boom")]
    ticket = open_ticket(body="I want a human please")
    drain()
    assert FlagChange.objects.filter(ticket=ticket, field="escalated").count() == 1
    run = Run.objects.get(thread=ticket.thread)
    assert len(run.tool_calls) == 1
    assert scripted.calls == ["start", "submit", "submit"]


def test_staff_retry_after_a_failure_answers_the_same_messages(scripted, drain):
    scripted.errors = [PermanentProviderError("bad_request", "nope")]
    ticket = open_ticket()
    drain()
    failed = Run.objects.get(thread=ticket.thread)
    assert failed.status == Run.Status.FAILED
    retry = desk.run_retry(run=failed, staff=StaffFactory())
    drain()
    retry.refresh_from_db()
    assert retry.status == Run.Status.COMPLETED
    assert customer_messages(ticket).get().answered_by == retry


def test_sweeper_re_enqueues_overdue_runs_and_expires_old_ones(enqueued, settings):
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    enqueued.clear()
    Run.objects.filter(pk=run.pk).update(next_step_at=timezone.now() - timedelta(minutes=1))
    assert services.runs_sweep()["requeued"] == 1
    assert enqueued == [(run.pk, 0.0)]
    # swept once, not again until the grace period passes
    assert services.runs_sweep()["requeued"] == 0

    Run.objects.filter(pk=run.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert services.runs_sweep()["expired"] == 1
    run.refresh_from_db()
    assert run.status == Run.Status.EXPIRED
    assert "did not finish" in run.error_message


def test_a_run_whose_worker_died_is_taken_over_after_its_lease(drain):
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    services.claim_step(run.pk)  # a worker claimed it and died
    assert services.run_advance(run_id=run.pk) == "not claimed"
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    drain()
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    assert replies(ticket).count() == 1


def test_a_step_whose_lease_ran_out_counts_as_a_failed_attempt():
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    services.claim_step(run.pk)  # a worker claimed it and died
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    services.claim_step(run.pk)
    assert Run.objects.get(pk=run.pk).attempts == 1
    Run.objects.filter(pk=run.pk).update(lease_until=None)  # released normally
    services.claim_step(run.pk)
    assert Run.objects.get(pk=run.pk).attempts == 1


def test_a_step_that_keeps_killing_its_worker_is_given_up_for_staff(settings):
    settings.ASSISTANT_MAX_ATTEMPTS = 3
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    for _ in range(3):
        services.claim_step(run.pk)  # claimed, then the worker died
        Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.run_advance(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.needs_staff and run.error_code == "interrupted"
    assert replies(ticket).count() == 0


def test_messages_are_numbered_in_order():
    ticket = open_ticket(body="one")
    for body in ("two", "three"):
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body=body)
    assert list(ticket.thread.messages.values_list("seq", "body")) == [(1, "one"), (2, "two"), (3, "three")]


def test_the_offline_assistant_does_not_send_the_same_article_twice(drain, refund_article):
    ticket = open_ticket(subject="Refund", body="When will my refund arrive on my card?")
    drain()
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="And the refund to my card, when?")
    drain()
    first, second = replies(ticket).order_by("seq")
    assert first.metadata["citations"][0]["article_id"] == refund_article.pk
    assert second.metadata["citations"] == []
    assert "help center says about this above" in second.body
