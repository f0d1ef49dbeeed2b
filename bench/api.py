"""REST API benchmark: listing 100 messages newest first on a 10,000-message thread and listing
threads at 100,000 tickets (in-process, the median of --runs requests and the queries of one), and
message creates per second through gunicorn with 4 workers (started here on a free port against the
bench database; --posters client threads, each posting to its own customer's ticket).

Uses its own database (created if missing, migrated; tickets topped up with bench/seed.py):
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_bench_api (default)
    BENCH_BROKER_URL=redis://127.0.0.1:6379/13 (the runs the creates ask for are queued there, no worker)

    .venv/bin/python bench/api.py [--tickets 100000] [--runs 31] [--seconds 20] [--posters 8] [--no-creates]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench_api")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ["DEBUG"] = "0"
os.environ["ASSISTANT_PROVIDER"] = "offline"
os.environ["API_REQUESTS_PER_MINUTE"] = "100000000"
os.environ["HELPDESK_POSTS_PER_MINUTE"] = "100000000"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BIG_SUBJECT = "API bench: 10,000 messages"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def big_thread(n: int = 10_000):
    from assistants.models import Message, Thread
    from tickets.models import Ticket

    ticket = Ticket.objects.filter(subject=BIG_SUBJECT).select_related("thread").first()
    if ticket is not None:
        return ticket
    customer = Ticket.objects.order_by("pk").first().customer
    thread = Thread.objects.create(provider="offline", message_count=n)
    ticket = Ticket.objects.create(subject=BIG_SUBJECT, customer=customer, thread=thread)
    Message.objects.bulk_create(
        [
            Message(thread=thread, seq=i, role="user" if i % 2 else "assistant", body=f"message {i} " + "x" * 200)
            for i in range(1, n + 1)
        ],
        batch_size=2000,
    )
    return ticket


def measure(client, url: str, headers: dict, *, runs: int, warmup: int = 3) -> tuple[float, float, int]:
    """p50 wall time (ms), p50 CPU time of this process (ms: what the request cost here, less the
    waits for a CPU on a busy machine and for the database), and the queries of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(url, headers=headers).status_code == 200
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.content[:200]
    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers=headers)
    return statistics.median(times), statistics.median(cpu), len(queries.captured_queries)


def creates_per_second(secrets: list[tuple[str, str]], *, seconds: float) -> tuple[float, int, int]:
    port = _free_port()
    env = {**os.environ, "WEB_CONCURRENCY": "4", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESS_LOG": ""}
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        done, errors = [0], [0]
        lock = threading.Lock()
        stop = time.perf_counter() + 120

        def post(secret: str, thread_id: str, n: int = 10**9):
            i = 0
            while time.perf_counter() < stop and i < n:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(
                    "POST",
                    f"/api/v1/threads/{thread_id}/messages",
                    json.dumps({"content": f"bench message {i}"}),
                    {"Authorization": f"Bearer {secret}", "Content-Type": "application/json", "Host": "127.0.0.1"},
                )
                status = conn.getresponse().status
                conn.close()
                with lock:
                    if status == 201:
                        done[0] += 1
                    else:
                        errors[0] += 1
                i += 1

        # Warm every worker: its first create loads what the first message needs (about 2 s here).
        warm = [threading.Thread(target=post, args=(*pair, 6)) for pair in secrets]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        done[0] = errors[0] = 0
        stop = time.perf_counter() + seconds
        start = time.perf_counter()
        threads = [threading.Thread(target=post, args=pair) for pair in secrets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        return done[0] / elapsed, done[0], errors[0]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--posters", type=int, default=8)
    parser.add_argument("--no-creates", action="store_true", help="only the in-process reads (no gunicorn)")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from api.tokens import token_create
    from bench import seed
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    added = seed.seed(args.tickets)
    ticket = big_thread()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"seeded {added:,} tickets in {time.perf_counter() - start:.1f} s; {Ticket.objects.count():,} tickets")

    staff_user = seed.User.objects.filter(is_staff=True).order_by("pk").first()
    _token, secret = token_create(user=staff_user, scope="write", name="bench")
    headers = {"Authorization": f"Bearer {secret}"}
    client = Client()
    path = f"/api/v1/threads/thread_{ticket.thread_id}/messages?limit=100"
    first = client.get(path, headers=headers).json()
    middle = f"{path}&after={first['last_id']}"
    results = {
        "100 messages newest first (10,000-message thread)": measure(client, path, headers, runs=args.runs),
        "  the next page (after=)": measure(client, middle, headers, runs=args.runs),
        f"100 threads newest first ({Ticket.objects.count():,} tickets, staff)": measure(
            client, "/api/v1/threads?limit=100", headers, runs=args.runs
        ),
    }
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for label, (ms, cpu, q) in results.items():
        verdict = "ok" if ms <= 10 and q <= 4 else "MISSED"
        print(f"{label:62} p50 {ms:6.2f} ms (CPU {cpu:5.2f} ms)  {q} queries   (aim <= 10 ms, <= 4 q: {verdict})")
    if args.no_creates:
        return

    pairs = []
    tickets = Ticket.objects.select_related("customer").order_by("-pk")[1 : args.posters + 1]
    for t in tickets:
        _t, s = token_create(user=t.customer, scope="write", name="bench")
        pairs.append((s, f"thread_{t.thread_id}"))
    rps, done, errors = creates_per_second(pairs, seconds=args.seconds)
    print(
        f"message create through gunicorn (4 workers, {args.posters} clients, {args.seconds:.0f} s): "
        f"{rps:.1f} creates/s ({done} created, {errors} not 201)"
    )


if __name__ == "__main__":
    main()
