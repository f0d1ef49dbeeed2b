import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assistants import lifecycle
from assistants.models import Message, Run, Thread
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tests.providers import RecordingRemoteProvider
from tickets import services
from tickets.models import FlagChange, Ticket

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tickets_ticket_changelist"
THREADS = "admin:assistants_thread_changelist"


@pytest.fixture
def remote(settings):
    settings.ASSISTANT_PROVIDER = "tests.providers.RecordingRemoteProvider"
    RecordingRemoteProvider.reset()
    yield RecordingRemoteProvider
    RecordingRemoteProvider.reset()


def refs(response):
    """The references listed in a ticket changelist, in order."""
    return [t.reference for t in response.context["cl"].result_list]


def action(client, name, objects, url=CHANGELIST, **extra):
    data = {"action": name, "_selected_action": [o.pk for o in objects], **extra}
    return client.post(reverse(url), data, follow=True)


# --- list, filters, search ------------------------------------------------------------------


def test_changelist_shows_flag_columns(client, lead):
    ticket = open_ticket(subject="Refund please")
    Ticket.objects.filter(pk=ticket.pk).update(conversation_topic="billing", language_preference="de")
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Refund please", ticket.customer.email, "billing", "offline", ticket.reference):
        assert text in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("escalated__exact=1", ["esc"]),
        ("rating=low", ["r2"]),
        ("rating=mid", ["r3"]),
        ("rating=high", ["r45"]),
        ("rating=none", ["esc", "plain", "premium", "draft"]),
        ("language_preference=de", ["plain"]),
        ("user_is_premium__exact=1", ["premium"]),
        ("conversation_topic=billing", ["r2"]),
        ("status__exact=closed", ["r2", "r3", "r45"]),
        ("priority__exact=4", ["esc"]),
        ("ai_mode__exact=draft", ["draft"]),
        ("provider=offline", ["esc", "plain", "premium", "draft", "r2", "r3", "r45"]),
        ("provider=openai", []),
        ("remote_error=delete", ["plain"]),
    ],
)
def test_each_filter_selects_the_matching_tickets(client, lead, query, expected):
    made = {name: open_ticket(subject=name) for name in ["esc", "plain", "premium", "draft", "r2", "r3", "r45"]}
    Ticket.objects.filter(pk=made["esc"].pk).update(escalated=True, priority=4)
    Ticket.objects.filter(pk=made["plain"].pk).update(language_preference="de")
    Thread.objects.filter(pk=made["plain"].thread_id).update(remote_error=lifecycle.DELETE_FAILED + "500")
    Ticket.objects.filter(pk=made["premium"].pk).update(user_is_premium=True)
    Ticket.objects.filter(pk=made["draft"].pk).update(ai_mode="draft")
    for name, rating in [("r2", "2.0"), ("r3", "3.0"), ("r45", "4.5")]:
        Ticket.objects.filter(pk=made[name].pk).update(feedback_rating=Decimal(rating), status="closed")
    Ticket.objects.filter(pk=made["r2"].pk).update(conversation_topic="billing")

    response = client.get(reverse(CHANGELIST) + "?" + query)

    assert response.status_code == 200
    by_ref = {t.reference: name for name, t in made.items()}
    assert sorted(by_ref[r] for r in refs(response)) == sorted(expected)


def test_assignee_filter(client, lead):
    agent = StaffFactory()
    mine, unassigned = open_ticket(), open_ticket()
    Ticket.objects.filter(pk=mine.pk).update(assignee=agent)
    assert refs(client.get(reverse(CHANGELIST) + f"?assignee={agent.pk}")) == [mine.reference]
    assert refs(client.get(reverse(CHANGELIST) + "?assignee=none")) == [unassigned.reference]


@pytest.mark.parametrize("term", ["T-{pk}", "t{pk}", " T-{pk} "])
def test_search_by_reference_finds_the_ticket(client, lead, term):
    wanted, _other = open_ticket(), open_ticket()
    response = client.get(reverse(CHANGELIST), {"q": term.format(pk=wanted.pk)})
    assert refs(response) == [wanted.reference]


