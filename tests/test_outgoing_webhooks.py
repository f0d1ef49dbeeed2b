"""Outgoing webhooks to a real HTTP server in the test: signed with the Standard Webhooks scheme,
retried with backoff, deduplicated by event id, endpoints disabled after failures with leads told."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from assistants.models import Message
from config import standard_webhooks
from tests.factories import StaffFactory, open_ticket
from tickets import services as desk
from tickets.models import FlagChange
from webhooks import delivery, endpoints, events, network
from webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A local HTTP server that records each request and answers with the next scripted status."""

    def __init__(self, statuses=()):
        self.requests = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.WEBHOOK_BACKOFF_BASE = 0.01
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def queued(monkeypatch):
    """Delivery tasks the code sent (delivery id, countdown), driven by hand: the retry schedule
    is read from the countdowns, never slept."""
    calls = []
    monkeypatch.setattr(events, "enqueue", lambda pk, delay=0.0: calls.append((pk, delay)))
    return calls


def _run(queued):
    results = []
    while queued:
        pk, _ = queued.pop(0)
        results.append(delivery.delivery_send(delivery_id=pk))
    return results


def _endpoint(url, events_=("ticket.created", "message.created")):
    return endpoints.endpoint_create(url=url, events=list(events_))


def test_the_receiver_verifies_the_signature_of_a_ticket_created_event(receiver, queued):
    endpoint, secret = _endpoint(receiver.url, ["ticket.created"])
    assert secret.startswith("whsec_")
    ticket = open_ticket(subject="Parcel lost", body="Where is it?")
    assert _run(queued) == ["delivered"]

    [request] = receiver.requests
    # Verified by an implementation that is not ours (the OpenAI SDK's Standard Webhooks check), and ours.
    openai.OpenAI(api_key="x").webhooks.verify_signature(request["body"], request["headers"], secret=secret)
    standard_webhooks.verify(secret, request["headers"], request["body"])
    event = json.loads(request["body"])
    assert event["type"] == "ticket.created" and event["data"]["ticket"]["reference"] == ticket.reference
    assert request["headers"]["webhook-id"] == Event.objects.get().event_id
    record = Delivery.objects.get()
    assert (record.status, record.attempts, record.last_status_code) == (Delivery.Status.SUCCEEDED, 1, 200)


def test_a_tampered_delivery_fails_verification(receiver, queued):
    _, secret = _endpoint(receiver.url, ["ticket.created"])
    open_ticket()
    _run(queued)
    [request] = receiver.requests
    tampered = request["body"].replace(b"ticket.created", b"ticket.deleted")
    with pytest.raises(standard_webhooks.InvalidSignature):
        standard_webhooks.verify(secret, request["headers"], tampered)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        openai.OpenAI(api_key="x").webhooks.verify_signature(tampered, request["headers"], secret=secret)
    with pytest.raises(standard_webhooks.InvalidSignature):
        standard_webhooks.verify(standard_webhooks.new_secret(), request["headers"], request["body"])
    old = {**request["headers"], "webhook-timestamp": str(int(request["headers"]["webhook-timestamp"]) - 3600)}
    with pytest.raises(standard_webhooks.InvalidSignature):
        standard_webhooks.verify(secret, old, request["body"])


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(receiver, queued, settings):
    receiver.statuses = [500, 503]
    _endpoint(receiver.url, ["ticket.created"])
    open_ticket()

    record = Delivery.objects.get()
    results = []
    delays = []
    while queued:
        pk, delay = queued.pop(0)
        delays.append(delay)
        results.append(delivery.delivery_send(delivery_id=pk))
    assert results == ["retry", "retry", "delivered"]
    assert delays[1] > delays[0] * 1.5  # exponential backoff (base 0.01 s here)
    record.refresh_from_db()
    assert record.status == Delivery.Status.SUCCEEDED and record.attempts == 3
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # the same id every time: receivers dedupe on it


