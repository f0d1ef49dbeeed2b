"""Live-pages benchmark: what 100 agents watching the desk cost the server, at 100,000 tickets.

Seeds PostgreSQL in bulk (bench/seed.py, as bench/pages.py does; the triggers of the change feed
fire on the COPY too, so the feed holds a row per seeded message and ticket: far more than the
hour a live desk keeps), then signs in 100 agents, each with an open inbox and an open ticket
page, and times their update checks in-process (Django test Client):
- nothing changed: every agent's two polls, --rounds times: server time (median, p95) and the
  SQL queries of a check;
- something changed: a customer writes on a watched ticket; then the watching agent's ticket
  poll (the new message, run status, side panel) and every agent's inbox poll (the whole list
  again) are timed.
From those it prints the load at the pages' poll interval (2 s while visible) and the delay
from a customer's post to an agent's page that polling gives.

Uses its own database (created if missing, migrated; tickets already there are kept and topped up):
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_bench_live (default)

    .venv/bin/python bench/live.py [--size 100000] [--agents 100] [--rounds 5] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench_live")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["DEBUG"] = "0"
os.environ["ASSISTANT_PROVIDER"] = "offline"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

POLL_SECONDS = 2.0  # static/live.js, a visible tab
AIM_MS, AIM_QUERIES = 3.0, 2


def timed(client, url: str, params: dict) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(url, params, headers={"HX-Request": "true"})
        elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code in (200, 204), (url, response.status_code)
    return elapsed, len(queries.captured_queries), response.status_code


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=20, help="customer posts for the 'something changed' part")
    parser.add_argument("--fresh", action="store_true", help="empty the database first")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from bench import seed
    from tickets import live, services
    from tickets.models import LiveChange, Ticket

    call_command("migrate", verbosity=0)
    if args.fresh:
        call_command("flush", interactive=False, verbosity=0)
    start = time.perf_counter()
    added = seed.seed(args.size)
    if added:
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    print(
        f"{Ticket.objects.count():,} tickets ({added:,} seeded in {time.perf_counter() - start:.0f} s), "
        f"change feed {LiveChange.objects.count():,} rows",
        flush=True,
    )

    rng = random.Random(11)
    watched = list(Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).order_by("?")[: args.agents])
    Ticket.objects.filter(pk__in=[t.pk for t in watched]).update(ai_mode=Ticket.AIMode.OFF)  # no runs queued
    agents = []
    for i, ticket in enumerate(watched):
        name = f"live-agent-{i}@example.com"
        user, _ = seed.User.objects.get_or_create(username=name, defaults={"email": name, "is_staff": True})
        client = Client()
        client.force_login(user)
        agents.append((client, ticket))
    inbox_url = reverse("staff:inbox_live")

    def cursors() -> tuple[int, dict[int, int]]:
        since = live.latest_change()
        return since, {t.pk: t.thread.message_count for _, t in agents}

    # Warm-up: every agent's two pages once, as when the tabs open.
    since, seqs = cursors()
    for client, ticket in agents:
        client.get(reverse("staff:inbox"))
        client.get(reverse("staff:ticket", args=[ticket.pk]))

    quiet_inbox, quiet_ticket, quiet_queries = [], [], []
    for _ in range(args.rounds):
        for client, ticket in agents:
            ms, q, status = timed(client, inbox_url, {"since": since})
            assert status == 204
            quiet_inbox.append(ms)
            quiet_queries.append(q)
            url = reverse("staff:ticket_live", args=[ticket.pk])
            ms, q, status = timed(client, url, {"since": since, "after": seqs[ticket.pk], "typing": ""})
            assert status == 204
            quiet_ticket.append(ms)
            quiet_queries.append(q)

    # For scale on a busy machine: the ticket page's existing run-status poll, timed the same way.
    baseline = []
    for client, ticket in agents:
        url = reverse("staff:run_status", args=[ticket.pk])
        baseline.append(timed(client, url, {"after": seqs[ticket.pk]})[0])

    changed_ticket, changed_inbox, ticket_queries, inbox_queries = [], [], [], []
    for client, ticket in rng.sample(agents, min(args.changes, len(agents))):
        since, seqs = cursors()
        services.customer_reply(ticket=ticket, customer=ticket.customer, body="Any news on my parcel?")
        url = reverse("staff:ticket_live", args=[ticket.pk])
        ms, q, status = timed(client, url, {"since": since, "after": seqs[ticket.pk], "typing": ""})
        assert status == 200
        changed_ticket.append(ms)
        ticket_queries.append(q)
        ms, q, status = timed(client, inbox_url, {"since": since, "status": "open"})
        assert status == 200
        changed_inbox.append(ms)
        inbox_queries.append(q)
    # Every agent's inbox answers with its whole list after one change anywhere.
    since, _ = cursors()
    services.customer_reply(ticket=watched[0], customer=watched[0].customer, body="One more thing.")
    all_inboxes = [timed(client, inbox_url, {"since": since, "status": "open"})[0] for client, _ in agents]

    checks = quiet_inbox + quiet_ticket
    per_second = 2 * len(agents) / POLL_SECONDS
    quiet_ms = statistics.median(checks)
    print()
    print(f"{len(agents)} agents, each an inbox and a ticket page, polling every {POLL_SECONDS:.0f} s (visible tabs)")
    print(f"  nothing changed ({len(checks):,} checks): inbox {statistics.median(quiet_inbox):.2f} ms, "
          f"ticket page {statistics.median(quiet_ticket):.2f} ms (median); p95 {p95(checks):.2f} ms; "
          f"{max(quiet_queries)} queries per check (aim <= {AIM_MS:.0f} ms, <= {AIM_QUERIES} q: "
          f"{'ok' if quiet_ms <= AIM_MS and max(quiet_queries) <= AIM_QUERIES else 'MISSED'})")  # fmt: skip
    print(f"  for scale, the run-status poll (2 q) timed alongside: {statistics.median(baseline):.2f} ms (median)")
    print(f"  something changed: ticket poll {statistics.median(changed_ticket):.1f} ms "
          f"({max(ticket_queries)} q), inbox poll {statistics.median(changed_inbox):.1f} ms "
          f"({max(inbox_queries)} q), median of {len(changed_ticket)}")  # fmt: skip
    print(f"  one change, all {len(agents)} inboxes re-read: {sum(all_inboxes):.0f} ms of server time "
          f"(median {statistics.median(all_inboxes):.1f} ms each)")  # fmt: skip
    print(f"  load while nothing changes: {per_second:.0f} checks/s = {per_second * quiet_ms:.0f} ms of server "
          f"time per second ({per_second * quiet_ms / 10:.0f} % of one core)")  # fmt: skip
    print(f"  customer post -> agent's page: a poll lands uniformly within {POLL_SECONDS:.0f} s, so p50 "
          f"{POLL_SECONDS / 2 + statistics.median(changed_ticket) / 1000:.2f} s, "
          f"p95 {POLL_SECONDS * 0.95 + p95(changed_ticket) / 1000:.2f} s (hidden tabs: every 15 s)")  # fmt: skip


if __name__ == "__main__":
    main()
