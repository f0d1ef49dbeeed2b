"""Concurrency benchmark with the OpenAI provider: the emulator answers every background response
after LATENCY seconds; N tickets get a customer message at once; one real Celery worker (default
concurrency) runs them. A non-blocking design lands all replies in about one latency (a worker
that waited for the model would need about N * latency / concurrency).

Prints the wall time from the first post to the last reply committed and its ratio to the latency.
Uses its own database and Redis DB (BENCH_DATABASE_URL / BENCH_BROKER_URL).

    .venv/bin/python bench/concurrency.py [--tickets 200] [--latency 2.0]
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, post_burst, worker  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench_concurrency"
)
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
os.environ["CELERY_QUEUE"] = "bench-concurrency"
os.environ["ASSISTANT_PROVIDER"] = "openai"
os.environ["OPENAI_API_KEY"] = "test"
os.environ["HELPDESK_DEFAULT_AI_MODE"] = "off"  # tickets are opened quietly, then switched to auto
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--posters", type=int, default=8)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    from tests.emulator import Emulator, serve_in_thread

    emu = Emulator(latency=args.latency, auto_complete=True)
    server, base_url = serve_in_thread(emu)
    os.environ["OPENAI_BASE_URL"] = base_url

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from assistants.models import Message, Run
    from config.celery import app
    from tests.factories import CustomerFactory
    from tickets import services
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    app.control.purge()
    customer = CustomerFactory()
    tickets = [services.ticket_open(customer=customer, subject=f"Bench {i}", body="hello") for i in range(args.tickets)]
    Ticket.objects.update(ai_mode=Ticket.AIMode.AUTO)

    with worker("bench-concurrency"):
        started = time.monotonic()
        post_burst(tickets, customer, "Where is my parcel?", args.posters)
        posted = time.monotonic()
        while Run.objects.filter(status__in=Run.ACTIVE).exists() or Run.objects.count() < args.tickets:
            if time.monotonic() - started > 600:
                raise SystemExit("timed out waiting for the worker")
            time.sleep(0.05)
        finished = time.monotonic()
        server.stop()

    wall = finished - started
    replies = Message.objects.filter(role="assistant", run__isnull=False, draft_state="published").count()
    polls = emu.count("GET", "/v1/responses/{response_id}")
    print(f"database: {connection.vendor}, broker: {os.environ['CELERY_BROKER_URL']}, one worker, default concurrency")
    print(
        f"emulator latency per response: {args.latency:.1f} s; tickets: {args.tickets} "
        f"(posting took {posted - started:.2f} s)"
    )
    print(f"runs completed: {Run.objects.filter(status='completed').count()}, replies published: {replies}")
    print(
        f"responses created: {emu.count('POST', '/v1/responses')}, polls: {polls} ({polls / args.tickets:.1f} per run)"
    )
    print(f"wall time until all replies committed: {wall:.2f} s = {wall / args.latency:.2f} x the latency")


if __name__ == "__main__":
    main()
