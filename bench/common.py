"""What the benchmark scripts share: their own database, and a real worker process."""

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it is missing (an error means it exists)."""
    if url.startswith("postgres"):
        name = url.rsplit("/", 1)[1].split("?")[0]
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"CREATE DATABASE {name}"], capture_output=True
        )


@contextmanager
def worker(queue: str, warmup: float = 4.0, *, beat: bool = False, concurrency: int | None = None):
    """One `celery worker` (the default concurrency unless given), consuming `queue`, with beat if
    asked; stopped on exit. BENCH_WORKER_LOG=path keeps the worker's INFO log (each task's duration)."""
    log_path = os.environ.get("BENCH_WORKER_LOG")
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
           f"--loglevel={'INFO' if log_path else 'WARNING'}", "--without-gossip", "--without-mingle"]  # fmt: skip
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    if beat:
        cmd += ["-B", "--schedule", f"/tmp/bench-beat-{queue}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=log, start_new_session=True)
    time.sleep(warmup)  # let the pool start
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
        if log_path:
            log.close()


def post_burst(tickets, customer, body: str, posters: int) -> None:
    """Every ticket gets a customer message at once, from `posters` threads (each its own connection)."""
    from django.db import connection

    from tickets import services

    def post(chunk):
        for ticket in chunk:
            services.customer_reply(ticket=ticket, customer=customer, body=body)
        connection.close()

    threads = [threading.Thread(target=post, args=(tickets[i::posters],)) for i in range(posters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
