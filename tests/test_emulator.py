"""Tests of the OpenAI emulator (tests/emulator), driven through the real openai SDK.

Plain pytest functions, no Django. Run: .venv/bin/python -m pytest tests/test_emulator.py -q -p no:django
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx2
import openai
import pytest

from tests.emulator import Emulator, new_webhook_secret, serve_in_thread, sign_webhook

MODEL = "gpt-test"
LOCKED_ERROR = {
    "type": "invalid_request_error",
    "param": "conversation",
    "code": "conversation_locked",
    "message": "Another process is currently operating on this conversation. Please retry in a few seconds.",
}
LOOKUP_TOOL = {
    "type": "function",
    "name": "lookup_order",
    "description": "Find an order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    "strict": True,
}


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_client(emu: Emulator, **kwargs) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(
        api_key="test",
        base_url="http://emulator/v1",
        http_client=httpx2.Client(transport=emu.transport()),
        **kwargs,
    )


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
def client(emu: Emulator) -> openai.OpenAI:
    return make_client(emu)


@pytest.fixture
def loopback():
    emu = Emulator()
    server, base_url = serve_in_thread(emu)
    try:
        yield emu, server, base_url
    finally:
        server.stop()


def poll(client: openai.OpenAI, response_id: str, limit: int = 10):
    for _ in range(limit):
        resp = client.responses.retrieve(response_id)
        if resp.status not in ("queued", "in_progress"):
            return resp
    raise AssertionError("response never finished")


# ---------------------------------------------------------------------------------------------- conversations
def test_conversation_crud(client: openai.OpenAI) -> None:
    conv = client.conversations.create(metadata={"ticket_id": "42"}, items=[{"role": "user", "content": "Hi"}])
    assert conv.id.startswith("conv_")
    assert conv.object == "conversation"
    assert conv.metadata == {"ticket_id": "42"}

    assert client.conversations.retrieve(conv.id).id == conv.id
    updated = client.conversations.update(conv.id, metadata={"ticket_id": "42", "escalated": "true"})
    assert updated.metadata == {"ticket_id": "42", "escalated": "true"}

    deleted = client.conversations.delete(conv.id)
    assert deleted.deleted is True and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError) as exc:
        client.conversations.retrieve(conv.id)
    assert "not found" in exc.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list("conv_missing")


@pytest.mark.parametrize(
    "metadata, code",
    [
        ({f"k{i}": "v" for i in range(17)}, "object_above_max_properties"),
        ({"k" * 65: "v"}, "string_above_max_length"),
        ({"k": "v" * 513}, "string_above_max_length"),
        ({"k": 4}, "invalid_type"),
    ],
)
def test_metadata_limits_rejected(client: openai.OpenAI, metadata, code) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        client.conversations.create(metadata=metadata)
    assert exc.value.status_code == 400
    assert exc.value.code == code
    assert exc.value.type == "invalid_request_error"
    conv = client.conversations.create(metadata={f"k{i}": "v" * 512 for i in range(16)})
    with pytest.raises(openai.BadRequestError):
        client.conversations.update(conv.id, metadata=metadata)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=MODEL, input="x", metadata=metadata)


def test_items_limits_and_pagination(client: openai.OpenAI) -> None:
    too_many = [{"role": "user", "content": f"m{i}"} for i in range(21)]
    with pytest.raises(openai.BadRequestError) as exc:
        client.conversations.create(items=too_many)
    assert exc.value.code == "array_above_max_length"

    conv = client.conversations.create(items=[{"role": "user", "content": f"m{i}"} for i in range(20)])
    with pytest.raises(openai.BadRequestError):
        client.conversations.items.create(conv.id, items=too_many)
    added = client.conversations.items.create(
        conv.id, items=[{"type": "message", "role": "assistant", "content": f"a{i}"} for i in range(5)]
    )
    assert len(added.data) == 5 and added.data[0].id.startswith("msg_")

    first = client.conversations.items.list(conv.id, limit=10, order="asc")
    assert [i.content[0].text for i in first.data] == [f"m{i}" for i in range(10)]
    assert first.has_more is True
    assert first.first_id == first.data[0].id and first.last_id == first.data[-1].id
    second = client.conversations.items.list(conv.id, limit=10, order="asc", after=first.last_id)
    assert second.data[0].content[0].text == "m10"

    newest = client.conversations.items.list(conv.id)  # default: desc, limit 20
    assert len(newest.data) == 20 and newest.data[0].content[0].text == "a4" and newest.has_more
    assert len(list(client.conversations.items.list(conv.id, limit=7))) == 25  # auto-pagination

    with pytest.raises(openai.BadRequestError):
        client.conversations.items.list(conv.id, limit=101)

    item = client.conversations.items.retrieve(first.data[0].id, conversation_id=conv.id)
    assert item.content[0].text == "m0"
    after_delete = client.conversations.items.delete(first.data[0].id, conversation_id=conv.id)
    assert after_delete.object == "conversation"
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(first.data[0].id, conversation_id=conv.id)


# ---------------------------------------------------------------------------------------------- responses
def test_background_lifecycle_and_conversation_append(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    resp = client.responses.create(
        model=MODEL,
        conversation=conv.id,
        input="My printer is on fire",
        background=True,
        store=True,
        metadata={"ticket": "7"},
        prompt_cache_key="ticket-7",
        safety_identifier="user-hash",
    )
    assert resp.id.startswith("resp_") and resp.status == "queued" and resp.background is True
    assert resp.conversation.id == conv.id and resp.output == []
    assert client.conversations.items.list(conv.id).data == []  # appended only on completion

    assert client.responses.retrieve(resp.id).status == "in_progress"
    done = client.responses.retrieve(resp.id)
    assert done.status == "completed" and done.completed_at is not None
    assert done.output_text == "Emulated reply to: My printer is on fire"
    assert done.metadata == {"ticket": "7"} and done.prompt_cache_key == "ticket-7"

    items = client.conversations.items.list(conv.id, order="asc").data
    assert [(i.type, i.role) for i in items] == [("message", "user"), ("message", "assistant")]
    assert items[0].id.startswith("msg_") and items[1].id == done.output[0].id


def test_foreground_completes_immediately(client: openai.OpenAI) -> None:
    resp = client.responses.create(model=MODEL, input="hello")
    assert resp.status == "completed"
    assert resp.output[0].content[0].annotations == []
    page = client.responses.input_items.list(resp.id)
    assert page.data[0].content[0].text == "hello"


def test_completion_waits_for_latency() -> None:
    clock = FakeClock()
    emu = Emulator(latency=5.0, clock=clock)
    client = make_client(emu)
    resp = client.responses.create(model=MODEL, input="slow one", background=True)
    statuses = [client.responses.retrieve(resp.id).status for _ in range(3)]
    assert statuses == ["in_progress", "in_progress", "in_progress"]
    clock.advance(5.0)
    assert client.responses.retrieve(resp.id).status == "completed"


def test_auto_complete_without_polling() -> None:
    clock = FakeClock()
    emu = Emulator(latency=2.0, auto_complete=True, clock=clock)
    client = make_client(emu)
    conv = client.conversations.create()
    resp = client.responses.create(model=MODEL, conversation=conv.id, input="x", background=True)
    clock.advance(2.5)
    emu.tick()
    assert emu.state()["responses"][resp.id]["status"] == "completed"
    assert len(client.conversations.items.list(conv.id).data) == 2


def test_function_call_loop(emu: Emulator, client: openai.OpenAI) -> None:
    emu.set_rules(
        [{"when_contains": "order", "function_call": {"name": "lookup_order", "arguments": {"order_id": "A1"}}}]
    )
    conv = client.conversations.create()
    first = client.responses.create(
        model=MODEL,
        conversation=conv.id,
        tools=[LOOKUP_TOOL],
        background=True,
        store=True,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Where is my order A1?"}]}],
    )
    first = poll(client, first.id)
    assert first.status == "completed"
    [call] = first.output
    assert call.type == "function_call" and call.name == "lookup_order"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"order_id": "A1"}

    second = client.responses.create(
        model=MODEL,
        conversation=conv.id,
        tools=[LOOKUP_TOOL],
        background=True,
        store=True,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"status": "shipped"}'}],
    )
    second = poll(client, second.id)
    assert second.output[0].type == "message"
    assert second.output_text.startswith("Emulated reply to: Where is my order A1?")
    assert "shipped" in second.output_text

    types = [i.type for i in client.conversations.items.list(conv.id, order="asc").data]
    assert types == ["message", "function_call", "function_call_output", "message"]

    # without the tool, the trigger word does not produce a call
    plain = client.responses.create(model=MODEL, input="my order?")
    assert plain.output[0].type == "message"


def test_conversation_locked_while_in_flight(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    busy = client.responses.create(model=MODEL, conversation=conv.id, input="first", background=True)
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model=MODEL, conversation=conv.id, input="second", background=True)
    assert exc.value.status_code == 400
    assert exc.value.body == LOCKED_ERROR
    assert exc.value.response.json() == {"error": LOCKED_ERROR}
    with pytest.raises(openai.BadRequestError) as exc:
        client.conversations.items.create(conv.id, items=[{"role": "user", "content": "more"}])
    assert exc.value.code == "conversation_locked"

    other = client.conversations.create()  # other conversations are unaffected
    assert client.responses.create(model=MODEL, conversation=other.id, input="ok").status == "completed"

    poll(client, busy.id)
    assert client.responses.create(model=MODEL, conversation=conv.id, input="second").status == "completed"


def test_cancel_is_idempotent(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    resp = client.responses.create(model=MODEL, conversation=conv.id, input="cancel me", background=True)
    cancelled = client.responses.cancel(resp.id)
    assert cancelled.status == "cancelled"
    again = client.responses.cancel(resp.id)
    assert again.status == "cancelled" and again.id == resp.id
    assert client.responses.retrieve(resp.id).status == "cancelled"
    assert client.conversations.items.list(conv.id).data == []
    # lock released
    assert client.responses.create(model=MODEL, conversation=conv.id, input="next").status == "completed"

    done = client.responses.create(model=MODEL, input="sync")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(done.id)
    client.responses.delete(done.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(done.id)


def test_scripted_replies(emu: Emulator, client: openai.OpenAI) -> None:
    seen = {}

    def script(request, items):
        seen["model"] = request["model"]
        seen["texts"] = [i["content"][0]["text"] for i in items if i["type"] == "message"]
        return [{"type": "message", "role": "assistant", "content": "scripted!"}]

    emu.script(script)
    conv = client.conversations.create(items=[{"role": "user", "content": "earlier"}])
    resp = client.responses.create(model=MODEL, conversation=conv.id, input="now")
    assert resp.output_text == "scripted!"
    assert seen == {"model": MODEL, "texts": ["earlier", "now"]}

    emu.script(lambda request, items: {"status": "failed", "error": {"code": "server_error", "message": "x"}})
    failed = client.responses.create(model=MODEL, input="boom")
    assert failed.status == "failed" and failed.error.code == "server_error"

    emu.script(None)
    emu.set_rules([{"when_contains": "hello", "reply": "Hi from a rule"}])
    assert client.responses.create(model=MODEL, input="well hello").output_text == "Hi from a rule"
    assert client.responses.create(model=MODEL, input="bye").output_text == "Emulated reply to: bye"


def test_usage_and_prompt_cache(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    first = client.responses.create(
        model=MODEL,
        conversation=conv.id,
        input="a" * 40,
        instructions="b" * 20,
        prompt_cache_key="t1",
    )
    usage = first.usage
    assert usage.input_tokens == 10 + 5
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens == len(first.output_text) // 4 + (len(first.output_text) % 4 > 0)
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens

    second = client.responses.create(
        model=MODEL,
        conversation=conv.id,
        input="c" * 8,
        instructions="b" * 20,
        prompt_cache_key="t1",
    )
    # prefix [instructions, first user message] was in the previous prompt for the same key
    assert second.usage.input_tokens_details.cached_tokens == 15
    assert second.usage.input_tokens == 15 + first.usage.output_tokens + 2
    other_key = client.responses.create(
        model=MODEL,
        conversation=conv.id,
        input="d",
        instructions="b" * 20,
        prompt_cache_key="t2",
    )
    assert other_key.usage.input_tokens_details.cached_tokens == 0

    capped = client.responses.create(model=MODEL, input="z" * 400, max_output_tokens=16)
    assert capped.status == "incomplete" and capped.incomplete_details.reason == "max_output_tokens"


def test_files_vector_store_and_file_search(client: openai.OpenAI) -> None:
    manual = client.files.create(
        file=("manual.txt", b"To reset the printer hold the power button."), purpose="assistants"
    )
    other = client.files.create(file=("other.txt", b"Nothing relevant here."), purpose="user_data")
    assert manual.id.startswith("file-") and manual.bytes == 43 and manual.filename == "manual.txt"
    assert client.files.retrieve(manual.id).purpose == "assistants"
    assert client.files.content(manual.id).read() == b"To reset the printer hold the power button."

    store = client.vector_stores.create(name="kb", metadata={"team": "support"})
    assert store.id.startswith("vs_")
    vs_file = client.vector_stores.files.create(
        vector_store_id=store.id, file_id=manual.id, attributes={"lang": "en", "v": 2}
    )
    assert vs_file.status == "completed" and vs_file.attributes == {"lang": "en", "v": 2}
    client.vector_stores.files.create(vector_store_id=store.id, file_id=other.id)
    assert len(client.vector_stores.files.list(vector_store_id=store.id).data) == 2
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 2

    resp = client.responses.create(
        model=MODEL,
        input="How do I reset my printer?",
        include=["file_search_call.results"],
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    )
    search_call, message = resp.output
    assert search_call.type == "file_search_call" and search_call.id.startswith("fs_")
    assert [r.file_id for r in search_call.results] == [manual.id]
    [citation] = message.content[0].annotations
    assert citation.type == "file_citation" and citation.file_id == manual.id and citation.filename == "manual.txt"

    client.vector_stores.files.delete(file_id=manual.id, vector_store_id=store.id)
    assert client.vector_stores.delete(store.id).deleted is True
    assert client.files.delete(other.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(other.id)


def test_input_parts_are_validated(client: openai.OpenAI) -> None:
    upload = client.files.create(file=("shot.png", b"\x89PNG fake"), purpose="user_data")
    conv = client.conversations.create()
    added = client.conversations.items.create(
        conv.id,
        items=[
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "see attached"},
                    {"type": "input_image", "file_id": upload.id, "detail": "auto"},
                    {"type": "input_file", "file_id": upload.id},
                ],
            }
        ],
    )
    assert len(added.data[0].content) == 3
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(
            model=MODEL, input=[{"role": "user", "content": [{"type": "input_file", "file_id": "file-nope"}]}]
        )
    assert exc.value.code == "file_not_found"


# ---------------------------------------------------------------------------------------------- faults
def test_429_retry_after_is_honoured(emu: Emulator) -> None:
    client = make_client(emu, max_retries=2)
    emu.fail_next(path_prefix="/v1/conversations", method="POST", status=429, count=2, headers={"retry-after": "0.2"})
    started = time.monotonic()
    conv = client.conversations.create()
    elapsed = time.monotonic() - started
    assert conv.id.startswith("conv_")
    assert 0.4 <= elapsed < 2.0
    assert emu.count("POST", "/v1/conversations", 429) == 2
    assert emu.count("POST", "/v1/conversations", 200) == 1

    emu.fail_next(path_prefix="/v1/conversations", status=429, headers={"retry-after": "500"})
    with pytest.raises(openai.RateLimitError):  # > 120 s: the SDK gives up at once
        client.conversations.create()
    assert emu.count("POST", "/v1/conversations", 429) == 3

    emu.fail_next(status=429, code="insufficient_quota", count=3)
    with pytest.raises(openai.RateLimitError) as exc:
        make_client(emu).responses.create(model=MODEL, input="x")
    assert exc.value.code == "insufficient_quota"


@pytest.mark.parametrize(
    "rule, error",
    [
        ({"status": 500}, openai.InternalServerError),
        ({"status": 401}, openai.AuthenticationError),
        ({"status": 403}, openai.PermissionDeniedError),
        ({"status": 404}, openai.NotFoundError),
        ({"status": 400, "code": "conversation_locked"}, openai.BadRequestError),
        ({"kind": "timeout"}, openai.APITimeoutError),
        ({"kind": "drop"}, openai.APIConnectionError),
        ({"kind": "connect"}, openai.APIConnectionError),
    ],
)
def test_one_shot_faults(emu: Emulator, client: openai.OpenAI, rule, error) -> None:
    emu.fail_next(path_prefix="/v1/responses", method="POST", **rule)
    with pytest.raises(error):
        client.responses.create(model=MODEL, input="x")
    assert emu.state()["responses"] == {}  # not applied
    assert client.responses.create(model=MODEL, input="x").status == "completed"  # one-shot


def test_processed_but_lost(emu: Emulator, client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    emu.fail_next(path_prefix="/v1/responses", method="POST", kind="lost", lost_as="500")
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model=MODEL, conversation=conv.id, input="lost?", background=True)
    [created] = emu.state()["responses"].values()
    assert created["status"] == "queued"
    assert emu.count("POST", "/v1/responses", "lost:500") == 1

    # an SDK retry of the lost POST now hits the lock the first one holds
    emu.fail_next(path_prefix="/v1/responses", method="POST", kind="lost", lost_as="timeout")
    retrying = make_client(emu, max_retries=1)
    other = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as exc:
        retrying.responses.create(model=MODEL, conversation=other.id, input="again", background=True)
    assert exc.value.code == "conversation_locked"
    assert len(emu.state()["responses"]) == 2


def test_global_fault_rates_are_seeded() -> None:
    def run(seed: int):
        emu = Emulator(seed=seed, faults={"rate_500": 0.5, "fault_path_prefix": "/v1/responses"})
        client = make_client(emu)
        outcome = []
        for _ in range(20):
            try:
                client.responses.create(model=MODEL, input="x")
                outcome.append("ok")
            except openai.InternalServerError:
                outcome.append("500")
        client.conversations.create()  # outside the fault prefix: never fails
        return outcome

    assert run(7) == run(7)
    assert 0 < run(7).count("500") < 20


# ---------------------------------------------------------------------------------------------- webhooks
def test_webhook_signature_accepted_by_sdk_and_tamper_rejected() -> None:
    secret = new_webhook_secret()
    received = []
    emu = Emulator(webhook_url=lambda body, headers: received.append((body, headers)), webhook_secret=secret)
    client = make_client(emu)
    checker = openai.OpenAI(api_key="test", webhook_secret=secret)

    done = client.responses.create(model=MODEL, input="hi", background=True)
    poll(client, done.id)
    cancelled = client.responses.create(model=MODEL, input="hi", background=True)
    client.responses.cancel(cancelled.id)
    client.responses.create(model=MODEL, input="foreground: no webhook")

    assert len(received) == 2
    events = [checker.webhooks.unwrap(body, headers) for body, headers in received]
    assert [(e.type, e.data.id) for e in events] == [
        ("response.completed", done.id),
        ("response.cancelled", cancelled.id),
    ]
    assert events[0].id.startswith("evt_") and received[0][1]["webhook-id"].startswith("wh_")

    body, headers = received[0]
    with pytest.raises(openai.InvalidWebhookSignatureError):
        checker.webhooks.unwrap(body.replace(done.id.encode(), b"resp_other"), headers)
    stale = emu.sign_webhook(body, secret, timestamp=int(time.time()) - 400)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        checker.webhooks.unwrap(body, stale)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        checker.webhooks.unwrap(body, sign_webhook(body, new_webhook_secret()))
    fresh = sign_webhook(body, secret, webhook_id="wh_fixed")
    assert checker.webhooks.unwrap(body, fresh).data.id == done.id


def test_failed_webhook_event() -> None:
    secret = new_webhook_secret()
    received = []
    emu = Emulator(
        webhook_url=lambda b, h: received.append(json.loads(b)),
        webhook_secret=secret,
        rules=[{"when_contains": "explode", "fail": {"code": "server_error"}}],
    )
    client = make_client(emu)
    resp = client.responses.create(model=MODEL, input="please explode", background=True)
    assert poll(client, resp.id).status == "failed"
    assert received[0]["type"] == "response.failed" and received[0]["data"]["id"] == resp.id


# ---------------------------------------------------------------------------------------------- loopback server
def test_loopback_server_with_sdk_and_control_api(loopback) -> None:
    _emu, _server, base_url = loopback
    root = base_url[: -len("/v1")]
    client = openai.OpenAI(api_key="test", base_url=base_url, max_retries=2)
    control = httpx2.Client(base_url=root)

    assert (
        control.post(
            "/_emulator/config",
            json={
                "rules": [{"when_contains": "refund", "reply": "Refund approved"}],
                "latency": 0,
            },
        ).status_code
        == 200
    )
    conv = client.conversations.create(metadata={"ticket": "1"})
    resp = client.responses.create(model=MODEL, conversation=conv.id, input="refund please", background=True)
    assert resp.status == "queued"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model=MODEL, conversation=conv.id, input="again", background=True)
    assert exc.value.body == LOCKED_ERROR
    assert poll(client, resp.id).output_text == "Refund approved"

    upload = client.files.create(file=("kb.txt", b"refund policy: 30 days"), purpose="assistants")
    assert client.files.content(upload.id).read() == b"refund policy: 30 days"

    assert (
        control.post(
            "/_emulator/fail_next",
            json={
                "path_prefix": "/v1/responses",
                "method": "POST",
                "status": 429,
                "count": 1,
                "headers": {"retry-after-ms": "50"},
            },
        ).status_code
        == 200
    )
    assert client.responses.create(model=MODEL, input="after 429").status == "completed"

    state = control.get("/_emulator/state").json()
    assert state["conversations"][conv.id]["metadata"] == {"ticket": "1"}
    assert len(state["conversations"][conv.id]["items"]) == 2
    assert state["responses"][resp.id]["status"] == "completed"
    assert state["counters"]["POST /v1/responses 429"] == 1
    assert state["counters"]["POST /v1/responses 400"] == 1
    assert upload.id in state["files"]

    assert control.post("/_emulator/reset", json={}).json() == {"ok": True}
    assert control.get("/_emulator/state").json()["conversations"] == {}
    assert control.post("/_emulator/config", json={"bogus": 1}).status_code == 400


def test_loopback_timeout_and_drop(loopback) -> None:
    emu, _server, base_url = loopback
    client = openai.OpenAI(api_key="test", base_url=base_url, max_retries=0, timeout=0.3)
    emu.fail_next(path_prefix="/v1/conversations", kind="timeout", sleep=1.0)
    with pytest.raises(openai.APITimeoutError):
        client.conversations.create()
    emu.fail_next(path_prefix="/v1/conversations", kind="drop")
    with pytest.raises(openai.APIConnectionError):
        client.conversations.create()
    emu.fail_next(path_prefix="/v1/conversations", kind="lost", lost_as="drop")
    with pytest.raises(openai.APIConnectionError):
        client.conversations.create()
    assert len(emu.state()["conversations"]) == 1  # the lost one was applied
    assert client.conversations.create().id.startswith("conv_")


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_delivery_over_http() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    _Receiver.received = []
    secret = new_webhook_secret()
    emu = Emulator(auto_complete=True)
    server, base_url = serve_in_thread(emu)
    try:
        httpx2.post(
            base_url[:-3] + "/_emulator/config",
            json={
                "webhook": {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hook", "secret": secret},
            },
        )
        client = openai.OpenAI(api_key="test", base_url=base_url, max_retries=0)
        resp = client.responses.create(model=MODEL, input="ping", background=True)
        deadline = time.monotonic() + 3
        while not _Receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)  # the server's ticker completes it; no polling
        emu.wait_webhooks()
        [(body, headers)] = _Receiver.received
        event = openai.OpenAI(api_key="t", webhook_secret=secret).webhooks.unwrap(body, headers)
        assert event.type == "response.completed" and event.data.id == resp.id
        assert emu.state()["webhooks"][0]["status_code"] == 200
    finally:
        server.stop()
        receiver.shutdown()
        receiver.server_close()


def test_cli_starts_server() -> None:
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulator",
            "--port",
            "0",
            "--latency",
            "0",
            "--seed",
            "3",
            "--faults",
            "rate_429=0.0,retry_after=2",
        ],
        cwd=repo,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("EMULATOR READY http://127.0.0.1:")
        base_url = line.split()[-1]
        client = openai.OpenAI(api_key="test", base_url=base_url, max_retries=0)
        assert client.conversations.create().id.startswith("conv_")
        config = httpx2.get(base_url[:-3] + "/_emulator/config").json()
        assert config["faults"]["seed"] == 3 and config["faults"]["retry_after"] == "2"
    finally:
        proc.terminate()
        proc.wait(5)


def test_concurrent_clients_are_safe(emu: Emulator) -> None:
    errors = []

    def worker(n: int) -> None:
        try:
            client = make_client(emu)
            conv = client.conversations.create(metadata={"worker": str(n)})
            for i in range(5):
                client.responses.create(model=MODEL, conversation=conv.id, input=f"w{n} m{i}")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    state = emu.state()
    assert len(state["responses"]) == 40
    assert all(len(c["items"]) == 10 for c in state["conversations"].values())
    assert emu.count("POST", "/v1/responses", 200) == 40
    assert {"method": "POST", "path": "/v1/responses", "status": "200", "count": 40} in state["counters_list"]


def test_slow_responses_use_injected_sleep() -> None:
    slept = []
    emu = Emulator(request_delay=0.5, sleep=slept.append)
    client = make_client(emu)
    client.conversations.create()
    emu.fail_next(path_prefix="/v1/responses", kind="delay", delay=2.0)
    client.responses.create(model=MODEL, input="x")
    assert slept == [0.5, 2.5]
    emu.configure(request_delay=0, rate_slow=1.0, slow_delay=0.25)
    client.conversations.create()
    assert slept[-1] == 0.25
    assert emu.config()["faults"]["rate_slow"] == 1.0
