"""A fault storm against a real worker: shared by the acceptance test (tests/test_storm.py) and the
benchmark (bench/storm.py).

Every ticket gets one customer message; the emulator answers 30% of calls with 429, 10% with 500,
lets 5% time out and loses the answer of 5% it processed; on 10% of tickets the customer writes
again while the run's first call is in flight. `measure()` reads what happened from the database
and the emulator: turns answered twice, responses created with an empty input, turns neither
answered nor handed to staff, runs still active, customer-visible waits, extra paid responses.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from django.db import connection

STORM_FAULTS = dict(rate_429=0.30, rate_500=0.10, rate_timeout=0.05, rate_lost=0.05, retry_after="0.05")
SECOND_MESSAGE_SHARE = 0.10


def storm_env(base_url: str) -> dict:
    """The worker's settings: the OpenAI provider against the emulator, short waits."""
    return {
        "ASSISTANT_PROVIDER": "openai",
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_TIMEOUT": "0.5",
        "ASSISTANT_BACKOFF_BASE": "0.05",
        "ASSISTANT_BACKOFF_MAX": "0.4",
        "ASSISTANT_MAX_ATTEMPTS": "12",
        "ASSISTANT_MAX_RUNS_PER_TICKET_PER_HOUR": "1000",
        "SWEEP_INTERVAL": "1",
        "ASSISTANT_SWEEP_GRACE": "2",
    }


def configure_emulator(emu, *, seed: int = 17) -> None:
    """The storm's faults; a timeout stalls a little longer than the client waits, and a lost answer
    shows up as a timeout, a 500 or a dropped connection."""
    emu.configure(auto_complete=True, latency=0.05, seed=seed, timeout_sleep=0.7, lost_mode="mixed", **STORM_FAULTS)


def second_messages(emu, *, every: int = round(1 / SECOND_MESSAGE_SHARE)) -> None:
    """On one ticket in `every` (by id) the customer writes again while the run's first call
    (creating the conversation) is in flight."""
    from tickets import services as desk
    from tickets.models import Ticket

    done: set[int] = set()

    def hook(method, path, body):
        reference = ((body or {}).get("metadata") or {}).get("ticket", "")
        pk = int(reference[2:]) if reference.startswith("T-") and reference[2:].isdigit() else 0
        if not pk or pk % every or pk in done:
            return
        done.add(pk)
        try:
            ticket = Ticket.objects.select_related("customer").get(pk=pk)
            desk.customer_reply(ticket=ticket, customer=ticket.customer, body=f"Second message on {ticket.reference}")
        finally:
            connection.close()
        time.sleep(0.2)  # the call stays in flight a little while the message lands

    emu.on_call(hook, method="POST", path_prefix="/v1/conversations", count=None)


def expected_messages(tickets: list, *, every: int = round(1 / SECOND_MESSAGE_SHARE)) -> int:
    return len(tickets) + sum(1 for t in tickets if t.pk % every == 0)


def open_storm_tickets(n: int) -> list:
    """n tickets, each with one customer message (each asks for a run as it is opened)."""
    from tests.factories import CustomerFactory
    from tickets import services as desk

    customer = CustomerFactory()
    return [
        desk.ticket_open(customer=customer, subject=f"Storm {i}", body=f"Storm question number {i}") for i in range(n)
    ]


def settled(expected: int) -> bool:
    """Every customer message is in and no run is active."""
    from assistants.models import Message, Run

    if Run.objects.filter(status__in=Run.ACTIVE).exists():
        return False
    return Message.objects.filter(role="user").count() >= expected


@dataclass
class StormReport:
    runs: int = 0
    runs_by_status: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    customer_messages: int = 0
    answered_twice: int = 0
    empty_inputs: int = 0
    handed_to_staff: int = 0
    lost_turns: int = 0
    active_runs: int = 0
    responses_created: int = 0
    extra_paid_responses: int = 0
    waits: list = field(default_factory=list)

    def percentile(self, q: float) -> float:
        if not self.waits:
            return 0.0
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    def lines(self) -> list[str]:
        per100 = 100 * self.extra_paid_responses / max(self.runs, 1)
        return [
            f"runs: {self.runs} {dict(sorted(self.runs_by_status.items()))}; errors of failed runs: {self.errors}",
            f"customer messages: {self.customer_messages}",
            f"turns answered twice: {self.answered_twice}; responses with empty input: {self.empty_inputs}",
            f"handed to staff (customer told): {self.handed_to_staff}; turns neither answered nor handed: "
            f"{self.lost_turns}; runs still active: {self.active_runs}",
            f"customer-visible wait: p50 {self.percentile(0.5):.2f} s, p95 {self.percentile(0.95):.2f} s, "
            f"max {max(self.waits, default=0):.2f} s",
            f"responses created: {self.responses_created}; extra paid responses: {self.extra_paid_responses} "
            f"({per100:.1f} per 100 runs)",
        ]


def _texts(items) -> list[str]:
    out = []
    for item in items or []:
        if item.get("type") == "message" and item.get("role") == "user":
            content = item.get("content")
            out.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return out


def measure(emu) -> StormReport:
    from assistants.models import Message, Run

    report = StormReport()
    runs = list(Run.objects.all())
    report.runs = len(runs)
    for run in runs:
        report.runs_by_status[run.status] = report.runs_by_status.get(run.status, 0) + 1
        if run.status != Run.Status.COMPLETED:
            report.errors[run.error_code] = report.errors.get(run.error_code, 0) + 1
    report.active_runs = sum(run.is_active for run in runs)

    responses = list(emu.state()["responses"].values())
    report.responses_created = len(responses)
    report.empty_inputs = sum(1 for r in responses if not r["input"])
    # A turn answered twice: a customer message that the model answered in two responses.
    answered: dict[str, int] = {}
    for r in responses:
        if r["status"] in ("completed", "incomplete"):
            for text in set(_texts(r["input"])):
                answered[text] = answered.get(text, 0) + 1
    report.answered_twice = sum(1 for n in answered.values() if n > 1)
    used = {rid for run in runs for rid in run.remote_response_ids}
    adopted = sum(1 for run in runs if run.provider_state.get("adopted_orphan"))
    report.extra_paid_responses = max(0, len({r["id"] for r in responses} - used) - adopted)

    messages = list(Message.objects.order_by("thread_id", "seq").select_related("answered_by"))
    by_thread: dict[int, list] = {}
    for m in messages:
        by_thread.setdefault(m.thread_id, []).append(m)
    for thread_messages in by_thread.values():
        public_after = [m for m in thread_messages if m.role == "assistant" and m.draft_state == "published"]
        if any(m.kind == Message.Kind.NOTICE for m in thread_messages):
            report.handed_to_staff += 1
        for m in thread_messages:
            if m.role != "user":
                continue
            report.customer_messages += 1
            later = [p for p in public_after if p.seq > m.seq]
            run = m.answered_by
            drafted = run is not None and run.status == Run.Status.COMPLETED
            if not later and not drafted:
                report.lost_turns += 1
            if later:
                report.waits.append((later[0].published_at - m.created_at).total_seconds())
    return report


def summary(report: StormReport) -> str:
    return "\n".join(report.lines()) + f"\n(median wait {statistics.median(report.waits or [0]):.2f} s)"
