import importlib
import os
import socket
import weakref

import pytest
from celery import Task, current_app
from django.core.cache import cache
from django.core.management.commands import flush as flush_command
from django.db import connection, connections
from django.db.models.signals import post_migrate

from assistants import scheduling, services
from assistants.models import Run
from tests.factories import CustomerFactory, StaffFactory

# tests.browser: one chromium and one live server for the whole session, shared by every browser test module.
pytest_plugins = [
    "tests.worker",
    "tests.knowledge_base",
    "tests.openai_support",
    "tests.mail_services",
    "tests.browser",
]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_real_connect = socket.socket.connect


def _guarded_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host not in _LOOPBACK and not str(host).startswith("127."):
            raise RuntimeError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(sock, address)


_real_emit_post_migrate = flush_command.emit_post_migrate_signal
_post_flush_rows: dict[tuple[str, str], tuple[list, list]] = {}


def _emit_post_migrate_after_flush(verbosity, interactive, db, **kwargs):
    """After a transactional test Django flushes every table and sends post_migrate, whose receivers
    rebuild the content types and permissions with about 30 queries per app (0.1 s a test). They
    rebuild the same rows every time, so the first flush of a database sends the signal and keeps
    the rows it made; later flushes insert those rows again with one INSERT per table. Any other
    post_migrate receiver (one a later app adds) gets the real signal every time."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    receivers = [r() if isinstance(r, weakref.ReferenceType) else r for _, r, *_ in post_migrate.receivers]
    modules = {getattr(r, "__module__", "") for r in receivers if r is not None}
    if modules - {"django.contrib.auth.management", "django.contrib.contenttypes.management"}:
        return _real_emit_post_migrate(verbosity, interactive, db, **kwargs)
    key = (db, connections[db].settings_dict["NAME"])
    if key not in _post_flush_rows:
        _real_emit_post_migrate(verbosity, interactive, db, **kwargs)
        _post_flush_rows[key] = (
            list(ContentType.objects.using(db).order_by("pk")),
            list(Permission.objects.using(db).order_by("pk")),
        )
        return None
    content_types, permissions = _post_flush_rows[key]
    ContentType.objects.using(db).bulk_create(content_types)
    Permission.objects.using(db).bulk_create(permissions)
    ContentType.objects.clear_cache()
    return None


flush_command.emit_post_migrate_signal = _emit_post_migrate_after_flush


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, settings):
    """A fake key, and any connection outside loopback fails loudly."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    settings.OPENAI_API_KEY = "sk-test-not-a-real-key"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        message = "needs PostgreSQL: set DATABASE_URL=postgres://..."
        if REQUIRE_SERVICES:
            pytest.fail(message + " (REQUIRE_SERVICES=1 turns this skip into a failure)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and cached counts never leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(client):
    """A staff member, logged in with the test client."""
    user = StaffFactory()
    client.force_login(user)
    return user


@pytest.fixture
def lead(client):
    """A support lead (the group the roles migration made), logged in with the test client."""
    from django.contrib.auth.models import Group

    user = StaffFactory(username="lead@example.com")
    user.groups.add(Group.objects.get(name="Support lead"))
    client.force_login(user)
    return user


@pytest.fixture
def customer():
    return CustomerFactory()


@pytest.fixture
def portal(client, customer):
    """The test client, logged in as `customer`."""
    client.force_login(customer)
    return client


@pytest.fixture
def sent(monkeypatch):
    """Tasks sent with .delay(), recorded; `sent.run()` executes them in-process as a worker would."""

    class Sent(list):
        def run(self):
            while self:
                name, args = self.pop(0)
                current_app.tasks[name](*args)

    calls = Sent()
    monkeypatch.setattr(Task, "delay", lambda self, *args, **kw: calls.append((self.name, args)))
    return calls


class Enqueued(list):
    """What the code sent to the broker, recorded instead of sent (tests without a worker)."""


@pytest.fixture(autouse=True)
def enqueued(request, monkeypatch):
    calls = Enqueued()
    if request.node.get_closest_marker("worker") is None:
        monkeypatch.setattr(scheduling, "enqueue_step", lambda run_id, delay=0.0: calls.append((run_id, delay)))
    return calls


@pytest.fixture
def drain():
    """Advance every active run until none is left, as a worker would (without the waits)."""

    def _drain(max_steps: int = 200) -> int:
        steps = 0
        while steps < max_steps:
            active = list(Run.objects.filter(status__in=Run.ACTIVE).values_list("pk", flat=True))
            if not active:
                return steps
            for run_id in active:
                services.run_advance(run_id=run_id)
                steps += 1
        raise AssertionError(f"runs still active after {max_steps} steps")

    return _drain


class Jobs(list):
    """Mail and notification tasks the code queued, recorded instead of sent (tests without a worker).
    `jobs.run()` executes them in-process, as a worker would, until none is left."""

    def run(self) -> int:
        done = 0
        while self:
            name, args = self.pop(0)
            importlib.import_module(name.rsplit(".", 1)[0])  # registers the module's tasks
            current_app.tasks[name](*args)
            done += 1
        return done

    def names(self) -> list[str]:
        return [name for name, _ in self]


@pytest.fixture(autouse=True)
def jobs(request, monkeypatch):
    from mail import jobs as mail_jobs
    from tickets import notifications

    calls = Jobs()
    if request.node.get_closest_marker("worker") is None:
        monkeypatch.setattr(
            mail_jobs, "enqueue", lambda name, *args, countdown=None: calls.append((f"mail.tasks.{name}", args))
        )
        monkeypatch.setattr(
            notifications, "_queue", lambda *args: calls.append(("tickets.tasks.send_staff_mail", args))
        )
    return calls
