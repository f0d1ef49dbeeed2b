"""Acceptance: a storm of 300 runs against a real worker (30% 429, 10% 500, 5% timeouts, 5% lost
answers, and on 10% of tickets a second customer message during the run's first call): no turn is
answered twice, no response has an empty input, every customer message is answered or handed to
staff with the customer told, every run ends, and no step loses its lease while it is alive."""

import pytest

from tests import storm
from tests.emulator import Emulator, serve_in_thread
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
TICKETS = 300


@pytest.fixture
def served(settings):
    settings.ASSISTANT_PROVIDER = "openai"
    emu = Emulator(seed=17)
    server, base_url = serve_in_thread(emu)
    yield emu, base_url
    server.stop()


def test_a_fault_storm_of_300_runs_answers_every_turn_once_or_hands_it_to_a_person(celery_worker, served):
    emu, base_url = served
    storm.configure_emulator(emu)
    storm.second_messages(emu)
    worker = celery_worker.start(beat=True, concurrency=4, **storm.storm_env(base_url))
    tickets = storm.open_storm_tickets(TICKETS)
    expected = storm.expected_messages(tickets)
    wait_until(lambda: storm.settled(expected), 240, interval=0.5, message="the storm to settle")
    wait_until(lambda: storm.settled(expected), 5, interval=0.5, message="follow-ups asked at the very end")

    report = storm.measure(emu)
    print("\n" + storm.summary(report))
    assert report.runs >= TICKETS
    assert report.answered_twice == 0
    assert report.empty_inputs == 0
    assert report.lost_turns == 0
    assert report.active_runs == 0
    assert "lease lost" not in "\n".join(worker.lines)
    # The storm really happened.
    counters = emu.state()["counters"]
    assert sum(v for k, v in counters.items() if k.endswith(" 429")) > 100
    assert sum(v for k, v in counters.items() if " lost:" in k) > 10
