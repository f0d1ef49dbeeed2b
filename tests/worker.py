"""A real Celery worker process for the tests that claim background behaviour.

The worker runs `celery -A config worker` against the test database (committed data: use it with
transactional tests) and the configured broker (Redis in CI, the filesystem transport on a laptop),
on a queue of its own so that nothing else consumes its tasks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


def reset_publisher() -> None:
    """Forget pooled broker connections, after the broker settings changed."""
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_unreachable():
    """Inside the block, publishing goes to a broker nobody listens on (as if Redis were down)."""
    good_broker = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    reset_publisher()
    try:
        yield
    finally:
        app.conf.broker_url = good_broker
        reset_publisher()


class Worker:
    def __init__(self, queue: str, workdir: Path, env: dict[str, str], beat: bool, concurrency: int | None):
        self.lines: list[str] = []
        self._ready = threading.Event()
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--loglevel=INFO"]
        cmd += ["-n", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"]
        if concurrency:
            cmd += ["--concurrency", str(concurrency)]
        if beat:
            cmd += ["-B", "--schedule", str(workdir / f"beat-{uuid.uuid4().hex[:6]}")]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill() reaches the pool children too
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(60):
            self.kill()
            pytest.fail("the Celery worker did not start:\n" + "\n".join(self.lines[-40:]))

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if " ready." in line:
                self._ready.set()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or the OOM killer would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """At the end of a test nothing the worker holds matters any more (its queue is the test's
        own, its results are committed): a warm shutdown would wait up to 15 s for the countdown
        tasks it prefetched, so it is killed at once."""
        self.kill()

    def log(self) -> str:
        return "\n".join(self.lines[-60:])

    def check_alive(self) -> None:
        """Fail at once (with its last words) if the worker process died under the test."""
        if self.proc.poll() is not None:
            pytest.fail(f"the Celery worker exited with {self.proc.returncode}:\n{self.log()}")


class WorkerFactory:
    def __init__(self, workdir: Path):
        self.queue = f"hd-test-{uuid.uuid4().hex[:8]}"
        self.workdir = workdir
        self.workers: list[Worker] = []

    def start(self, *, beat: bool = False, concurrency: int | None = None, **env_overrides: str) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "VAR_DIR": str(settings.VAR_DIR),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_QUEUE": self.queue,
            "PYTHONPATH": str(ROOT),
            "DB_CONN_MAX_AGE": "0",
            **{k: str(v) for k, v in env_overrides.items()},
        }
        worker = Worker(self.queue, self.workdir, env, beat, concurrency)
        self.workers.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()

    def log(self) -> str:
        return "\n\n".join(worker.log() for worker in self.workers)


@pytest.fixture
def celery_worker(transactional_db, tmp_path, settings):
    """Start real worker processes with `celery_worker.start(...)`; they are stopped after the test."""
    factory = WorkerFactory(tmp_path)
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = factory.queue
    settings.CELERY_TASK_DEFAULT_QUEUE = factory.queue
    try:
        yield factory
    finally:
        factory.stop_all()
        app.conf.task_default_queue = previous


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition", describe=None):
    """Poll `predicate` until it is true; on a timeout, fail with `describe()` (what the state was)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n{describe()}" if describe is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {message}{detail}")


def thread_report(thread_id: int) -> str:
    """A thread's runs and its unanswered customer messages, for a failure message."""
    from assistants.models import Message, Run

    fields = ("pk", "trigger", "status", "error_code", "steps", "attempts", "lease_until", "next_step_at")
    lines = [f"run {row}" for row in Run.objects.filter(thread_id=thread_id).order_by("pk").values(*fields)]
    waiting = Message.objects.filter(thread_id=thread_id, role=Message.Role.USER, answered_by__isnull=True)
    lines.append(f"unanswered customer messages (seq): {list(waiting.values_list('seq', flat=True))}")
    return "\n".join(lines)