def test_search_by_subject_and_customer_email(client, lead):
    parcel = open_ticket(subject="Broken parcel")
    other = open_ticket(customer=CustomerFactory(username="zed@example.org"), subject="Refund")
    assert refs(client.get(reverse(CHANGELIST), {"q": "broken"})) == [parcel.reference]
    assert refs(client.get(reverse(CHANGELIST), {"q": "zed@example"})) == [other.reference]


def _make_tickets(n):
    agents = [StaffFactory() for _ in range(3)]
    for i in range(n):
        ticket = open_ticket(subject=f"Ticket {i}")
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agents[i % 3], escalated=i % 2 == 0)


def test_changelist_query_count_does_not_grow_with_tickets(client, lead, django_assert_max_num_queries):
    _make_tickets(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    _make_tickets(27)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 30


def test_thread_changelist_query_count_does_not_grow(client, lead, django_assert_max_num_queries):
    _make_tickets(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(THREADS)).status_code == 200
    _make_tickets(27)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse(THREADS))
    assert len(response.context["cl"].result_list) == 30


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ticket__escalated__exact=1", "esc"),
        ("rating=high", "rated"),
        ("ticket__status__exact=closed", "rated"),
        ("remote_error=delete", "failed"),
        ("provider=offline", None),
    ],
)
def test_thread_admin_filters_by_ticket_flags(client, lead, query, expected):
    made = {name: open_ticket(subject=name) for name in ["esc", "rated", "failed"]}
    Ticket.objects.filter(pk=made["esc"].pk).update(escalated=True)
    Ticket.objects.filter(pk=made["rated"].pk).update(feedback_rating=Decimal("5"), status="closed")
    Thread.objects.filter(pk=made["failed"].thread_id).update(remote_error=lifecycle.DELETE_FAILED + "boom")
    response = client.get(reverse(THREADS) + "?" + query)
    listed = {t.pk for t in response.context["cl"].result_list}
    wanted = {t.thread_id for t in made.values()} if expected is None else {made[expected].thread_id}
    assert listed == wanted


# --- the change form: metadata table, custom metadata, audit inline -------------------------


def form_data(ticket, **overrides):
    data = {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "ai_mode": ticket.ai_mode,
        "escalation_reason": ticket.escalation_reason,
        "language_preference": ticket.language_preference,
        "conversation_topic": ticket.conversation_topic,
        "custom_metadata": json.dumps(ticket.thread.custom_metadata),
        "flag_changes-TOTAL_FORMS": "0",
        "flag_changes-INITIAL_FORMS": "0",
        "flag_changes-MIN_NUM_FORMS": "0",
        "flag_changes-MAX_NUM_FORMS": "0",
    }
    if ticket.escalated:
        data["escalated"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def change_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def test_ticket_page_shows_metadata_table_escaped_and_flag_changes(client, lead):
    ticket = open_ticket()
    Thread.objects.filter(pk=ticket.thread_id).update(custom_metadata={"order": "<b>5521</b>"})
    services.ticket_escalate(ticket=ticket, reason="Customer asked", by=lead)
    html = client.get(change_url(ticket)).content.decode()
    assert "<th>escalated</th><td>true</td>" in html
    assert "&lt;b&gt;5521&lt;/b&gt;" in html and "<b>5521</b>" not in html
    assert "Customer asked" in html  # the FlagChange inline


def test_editing_flags_in_the_form_goes_through_services_and_is_audited(client, lead, sent):
    ticket = open_ticket()
    response = client.post(
        change_url(ticket),
        form_data(ticket, escalated="on", escalation_reason="Angry", conversation_topic="billing", priority=3),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert ticket.escalated and ticket.conversation_topic == "billing" and ticket.priority == 3
    fields = set(FlagChange.objects.filter(ticket=ticket, changed_by=lead).values_list("field", flat=True))
    assert {"escalated", "conversation_topic", "priority"} <= fields
    assert LogEntry.objects.filter(object_id=str(ticket.pk), user=lead, action_flag=CHANGE).exists()
    assert Thread.objects.get(pk=ticket.thread_id).metadata_dirty


def test_custom_metadata_saved_and_resync_queued(client, lead, sent, django_capture_on_commit_callbacks):
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(ticket), form_data(ticket, custom_metadata='{"order": "5521"}'))
    assert response.status_code == 302
    assert Thread.objects.get(pk=ticket.thread_id).custom_metadata == {"order": "5521"}
    assert ("assistants.tasks.sync_thread_metadata", (ticket.thread_id,)) in sent


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ('{"order": 5521}', "must be strings"),
        ('{"vip": true}', "must be strings"),
        ('{"order": null}', "must be strings"),
        ('["a", "b"]', "JSON object"),
        ("{order: 1}", "Not valid JSON"),
        ('{"escalated": "false"}', "Reserved keys"),
        (json.dumps({"k" * 65: "v"}), "the limit is 64"),
        (json.dumps({"note": "x" * 513}), "the limit is 512"),
        (json.dumps({f"key{i}": "v" for i in range(10)}), "at most 9"),
    ],
)
def test_custom_metadata_outside_the_provider_limits_is_refused(client, lead, value, error):
    ticket = open_ticket()
    response = client.post(change_url(ticket), form_data(ticket, custom_metadata=value))
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors.get("custom_metadata", []))
    assert error in errors
    assert Thread.objects.get(pk=ticket.thread_id).custom_metadata == {}


