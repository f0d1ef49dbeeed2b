"""What a run costs: queries per step within a budget (commit hooks run, as in a worker), and the
caches that keep it there staying right when what they cache changes."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assistants import services
from assistants.models import Run
from tests.factories import open_ticket
from webhooks import endpoints
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _finish(ticket) -> None:
    run = Run.objects.get(thread=ticket.thread)
    while run.status in Run.ACTIVE:
        services.run_advance(run_id=run.pk)
        run.refresh_from_db()


def _completed_events() -> int:
    return Event.objects.filter(type="run.completed").count()


def test_an_endpoint_added_after_a_run_ended_unheard_gets_the_next_runs_end(enqueued, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    _finish(open_ticket())  # nobody listens: remembered
    assert _completed_events() == 0
    endpoint, _ = endpoints.endpoint_create(url="http://127.0.0.1:9/hook", events=["run.completed"])
    _finish(open_ticket())
    assert _completed_events() == 1
    endpoints.endpoint_set_active(endpoint=endpoint, active=False)
    cache.clear()  # as after the cache's time to live: the next run's end reads "nobody" again
    _finish(open_ticket())
    assert _completed_events() == 1
    endpoints.endpoint_set_active(endpoint=endpoint, active=True)  # switched on again: heard at once
    _finish(open_ticket())
    assert _completed_events() == 2
    endpoint.delete()
    _finish(open_ticket())
    assert _completed_events() == 2


def test_a_knowledge_base_synced_after_a_run_is_searched_by_the_next_one(emu, drain):
    from assistants.providers import get_provider
    from tests.factories import ArticleFactory
    from tests.openai_support import last_request

    def file_search_offered() -> bool:
        sent = last_request(emu, "POST", "/v1/responses")["json"]
        return any(t["type"] == "file_search" for t in sent["tools"])

    open_ticket(body="hello")
    drain()
    assert not file_search_offered()  # nothing synced yet: remembered for a while
    ArticleFactory(title="Refunds", slug="refunds", body="Refunds reach the card in 5 business days.")
    get_provider().sync_knowledge_base()
    open_ticket(body="How long do refunds take?")
    drain()
    assert file_search_offered()


def test_a_lease_is_renewed_before_a_call_once_half_of_it_is_gone_and_always_before_a_paid_one(
    enqueued, settings, monkeypatch
):
    from assistants import leased_step

    settings.ASSISTANT_STEP_LEASE = 60
    ticket = open_ticket()
    step = leased_step.LeasedStep.claim(Run.objects.get(thread=ticket.thread).pk)
    clock = [leased_step.time.monotonic()]
    monkeypatch.setattr(leased_step.time, "monotonic", lambda: clock[0])

    def queries_of(**kwargs) -> int:
        with CaptureQueriesContext(connection) as q:
            step.before_call(**kwargs)
        return len(q.captured_queries)

    clock[0] += 29
    assert queries_of() == 0  # less than half gone: the lease outlives the next call
    assert queries_of(paid=True) == 1  # a paid call is never made for a run that is no longer ours
    clock[0] += 29
    assert queries_of() == 0  # counted from the last renewal
    clock[0] += 2
    assert queries_of() == 1
    Run.objects.filter(pk=step.run.pk).update(status=Run.Status.CANCELLED)
    with pytest.raises(leased_step.StepStopped):
        step.before_call(paid=True)


def _statements(captured) -> list[str]:
    """The queries a step sent, without transaction control (BEGIN, COMMIT, savepoints)."""
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].lstrip().upper().startswith(control)]


def test_an_openai_run_costs_few_queries_per_step_with_its_commit_hooks(emu, enqueued):
    """Budgets of a run that creates its conversation, is polled once and completes, replying to
    a portal customer by email (caches warm, as in a worker that has done a run before)."""
    _finish(open_ticket(body="warm up"))
    run = Run.objects.get(thread=open_ticket(subject="Parcel", body="Where is my parcel?").thread)
    costs = []
    while run.status in Run.ACTIVE:
        with CaptureQueriesContext(connection) as captured:
            services.run_advance(run_id=run.pk)
        run.refresh_from_db()
        costs.append((run.status, len(_statements(captured))))
    first, *polls, last = costs
    assert first == (Run.Status.IN_PROGRESS, 12)  # claim 6, policy, conversation 2, input, renewal, release (was 16)
    assert all(poll == (Run.Status.IN_PROGRESS, 3) for poll in polls)  # claim 2, release 1
    # claim 2, reply 8 (the thread's lock, then the reply's rules in a statement of their own: see
    # leased_step._lock_for_reply), ticket 7 (3 + 4 of reply_opened_ticket), mail 7 (before the cuts: 28 + 4)
    assert last == (Run.Status.COMPLETED, 24)


def test_an_offline_reply_that_sets_the_language_sends_no_metadata_push(enqueued, sent, settings):
    from assistants.models import Thread

    settings.ASSISTANT_PROVIDER = "offline"
    ticket = open_ticket(body="Where is my parcel?")
    _finish(ticket)
    ticket.refresh_from_db()
    assert ticket.language_preference == "en"
    assert Thread.objects.get(pk=ticket.thread_id).metadata_dirty  # kept for a conversation made later
    assert "assistants.tasks.sync_thread_metadata" not in [name for name, _ in sent]
