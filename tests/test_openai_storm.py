"""A fault storm over 100 runs against the emulator (in-process HTTP, the real SDK, waits skipped):
every run ends, no customer sees a duplicate reply, nothing is stuck."""

import pytest

from assistants import services
from assistants.models import Message, Run
from tests.factories import CustomerFactory, open_ticket
from tests.openai_support import emulator_fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emu(settings):
    yield from emulator_fixture(settings)


def test_a_fault_storm_over_100_runs_ends_every_run_with_one_reply_each(emu, settings):
    settings.ASSISTANT_MAX_ATTEMPTS = 30  # 50% of calls fail: give each step room, still capped
    emu.configure(auto_complete=True)  # orphaned responses finish by themselves, as at OpenAI
    emu.set_rules([{"when_contains": "status", "function_call": {"name": "ticket_status", "arguments": {}}}])
    customer = CustomerFactory()
    tickets = [
        open_ticket(customer=customer, body=("What is the status of my ticket?" if n % 4 == 0 else f"Question {n}"))
        for n in range(100)
    ]
    emu.configure(rate_429=0.30, rate_500=0.10, rate_timeout=0.05, rate_lost=0.05, seed=11, lost_mode="timeout")

    steps = 0
    while steps < 20000:
        active = list(Run.objects.filter(status__in=Run.ACTIVE).values_list("pk", flat=True))
        if not active:
            break
        for run_id in active:
            services.run_advance(run_id=run_id)
            steps += 1

    assert not Run.objects.filter(status__in=Run.ACTIVE).exists(), "runs are stuck"
    runs = Run.objects.all()
    assert runs.count() == 100
    failed = [(r.pk, r.error_code, r.error_message) for r in runs.exclude(status=Run.Status.COMPLETED)]
    assert failed == []
    for ticket in tickets:
        published = ticket.thread.messages.filter(
            role=Message.Role.ASSISTANT, run__isnull=False, draft_state=Message.DraftState.PUBLISHED
        )
        assert published.count() == 1
    # The storm really happened, including processed-but-lost calls.
    counters = emu.state()["counters"]
    assert sum(v for k, v in counters.items() if k.endswith(" 429")) > 50
    assert sum(v for k, v in counters.items() if " lost:" in k) > 5
    print(f"\nstorm: {steps} steps; counters: { {k: v for k, v in counters.items() if not k.endswith(' 200')} }")
