"""POST /webhooks/openai/: signed deliveries wake the run; tampered, stale and replayed ones do nothing."""

import time

import pytest
from django.urls import reverse

from assistants.models import Run, WebhookDelivery
from tests.emulator import build_event, new_webhook_secret, sign_webhook
from tests.factories import open_ticket
from tests.openai_support import emulator_fixture, replies, run_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emu(settings):
    settings.OPENAI_WEBHOOK_SECRET = new_webhook_secret()
    yield from emulator_fixture(settings)


@pytest.fixture
def started(emu):
    """A ticket whose run is waiting for its background response."""
    from assistants import services

    ticket = open_ticket(body="hello")
    run = run_of(ticket)
    services.run_advance(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.IN_PROGRESS
    return ticket, run


def post(client, body: bytes, headers: dict):
    return client.post(
        reverse("assistants:openai_webhook"), data=body, content_type="application/json", headers=headers
    )


def test_the_emulators_signed_delivery_wakes_the_run(client, emu, settings, started, enqueued, drain):
    ticket, run = started
    deliveries = []
    emu.set_webhook(lambda body, headers: deliveries.append((body, headers)), settings.OPENAI_WEBHOOK_SECRET)
    emu.tick(force=True)
    [(body, headers)] = deliveries
    enqueued.clear()

    response = post(client, body, headers)

    assert response.status_code == 200 and response.content == b"woken"
    assert enqueued == [(run.pk, 0.0)]
    assert WebhookDelivery.objects.filter(webhook_id=headers["webhook-id"], event_type="response.completed").exists()
    drain()
    assert replies(ticket).count() == 1


def test_the_webhook_does_no_model_work(client, emu, settings, started):
    _, run = started
    body = build_event("response.completed", run.remote_response_id)
    calls_before = len(emu.state()["requests"])
    assert post(client, body, sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET)).status_code == 200
    assert len(emu.state()["requests"]) == calls_before


def test_a_tampered_body_is_rejected(client, settings, started, enqueued):
    _, run = started
    body = build_event("response.completed", run.remote_response_id)
    headers = sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET)
    enqueued.clear()
    tampered = body.replace(run.remote_response_id.encode(), b"resp_someone_else")
    assert post(client, tampered, headers).status_code == 400
    assert enqueued == [] and not WebhookDelivery.objects.exists()


def test_a_wrong_secret_is_rejected(client, started, enqueued):
    _, run = started
    body = build_event("response.completed", run.remote_response_id)
    enqueued.clear()
    assert post(client, body, sign_webhook(body, new_webhook_secret())).status_code == 400
    assert enqueued == []


def test_a_stale_delivery_is_rejected(client, settings, started, enqueued):
    _, run = started
    body = build_event("response.completed", run.remote_response_id)
    headers = sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    enqueued.clear()
    assert post(client, body, headers).status_code == 400
    assert enqueued == []


def test_a_replayed_delivery_is_acknowledged_and_ignored(client, settings, started, enqueued):
    _, run = started
    body = build_event("response.completed", run.remote_response_id)
    headers = sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET)
    enqueued.clear()
    assert post(client, body, headers).content == b"woken"
    replay = post(client, body, headers)
    assert replay.status_code == 200 and replay.content == b"duplicate"
    assert enqueued == [(run.pk, 0.0)]
    assert WebhookDelivery.objects.count() == 1


def test_an_event_for_an_unknown_response_is_acknowledged(client, settings, emu, enqueued):
    body = build_event("response.completed", "resp_not_ours")
    response = post(client, body, sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET))
    assert response.status_code == 200 and response.content == b"ok"
    assert enqueued == []


def test_without_a_configured_secret_every_delivery_is_rejected(client, settings, started):
    _, run = started
    body = build_event("response.completed", run.remote_response_id)
    headers = sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET)
    settings.OPENAI_WEBHOOK_SECRET = ""
    assert post(client, body, headers).status_code == 400


def test_get_is_not_allowed(client):
    assert client.get(reverse("assistants:openai_webhook")).status_code == 405