def test_the_same_event_emitted_twice_is_delivered_once(receiver, queued):
    _endpoint(receiver.url, ["ticket.created"])
    ticket = open_ticket()
    events.emit("ticket.created", {"ticket": {"id": ticket.pk}}, key=str(ticket.pk))
    _run(queued)
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1 and len(receiver.requests) == 1


def test_an_endpoint_failing_n_times_in_a_row_is_disabled_and_the_leads_are_emailed(receiver, queued, settings, jobs):
    settings.WEBHOOK_DISABLE_AFTER = 3
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500] * 10
    lead = StaffFactory(email="lead@example.com")
    lead.groups.add(Group.objects.get_or_create(name="Support lead")[0])
    endpoint, _ = _endpoint(receiver.url, ["ticket.created"])
    open_ticket()
    open_ticket()
    _run(queued)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "3 failed attempts" in endpoint.disabled_reason
    [(name, (subject, body, recipients))] = [j for j in jobs if j[0] == "tickets.tasks.send_staff_mail"]
    assert recipients == ["lead@example.com"] and endpoint.url in subject
    assert len(receiver.requests) == 3
    # Nothing more is sent to a disabled endpoint.
    open_ticket()
    assert _run(queued) == []


def test_endpoint_urls_must_be_http_and_public_in_production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/x",
        "http://10.0.0.5/x",
        "http://[::1]/",
    ):
        with pytest.raises(ValidationError):
            endpoints.endpoint_create(url=url, events=["ticket.created"])
    assert not Endpoint.objects.exists()


