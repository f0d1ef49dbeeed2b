"""Fixtures for the OpenAI provider tests: the provider wired to our emulator over HTTP."""

from __future__ import annotations

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


def replies(ticket):
    return ticket.thread.messages.filter(role=Message.Role.ASSISTANT, run__isnull=False)


def last_request(emu, method: str, path_prefix: str) -> dict:
    for request in reversed(emu.state()["requests"]):
        if request["method"] == method and request["path"].startswith(path_prefix):
            return request
    raise AssertionError(f"no {method} {path_prefix} request")


def run_of(ticket) -> Run:
    return Run.objects.filter(thread=ticket.thread).order_by("-created_at").first()
