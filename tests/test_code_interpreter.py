"""The code interpreter (OpenAI provider only, off by default): through the emulator served on a
loopback port, its output file is attached to the reply and its container session is costed."""

from decimal import Decimal

import openai
import pytest

from assistants.costs import estimate_cost
from assistants.models import Attachment
from assistants.providers import openai as openai_provider
from tests.factories import open_ticket
from tests.openai_support import created_responses, replies, run_of, step
from tickets import services as desk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def over_http(emu, settings, tmp_path):
    """The provider's SDK client talking HTTP to the emulator on a loopback port."""
    from tests.emulator import serve_in_thread

    settings.MEDIA_ROOT = tmp_path
    server, base_url = serve_in_thread(emu)
    openai_provider.set_client(openai.OpenAI(api_key="test", base_url=base_url, max_retries=0, timeout=5))
    yield emu
    server.stop()


def _tool_types(response) -> list[str]:
    return [t["type"] for t in response.get("tools", [])]


def test_with_the_setting_on_the_output_file_is_attached_to_the_reply_and_costed(over_http, drain, settings):
    settings.ASSISTANT_CODE_INTERPRETER = True
    settings.ASSISTANT_CONTAINER_PRICE = Decimal("0.03")
    ticket = open_ticket(body="Please compute the squares of 1 to 5 as a CSV")
    drain()

    [sent] = created_responses(over_http)
    assert {"type": "code_interpreter", "container": {"type": "auto"}} in sent["tools"]
    reply = replies(ticket).get()
    [attachment] = Attachment.objects.filter(message=reply)
    assert attachment.filename == "result.csv" and attachment.content_type == "text/csv"
    with attachment.file.open("rb") as handle:
        assert handle.read() == b"n,square\n1,1\n2,4\n3,9\n4,16\n5,25\n"
    assert attachment.size == len(b"n,square\n1,1\n2,4\n3,9\n4,16\n5,25\n")
    run = run_of(ticket)
    token_cost = estimate_cost(run.model, run.input_tokens, run.cached_tokens, run.output_tokens)
    assert run.cost == token_cost + Decimal("0.03")
    ticket.thread.refresh_from_db()
    assert ticket.thread.cost == run.cost


def _containers(emu, ticket) -> list[str]:
    ticket.thread.refresh_from_db()
    items = emu.state()["conversations"][ticket.thread.remote_id]["items"]
    return [i["container_id"] for i in items if i.get("type") == "code_interpreter_call"]


def _token_cost(run) -> Decimal:
    return estimate_cost(run.model, run.input_tokens, run.cached_tokens, run.output_tokens)


def test_a_container_reused_by_a_later_run_is_charged_once(over_http, drain, settings):
    settings.ASSISTANT_CODE_INTERPRETER = True
    settings.ASSISTANT_CONTAINER_PRICE = Decimal("0.03")
    ticket = open_ticket(body="Please compute the squares of 1 to 5 as a CSV")
    drain()
    first = run_of(ticket)
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Again please, compute it as a CSV")
    drain()
    second = run_of(ticket)
    assert second.pk != first.pk
    [a, b] = _containers(over_http, ticket)
    assert a == b  # the emulator reused the container, as OpenAI does with an active one
    assert first.cost == _token_cost(first) + Decimal("0.03")
    assert second.cost == _token_cost(second)  # the same container: not charged again
    ticket.thread.refresh_from_db()
    assert ticket.thread.cost == first.cost + second.cost
    assert Attachment.objects.filter(message__in=replies(ticket)).count() == 2


def test_a_lost_requests_adopted_answer_brings_its_output_file_and_container_cost(over_http, drain, settings):
    settings.ASSISTANT_CONTAINER_PRICE = Decimal("0.03")
    over_http.configure(auto_complete=True)  # the orphan completes by itself, as it would at OpenAI
    ticket = open_ticket(body="Hello")
    drain()
    settings.ASSISTANT_CODE_INTERPRETER = True  # the lost request is the first to run code
    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="Please compute the squares as a CSV")
    over_http.fail_next(path_prefix="/v1/responses", method="POST", kind="lost", lost_as="timeout")
    run = step(ticket)
    assert run.ambiguous
    over_http.tick(force=True)
    drain()

    run = run_of(ticket)
    assert run.status == "completed" and run.provider_state.get("adopted_orphan")
    reply = replies(ticket).order_by("-seq").first()
    [attachment] = Attachment.objects.filter(message=reply)
    assert attachment.filename == "result.csv"
    with attachment.file.open("rb") as handle:
        assert handle.read().startswith(b"n,square\n1,1\n")
    assert run.cost == _token_cost(run) + Decimal("0.03")  # the adopted response's container, once
    assert len(_containers(over_http, ticket)) == 1


def test_off_by_default_no_code_interpreter_tool_is_sent(over_http, drain):
    ticket = open_ticket(body="Please compute the squares of 1 to 5 as a CSV")
    drain()
    [sent] = created_responses(over_http)
    assert "code_interpreter" not in _tool_types(sent)
    assert not Attachment.objects.filter(message__in=replies(ticket)).exists()


def test_the_offline_assistant_says_running_code_is_not_available(settings, drain):
    settings.ASSISTANT_CODE_INTERPRETER = True  # on, but the offline provider has no such tool
    settings.ASSISTANT_PROVIDER = "offline"
    ticket = open_ticket(body="Can you run this python code and make a chart of my deliveries?")
    drain()
    reply = replies(ticket).get()
    assert "not available" in reply.body and reply.metadata["outcome"] == "not_available"
    assert reply.draft_state == "published"