class FakeDNS:
    """socket.getaddrinfo for one made-up name: each lookup answers the next address of `answers`
    (the last one again once they run out); every other name resolves as usual."""

    NAME = "hooks.example.com"

    def __init__(self, monkeypatch, *answers):
        self.answers, self.lookups = list(answers), 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != self.NAME:
                return real(host, port, *args, **kwargs)
            address = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused(receiver, queued, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE = False  # production
    port = receiver.server.server_address[1]
    dns = FakeDNS(monkeypatch, "93.184.216.34", "127.0.0.1")  # public when saved, loopback when sent
    endpoint, _ = endpoints.endpoint_create(url=f"http://{dns.NAME}:{port}/hook", events=["ticket.created"])
    assert dns.lookups == 1
    open_ticket()
    assert _run(queued)[0] == "retry"
    record = Delivery.objects.get()
    assert "private, loopback or reserved" in record.last_error and record.last_status_code is None
    assert receiver.requests == []  # nothing reached the loopback receiver


def test_the_connection_goes_to_the_checked_address_not_to_a_second_lookup(receiver, queued, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE = False  # production
    port = receiver.server.server_address[1]
    dns = FakeDNS(monkeypatch, "93.184.216.34")
    _endpoint(f"http://{dns.NAME}:{port}/hook", ["ticket.created"])
    # Rebinding: the lookup that is checked answers a public address, any later one loopback.
    dns.answers, dns.lookups = ["93.184.216.34", "127.0.0.1"], 0
    connects = []

    def connect(sock, address):
        connects.append(address[:2])
        raise ConnectionRefusedError("not in tests")

    monkeypatch.setattr(socket.socket, "connect", connect)
    open_ticket()
    assert "delivered" not in _run(queued)  # retried until it gives up
    assert connects and set(connects) == {("93.184.216.34", port)} and receiver.requests == []


def test_a_send_to_a_test_receiver_names_the_host_it_resolved_once(receiver, queued, monkeypatch):
    port = receiver.server.server_address[1]
    dns = FakeDNS(monkeypatch, "127.0.0.1")  # WEBHOOK_ALLOW_PRIVATE (the receiver fixture): loopback is allowed
    _endpoint(f"http://{dns.NAME}:{port}/hook?x=1", ["ticket.created"])
    dns.lookups = 0
    open_ticket()
    assert _run(queued) == ["delivered"]
    assert dns.lookups == 1
    [request] = receiver.requests
    assert request["headers"]["host"] == f"{dns.NAME}:{port}"


def test_private_addresses_are_refused_whatever_their_spelling(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://169.254.169.254/latest", "http://224.0.0.1/"):
        with pytest.raises(ValidationError):
            network.check_url(url)


def test_leads_register_an_endpoint_in_the_workspace_and_see_the_secret_once(client, receiver, queued):
    lead = StaffFactory()
    lead.groups.add(Group.objects.get_or_create(name="Support lead")[0])
    client.force_login(lead)
    page = client.post(reverse("webhooks:create"), {"url": receiver.url, "events": ["ticket.created"]})
    assert page.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.secret in page.content.decode()
    assert endpoint.secret not in client.get(reverse("webhooks:endpoints")).content.decode()
    bad = client.post(reverse("webhooks:create"), {"url": "gopher://x", "events": []})
    assert bad.status_code == 422 and "Choose at least one event." in bad.content.decode()
    open_ticket()
    _run(queued)
    log = client.get(reverse("webhooks:endpoints")).content.decode()
    assert "ticket.created" in log and "Delivered" in log


def test_the_workspace_nav_links_the_webhooks_page_for_leads_only(client, django_assert_num_queries):
    link = f'href="{reverse("webhooks:endpoints")}"'
    agent, lead = StaffFactory(), StaffFactory()
    lead.groups.add(Group.objects.get_or_create(name="Support lead")[0])
    client.force_login(lead)
    with django_assert_num_queries(2):  # as without the link: the flag is read from the session
        page = client.get(reverse("staff:api_tokens"))
    assert link in page.content.decode()
    client.force_login(agent)
    assert link not in client.get(reverse("staff:api_tokens")).content.decode()
    # A role changed after sign-in: the page itself checks, and the nav follows from then on.
    lead.groups.clear()
    client.force_login(lead)
    lead.groups.add(Group.objects.get(name="Support lead"))
    assert link not in client.get(reverse("staff:api_tokens")).content.decode()
    assert client.get(reverse("webhooks:endpoints")).status_code == 200
    assert link in client.get(reverse("staff:api_tokens")).content.decode()


def test_agents_may_not_manage_webhooks(client):
    client.force_login(StaffFactory())
    assert client.get(reverse("webhooks:endpoints")).status_code == 403


def test_status_changes_escalations_and_runs_are_emitted(receiver, queued, drain):
    endpoint, _ = _endpoint(
        receiver.url, ["ticket.status_changed", "ticket.escalated", "run.completed", "message.created"]
    )
    ticket = open_ticket(body="Where is my parcel?")
    drain()
    desk.ticket_escalate(ticket=ticket, reason="The customer asked for a person.")
    staff = StaffFactory()
    desk.ticket_update(ticket=ticket, by=staff, status="resolved")
    _run(queued)
    types = [json.loads(r["body"])["type"] for r in receiver.requests]
    assert {"ticket.status_changed", "ticket.escalated", "run.completed", "message.created"} <= set(types)


def _messages_received(receiver) -> list[tuple[str, str]]:
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    return [(b["data"]["message"]["content"], b["data"]["message"]["visibility"]) for b in bodies]


def test_internal_notes_reach_only_the_endpoints_that_opt_in(receiver, queued):
    default, _ = _endpoint(receiver.url, ["message.created"])
    other = Receiver()
    try:
        opted, _ = endpoints.endpoint_create(url=other.url, events=["message.created"], include_internal_notes=True)
        assert not default.include_internal_notes and opted.include_internal_notes
        ticket = open_ticket(body="Where is my parcel?")
        staff = StaffFactory()
        desk.staff_reply(ticket=ticket, staff=staff, body="Carrier says Tuesday; customer is VIP", internal=True)
        desk.staff_reply(ticket=ticket, staff=staff, body="It arrives on Tuesday.")
        _run(queued)
        assert _messages_received(receiver) == [("Where is my parcel?", "public"), ("It arrives on Tuesday.", "public")]
        assert _messages_received(other) == [
            ("Where is my parcel?", "public"),
            ("Carrier says Tuesday; customer is VIP", "internal"),
            ("It arrives on Tuesday.", "public"),
        ]
    finally:
        other.stop()


def test_the_leads_page_sets_and_shows_the_internal_notes_choice(client, receiver):
    lead = StaffFactory()
    lead.groups.add(Group.objects.get_or_create(name="Support lead")[0])
    client.force_login(lead)
    page = client.get(reverse("webhooks:endpoints")).content.decode()
    assert 'name="include_internal_notes"' in page and "Include internal notes" in page
    client.post(reverse("webhooks:create"), {"url": receiver.url, "events": ["message.created"]})
    client.post(
        reverse("webhooks:create"),
        {"url": receiver.url + "/crm", "events": ["message.created"], "include_internal_notes": "on"},
    )
    assert dict(Endpoint.objects.values_list("url", "include_internal_notes")) == {
        receiver.url: False,
        receiver.url + "/crm": True,
    }
    page = client.get(reverse("webhooks:endpoints")).content.decode()
    assert "internal notes: not sent" in page and "internal notes: included" in page


def _status_changes(receiver) -> list[tuple[str, str, str]]:
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    return [
        (b["data"]["ticket"]["reference"], b["data"]["previous_status"], b["data"]["ticket"]["status"])
        for b in bodies
        if b["type"] == "ticket.status_changed"
    ]


def test_the_implicit_new_to_open_is_emitted_whoever_answers(receiver, queued, drain):
    _endpoint(receiver.url, ["ticket.status_changed"])
    by_assistant = open_ticket(body="Where is my parcel?")  # AI mode auto: the assistant's reply is published
    drain()
    assert Message.objects.filter(thread=by_assistant.thread, role="assistant", run__isnull=False).exists()
    by_person = open_ticket(body="Where is my other parcel?")
    desk.staff_reply(ticket=by_person, staff=StaffFactory(), body="On its way.")
    escalated = open_ticket(body="Another question")
    desk.ticket_escalate(ticket=escalated, reason="The customer asked for a person.")
    _run(queued)
    assert sorted(_status_changes(receiver)) == sorted(
        (t.reference, "new", "open") for t in (by_assistant, by_person, escalated)
    )
    for ticket in (by_assistant, by_person, escalated):
        ticket.refresh_from_db()
        assert ticket.status == "open"
        assert FlagChange.objects.filter(ticket=ticket, field="status", old_value="new", new_value="open").count() == 1


@pytest.mark.worker
def test_a_real_worker_retries_a_failing_receiver_until_it_gets_the_event(receiver, celery_worker):
    from tests.worker import wait_until

    receiver.statuses = [500, 502]
    _, secret = _endpoint(receiver.url, ["ticket.created"])
    celery_worker.start(WEBHOOK_ALLOW_PRIVATE="1", WEBHOOK_BACKOFF_BASE="0.05", WEBHOOK_BACKOFF_MAX="0.2")
    open_ticket()
    record = wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).first(), message="the delivery"
    )
    assert (
        record.attempts == 3 and [r["headers"]["webhook-id"] for r in receiver.requests] == [record.event.event_id] * 3
    )
    standard_webhooks.verify(secret, receiver.requests[-1]["headers"], receiver.requests[-1]["body"])


@pytest.mark.django_db(transaction=False)
def test_leads_may_manage_endpoints_and_read_the_redaction_log_in_the_admin(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    lead = StaffFactory()
    lead.groups.add(Group.objects.get(name="Support lead"))
    client.force_login(lead)
    assert client.get(reverse("admin:webhooks_endpoint_add")).status_code == 200
    assert client.get(reverse("admin:webhooks_delivery_changelist")).status_code == 200
    assert client.get(reverse("admin:assistants_redaction_changelist")).status_code == 200
    page = client.post(
        reverse("admin:webhooks_endpoint_add"),
        {"url": "http://127.0.0.1:9/hook", "description": "CRM", "events": ["run.failed"]},
        follow=True,
    )
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["run.failed"] and endpoint.secret in page.content.decode()
