"""Fixtures for the OpenAI provider tests: the provider wired to our emulator over HTTP."""

from __future__ import annotations

import pytest

from assistants.models import Message, Run
from assistants.providers import openai as openai_provider
from assistants.providers.openai import remote_files
from tests.emulator import Emulator


def emulator_fixture(settings):
    """Use as `yield from` in a fixture: the openai provider talking to an in-process emulator
    (httpx2.MockTransport) through the real SDK."""
    emulator = Emulator(seed=7)
    settings.ASSISTANT_PROVIDER = "openai"
    settings.OPENAI_MODEL = "gpt-5-mini"
    openai_provider.set_client(emulator.client(max_retries=0))
    remote_files.reset_cache()
    yield emulator
    openai_provider.set_client(None)
    remote_files.reset_cache()


@pytest.fixture
def emu(settings):
    """The OpenAI provider against an in-process emulator (a test file may define its own `emu`)."""
    yield from emulator_fixture(settings)


@pytest.fixture
def served(emu):
    """The emulator on a loopback port, for a real worker process: (emulator, base URL)."""
    yield from served_emulator(emu)


def step(ticket) -> Run:
    """One run_advance of the ticket's latest run, and that run re-read."""
    from assistants import services

    run = run_of(ticket)
    services.run_advance(run_id=run.pk)
    run.refresh_from_db()
    return run


def replies(ticket):
    return ticket.thread.messages.filter(role=Message.Role.ASSISTANT, run__isnull=False)


def last_request(emu, method: str, path_prefix: str) -> dict:
    for request in reversed(emu.state()["requests"]):
        if request["method"] == method and request["path"].startswith(path_prefix):
            return request
    raise AssertionError(f"no {method} {path_prefix} request")


def run_of(ticket) -> Run:
    return Run.objects.filter(thread=ticket.thread).order_by("-created_at").first()


def served_emulator(emulator):
    """Use as `yield from` in a fixture: the emulator on a loopback port (for a real worker process),
    its background responses completing by time alone, as OpenAI's do."""
    from tests.emulator import serve_in_thread

    emulator.configure(auto_complete=True, latency=0.2)
    server, base_url = serve_in_thread(emulator)
    yield emulator, base_url
    server.stop()


def worker_env(base_url: str, **overrides) -> dict:
    """A real worker's settings for the OpenAI provider against the served emulator, waits shortened."""
    return {
        "ASSISTANT_PROVIDER": "openai",
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_TIMEOUT": "3",
        "ASSISTANT_BACKOFF_BASE": "0.05",
        "ASSISTANT_BACKOFF_MAX": "0.5",
        "ASSISTANT_MAX_ATTEMPTS": "40",
        **{k: str(v) for k, v in overrides.items()},
    }


def published(ticket):
    """The assistant's replies the customer can see."""
    return Message.objects.filter(
        thread=ticket.thread, role=Message.Role.ASSISTANT, run__isnull=False, draft_state="published"
    )


def created_responses(emu) -> list[dict]:
    """The responses the emulator created (paid for), oldest first, with their input."""
    return list(emu.state()["responses"].values())  # the emulator keeps them in creation order


def user_texts(items) -> list[str]:
    out = []
    for item in items:
        if item.get("type") == "message" and item.get("role") == "user":
            content = item.get("content")
            out.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return out
