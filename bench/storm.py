"""Fault-storm benchmark: 300 tickets against a real worker while the emulator answers 30% of calls
with 429, 10% with 500, lets 5% time out and loses the answer of 5% it processed; on 10% of the
tickets the customer writes again during the run's first call (tests/storm.py drives it).

Prints runs, turns answered twice, responses with empty input, hand-offs to staff, the
customer-visible wait (p50/p95/max, message committed -> first public answer or notice) and extra
paid responses per 100 runs. Uses its own database and Redis DB (BENCH_DATABASE_URL /
BENCH_BROKER_URL); BENCH_WORKER_LOG=path keeps the worker's task log.

    .venv/bin/python bench/storm.py [--tickets 300] [--concurrency 4] [--seed 17]
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, worker  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench_storm")
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
os.environ["CELERY_QUEUE"] = "bench-storm"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    from tests.emulator import Emulator, serve_in_thread

    emu = Emulator(seed=args.seed)
    server, base_url = serve_in_thread(emu)
    from tests import storm

    os.environ.update(storm.storm_env(base_url))
    os.environ["CELERY_WORKER_CONCURRENCY"] = str(args.concurrency)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from config.celery import app

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    app.control.purge()
    storm.configure_emulator(emu, seed=args.seed)
    storm.second_messages(emu)

    with worker("bench-storm", beat=True, concurrency=args.concurrency):
        started = time.monotonic()
        tickets = storm.open_storm_tickets(args.tickets)
        expected = storm.expected_messages(tickets)
        while not storm.settled(expected):
            if time.monotonic() - started > 900:
                raise SystemExit("timed out waiting for the storm to settle")
            time.sleep(0.2)
        wall = time.monotonic() - started
        report = storm.measure(emu)
    server.stop()

    counters = emu.state()["counters"]
    faults = {k: v for k, v in counters.items() if not k.endswith(" 200")}
    print(f"database: {connection.vendor}, broker: {os.environ['CELERY_BROKER_URL']}, one worker x {args.concurrency}")
    print(f"tickets: {args.tickets}, seed {args.seed}; the storm settled after {wall:.1f} s")
    print(f"faults served: {sum(faults.values())} ({', '.join(f'{k}: {v}' for k, v in sorted(faults.items()))})")
    print(storm.summary(report))


if __name__ == "__main__":
    main()
