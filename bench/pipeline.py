"""Pipeline benchmark: N tickets each receive a customer message at once; one real Celery worker
(default concurrency) answers them with the offline assistant.

Prints runs per second and p50/p95 latency from the customer message's commit to the reply's
commit, for a burst (every ticket at once: throughput, latency includes queueing) and for a steady
stream (--rate messages per second: the latency of one message). Uses its own database and Redis
DB (override with BENCH_DATABASE_URL / BENCH_BROKER_URL).

    .venv/bin/python bench/pipeline.py [--tickets 200] [--posters 8] [--stream 100 --rate 20]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, post_burst, worker  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench")
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/2")
os.environ["CELERY_QUEUE"] = "bench-pipeline"
os.environ["ASSISTANT_PROVIDER"] = "offline"
os.environ["HELPDESK_DEFAULT_AI_MODE"] = "off"  # tickets are opened quietly, then switched to auto
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--posters", type=int, default=8, help="threads posting the burst")
    parser.add_argument("--stream", type=int, default=100, help="tickets in the steady stream")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second in the stream")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from assistants.models import Message, Run
    from config.celery import app
    from tests.factories import ArticleFactory, CustomerFactory
    from tickets import services
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    app.control.purge()
    for i, topic in enumerate(["refund", "tracking", "password", "address", "invoice", "damaged parcel"]):
        ArticleFactory(title=f"About {topic}", slug=f"bench-{i}", body=f"Everything about {topic}. " * 20)

    customer = CustomerFactory()
    tickets = []
    for i in range(args.tickets + args.stream):
        tickets.append(services.ticket_open(customer=customer, subject=f"Bench {i}", body="hello"))
    Ticket.objects.update(ai_mode=Ticket.AIMode.AUTO)

    def wait_idle(expected_runs: int, since: float) -> float:
        while Run.objects.filter(status__in=Run.ACTIVE).exists() or Run.objects.count() < expected_runs:
            if time.monotonic() - since > 300:
                raise SystemExit("timed out waiting for the worker")
            time.sleep(0.02)
        return time.monotonic()

    def latencies_of(runs) -> list[float]:
        values = []
        for run in runs.select_related("answers_message"):
            reply = Message.objects.get(run=run, role="assistant")
            values.append((reply.created_at - run.answers_message.created_at).total_seconds() * 1000)
        return sorted(values)

    def summary(values: list[float]) -> str:
        p95 = values[max(int(len(values) * 0.95) - 1, 0)]
        return f"p50 {statistics.median(values):.0f} ms, p95 {p95:.0f} ms"

    burst, paced = tickets[: args.tickets], tickets[args.tickets :]
    with worker("bench-pipeline"):
        # 1. A burst: every ticket gets its message at once (throughput; latency includes queueing).
        started = time.monotonic()
        post_burst(burst, customer, "When will my refund arrive?", args.posters)
        posted = time.monotonic()
        finished = wait_idle(len(burst), started)
        burst_latencies = latencies_of(Run.objects.all())
        burst_ids = set(Run.objects.values_list("pk", flat=True))

        # 2. A steady stream at --rate messages per second (latency of one message, little queueing).
        stream_started = time.monotonic()
        for i, ticket in enumerate(paced):
            delay = stream_started + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            services.customer_reply(ticket=ticket, customer=customer, body="How do I reset my password?")
        wait_idle(len(burst) + len(paced), stream_started)
        stream_latencies = latencies_of(Run.objects.exclude(pk__in=burst_ids))

    failed = Run.objects.exclude(status=Run.Status.COMPLETED).count()
    print(f"database: {connection.vendor}, broker: {os.environ['CELERY_BROKER_URL']}, one worker, default concurrency")
    print(f"runs not completed: {failed}")
    print(
        f"burst: {len(burst)} tickets, each a message at once ({args.posters} posting threads, "
        f"posting took {posted - started:.2f} s)"
    )
    print(
        f"  all {len(burst_latencies)} replies after {finished - started:.2f} s: "
        f"throughput {len(burst_latencies) / (finished - started):.1f} runs/s"
    )
    print(f"  latency message commit -> reply commit (includes waiting in the queue): {summary(burst_latencies)}")
    print(f"stream: {len(paced)} tickets, one message every {1000 / args.rate:.0f} ms")
    print(f"  latency message commit -> reply commit: {summary(stream_latencies)}")


if __name__ == "__main__":
    main()