def test_custom_metadata_at_the_limits_is_accepted(client, lead):
    ticket = open_ticket()
    value = {("k" * 60 + f"{i:02d}"): "v" * 512 for i in range(16 - len(services.RESERVED_METADATA_KEYS))}
    response = client.post(change_url(ticket), form_data(ticket, custom_metadata=json.dumps(value)))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert len(services.ticket_metadata(ticket)) == 16


def test_thread_page_shows_latest_messages_and_runs_read_only(client, lead, settings):
    ticket = open_ticket(body="first message")
    for i in range(30):
        services.customer_reply(ticket=ticket, customer=ticket.customer, body=f"reply number {i}")
    response = client.get(reverse("admin:assistants_thread_change", args=[ticket.thread_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "reply number 29" in html and "first message" not in html
    assert f"?thread={ticket.thread_id}" in html
    listed = client.get(reverse("admin:assistants_message_changelist") + f"?thread={ticket.thread_id}")
    assert listed.status_code == 200
    assert len(listed.context["cl"].result_list) == Message.objects.filter(thread=ticket.thread).count()


# --- actions -------------------------------------------------------------------------------


def test_escalate_and_clear_actions_record_flag_changes_and_log(client, lead):
    a, b = open_ticket(), open_ticket()
    response = action(client, "escalate", [a, b])
    assert "Escalated 2 ticket(s)" in response.content.decode()
    assert Ticket.objects.filter(escalated=True).count() == 2
    assert FlagChange.objects.filter(field="escalated", changed_by=lead).count() == 2
    assert LogEntry.objects.filter(user=lead, change_message="Escalated.").count() == 2

    action(client, "deescalate", [a])
    a.refresh_from_db()
    assert not a.escalated
    assert LogEntry.objects.filter(user=lead, object_id=str(a.pk), change_message="Cleared the escalation.").exists()


@pytest.mark.parametrize("mode", ["auto", "draft", "off"])
def test_set_ai_mode_action(client, lead, mode):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode="draft" if mode != "draft" else "auto")
    action(client, f"ai_mode_{mode}", [ticket])
    ticket.refresh_from_db()
    assert ticket.ai_mode == mode
    assert FlagChange.objects.filter(ticket=ticket, field="ai_mode", new_value=mode, changed_by=lead).exists()


def test_rerun_action_asks_the_assistant_or_retries_a_failed_run(client, lead, drain, enqueued):
    done, failed, busy = open_ticket(), open_ticket(), open_ticket()
    drain()
    busy_run = services.ask_assistant(ticket=busy, staff=lead)
    failed_run = failed.thread.runs.first()
    Run.objects.filter(pk=failed_run.pk).update(status=Run.Status.FAILED, error_code="server_error")

    response = action(client, "rerun_assistant", [done, failed, busy])

    assert "Queued 2 assistant run(s). 1 ticket(s) already had a run going." in response.content.decode()
    assert done.thread.runs.filter(trigger=Run.Trigger.STAFF, requested_by=lead).exists()
    assert failed.thread.runs.filter(trigger=Run.Trigger.RETRY, requested_by=lead).exists()
    assert busy.thread.runs.count() == 2 and busy_run.is_active


def test_resync_action_pushes_metadata_through_a_task(
    client, lead, remote, sent, drain, django_capture_on_commit_callbacks
):
    ticket = open_ticket()
    drain()
    Ticket.objects.filter(pk=ticket.pk).update(conversation_topic="returns")
    with django_capture_on_commit_callbacks(execute=True):
        response = action(client, "resync_metadata", [ticket])
    assert "Queued a metadata re-sync for 1 thread(s)." in response.content.decode()
    sent.run()
    ticket.refresh_from_db()
    assert remote.conversations[ticket.thread.remote_id]["conversation_topic"] == "returns"


def test_archive_action(client, lead):
    ticket = open_ticket()
    response = action(client, "archive_threads", [ticket])
    assert "Archived 1 thread(s)" in response.content.decode()
    assert Thread.objects.get(pk=ticket.thread_id).state == Thread.State.ARCHIVED
    assert LogEntry.objects.filter(user=lead, object_id=str(ticket.pk), change_message="Archived the thread.").exists()


def test_delete_remote_action_keeps_local_history_and_reports_failure_then_retry(
    client, lead, remote, sent, drain, django_capture_on_commit_callbacks
):
    ticket = open_ticket()
    drain()
    ticket.refresh_from_db()
    remote_id = ticket.thread.remote_id
    remote.fail_deletes = True
    with django_capture_on_commit_callbacks(execute=True):
        response = action(client, "delete_remote", [ticket])
    assert "Queued deletion of 1 remote conversation(s)" in response.content.decode()
    sent.run()
    assert refs(client.get(reverse(CHANGELIST) + "?remote_error=delete")) == [ticket.reference]
    assert remote_id in remote.conversations

    remote.fail_deletes = False
    with django_capture_on_commit_callbacks(execute=True):
        response = action(client, "retry_remote_deletion", [ticket])
    assert "Queued 1 retry" in response.content.decode()
    sent.run()
    thread = Thread.objects.get(pk=ticket.thread_id)
    assert remote.conversations == {}
    assert thread.remote_deleted_at and thread.state == Thread.State.DELETED and thread.remote_error == ""
    assert thread.messages.count() >= 2
    assert client.get(reverse(CHANGELIST) + "?remote=deleted").context["cl"].result_list[0] == ticket


def test_thread_admin_actions_work_on_threads(client, lead):
    ticket = open_ticket()
    action(client, "escalate", [ticket.thread], url=THREADS)
    ticket.refresh_from_db()
    assert ticket.escalated
    assert LogEntry.objects.filter(user=lead, object_id=str(ticket.thread_id), change_message="Escalated.").exists()
    action(client, "archive_threads", [ticket.thread], url=THREADS)
    assert Thread.objects.get(pk=ticket.thread_id).state == Thread.State.ARCHIVED


def test_assistant_flag_change_shows_its_run(client, lead, drain):
    ticket = open_ticket(body="I want to talk to a human now")
    drain()
    change = FlagChange.objects.get(ticket=ticket, field="escalated")
    assert change.run_id is not None and change.changed_by is None
    html = client.get(change_url(ticket)).content.decode()
    assert str(change.run) in html


def test_lifecycle_cutoff_setting_is_respected_by_the_admin_report(settings):
    # The report is a queryset the admin filter reuses: only failed deletions are in it.
    ticket = open_ticket()
    Thread.objects.filter(pk=ticket.thread_id).update(remote_error=lifecycle.SYNC_FAILED + "x")
    assert not lifecycle.remote_deletion_failures().exists()
    Thread.objects.filter(pk=ticket.thread_id).update(
        remote_error=lifecycle.DELETE_FAILED + "x", updated_at=timezone.now() - timedelta(days=1)
    )
    assert lifecycle.remote_deletion_failures().count() == 1
