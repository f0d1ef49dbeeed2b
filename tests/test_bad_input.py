"""Each input that used to answer 500 (issue 12), answered with a 4xx or ignored instead, and
the parser that every view, selector and admin filter reads input through."""

import base64
import logging

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assistants.models import Attachment, Message, WebhookDelivery
from config import parsing
from tests.emulator import build_event, new_webhook_secret, sign_webhook
from tests.factories import StaffFactory, open_ticket
from tests.test_admin_tickets import form_data
from tickets import notifications, services, tasks
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

DEEP = "[" * 3000 + "]" * 3000
HUGE = "9" * 30


# --- the parser ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "٣", "1²", "", " ", "-1", "0", "1.0", "1e3", HUGE, str(2**63), None, [], True])
def test_only_ascii_digits_within_64_bits_are_an_id(value):
    assert parsing.object_id(value) is None


def test_an_id_and_its_bounds():
    assert parsing.object_id("42") == 42
    assert parsing.object_id(str(2**63 - 1)) == 2**63 - 1
    assert parsing.integer("0") == 0


def test_json_depth_is_counted_without_decoding_and_brackets_in_strings_do_not_count():
    assert parsing.json_depth('{"a": [1, {"b": "[[[[["}]}') == 3
    assert parsing.json_depth(DEEP) == 3000
    with pytest.raises(ValueError, match="Nested more than"):
        parsing.json_loads(DEEP)
    with pytest.raises(ValueError):
        parsing.json_loads(b"\xff\xfe")
    assert parsing.json_loads('{"a": "b"}') == {"a": "b"}


def test_one_line_turns_line_breaks_and_control_characters_into_single_spaces():
    assert parsing.one_line("Refund\r\nBcc: x@example.com\x00\u2028now ") == "Refund Bcc: x@example.com now"


# --- the staff workspace -------------------------------------------------------------------


def test_a_superscript_digit_in_the_inbox_assignee_is_a_filter_error_not_a_500(client, staff):
    response = client.get(reverse("staff:inbox"), {"assignee": "²"})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", HUGE])
def test_bad_seq_cursors_on_the_ticket_partials(client, staff, value):
    ticket = open_ticket()
    assert client.get(reverse("staff:messages_older", args=[ticket.pk]), {"before": value}).status_code == 400
    assert client.get(reverse("staff:run_status", args=[ticket.pk]), {"after": value}).status_code == 200


def test_a_superscript_assignee_on_update_is_a_form_error_and_changes_nothing(client, staff):
    ticket = open_ticket()
    response = client.post(reverse("staff:update", args=[ticket.pk]), {"assignee": "²", "priority": "3"})
    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.assignee_id is None and ticket.priority != 3


@pytest.mark.parametrize(
    "payload",
    [DEEP, '["2026-01-01T00:00:00", 1]', f'["2026-01-01T00:00:00+00:00", {HUGE}]', '"x"', "[true, true]"],
)
def test_an_inbox_cursor_that_is_not_ours_shows_the_first_page(client, staff, payload):
    token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    for name in ("after", "before"):
        assert client.get(reverse("staff:inbox"), {name: token}).status_code == 200
    assert client.get(reverse("staff:inbox"), {"after": "!!!not base64"}).status_code == 200


def test_an_id_too_big_for_the_database_is_a_404(client, staff):
    assert client.get(f"/staff/tickets/{HUGE}/").status_code == 404
    assert client.get(f"/staff/tickets/{2**63}/run-status/").status_code == 404
    assert client.get(f"/staff/tickets/{2**63}/live/", {"since": 2**70}).status_code == 404


def test_the_staff_composer_takes_at_most_five_files(client, staff):
    ticket = open_ticket()
    files = [SimpleUploadedFile(f"log{i}.txt", b"trace", content_type="text/plain") for i in range(6)]
    response = client.post(reverse("staff:reply", args=[ticket.pk]), {"body": "Here", "files": files})
    assert response.status_code == 422
    assert "at most 5 files" in response.content.decode()
    assert not Message.objects.filter(thread=ticket.thread, body="Here").exists()


# --- uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("cat.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/png"),
        ("cat.png", b"<!DOCTYPE html><html><script>alert(1)</script>", "image/png"),
        ("cat.jpg", b"\x89PNG\r\n\x1a\n", "image/jpeg"),
        ("notes.txt", b"  <html><body onload=alert(1)>", "text/plain"),
        ("notes.txt", b"binary\x00junk", "text/plain"),
        ("invoice.pdf", b"%PDF-1.4", "image/png"),
        ("page.webp", b"RIFF\x00\x00\x00\x00WAVE", "image/webp"),
    ],
)
def test_an_upload_whose_content_does_not_match_its_type_is_refused(name, content, content_type):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not accepted"):
        services.validate_upload(SimpleUploadedFile(name, content, content_type=content_type))


def test_real_signatures_pass():
    for name, content, content_type in [
        ("a.png", b"\x89PNG\r\n\x1a\nrest", "image/png"),
        ("a.jpeg", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("a.gif", b"GIF89arest", "image/gif"),
        ("a.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("a.zip", b"PK\x03\x04rest", "application/zip"),
        ("a.csv", b"\xef\xbb\xbfid,name\n1,<b>\n", "text/csv"),
        ("a.log", b"2026-01-01 error <timeout>", "application/octet-stream"),
    ]:
        services.validate_upload(SimpleUploadedFile(name, content, content_type=content_type))


# --- the admin -----------------------------------------------------------------------------


def test_a_non_numeric_assignee_in_the_admin_filter_is_refused_with_the_admins_own_error(client, lead):
    for url in (reverse("admin:tickets_ticket_changelist"), reverse("admin:assistants_thread_changelist")):
        response = client.get(url, {"assignee": "abc"})
        assert response.status_code == 302 and "e=1" in response["Location"]


@pytest.mark.parametrize("year", [HUGE, "99999", "0", "-5", "²"])
def test_a_date_hierarchy_year_out_of_range_is_refused_not_a_500(client, lead, year):
    response = client.get(reverse("admin:assistants_run_changelist"), {"created_at__year": year})
    assert response.status_code in (200, 302)


def test_deeply_nested_custom_metadata_is_a_form_error(client, lead):
    ticket = open_ticket()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    data = form_data(ticket, custom_metadata='{"a": ' + DEEP + "}")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Nested more than" in response.content.decode()
    ticket.thread.refresh_from_db()
    assert ticket.thread.custom_metadata == {}


def test_an_admin_subject_with_a_line_break_is_saved_on_one_line(client, lead):
    ticket = open_ticket()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    data = form_data(ticket, subject="Refund\r\nBcc: someone@example.com")
    assert client.post(url, data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.subject == "Refund Bcc: someone@example.com"


def test_the_attachment_admin_page_links_to_the_checked_download(client, lead):
    ticket = open_ticket(files=[SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 hello", content_type="application/pdf")])
    attachment = Attachment.objects.get(message__thread=ticket.thread)
    response = client.get(reverse("admin:assistants_attachment_change", args=[attachment.pk]))
    assert response.status_code == 200
    download = reverse("portal:attachment", args=[attachment.pk])
    assert f'href="{download}"' in response.content.decode()
    assert client.get(download).status_code == 200
    assert client.get(reverse("admin:assistants_attachment_changelist")).status_code == 200


def test_admin_change_pages_of_ids_too_big_for_the_database_are_not_a_500(client, lead):
    for name in ("tickets_ticket", "assistants_thread", "assistants_run", "assistants_attachment", "auth_user"):
        response = client.get(reverse(f"admin:{name}_change", args=[HUGE]))
        assert response.status_code in (302, 403, 404), name


# --- subjects and email --------------------------------------------------------------------


def test_a_subject_with_cr_lf_is_normalised_and_its_emails_are_sent(
    client, customer, jobs, django_capture_on_commit_callbacks
):
    client.force_login(customer)
    response = client.post(reverse("portal:new"), {"subject": "Late\r\nBcc: evil@example.com", "message": "Where?"})
    assert response.status_code == 302
    ticket = Ticket.objects.get(customer=customer)
    assert ticket.subject == "Late Bcc: evil@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        services.staff_reply(ticket=ticket, staff=StaffFactory(), body="On its way.")
    jobs.run()  # the reply's email is its own task
    assert [m.subject for m in mail.outbox] == [f"Re: Late Bcc: evil@example.com [{ticket.reference}]"]
    assert "evil@example.com" not in mail.outbox[0].to + mail.outbox[0].bcc


def test_a_stored_subject_with_a_line_break_still_sends_and_a_failed_email_is_an_error_with_its_cause(
    customer, caplog, monkeypatch, jobs
):
    """A staff notification (its own task): a subject stored with a line break goes out on one line;
    a mail server that refuses it is an error in the log, with its cause."""
    ticket = open_ticket(customer=customer)
    Ticket.objects.filter(pk=ticket.pk).update(subject="Old\nsubject")
    StaffFactory()
    services.ticket_escalate(ticket=ticket, reason="Asked for a person")
    notifications.escalated(ticket.pk)
    name, (subject, body, recipients) = jobs[-1]
    assert name == "tickets.tasks.send_staff_mail" and subject.endswith("Old subject") and "\n" not in subject
    jobs.run()
    assert mail.outbox[-1].subject.endswith("Old subject")

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(tasks.EmailMessage, "send", refuse)
    with caplog.at_level(logging.ERROR, logger="tickets.tasks"), pytest.raises(ConnectionRefusedError):
        tasks.send_staff_mail.run(subject, body, recipients)
    [record] = [r for r in caplog.records if r.name == "tickets.tasks"]
    assert record.levelno == logging.ERROR and "ConnectionRefusedError: mail server down" in record.getMessage()


# --- webhooks ------------------------------------------------------------------------------


def _post(client, body: bytes, headers: dict):
    url = reverse("assistants:openai_webhook")
    return client.post(url, data=body, content_type="application/json", headers=headers)


def test_a_correctly_signed_webhook_with_a_deeply_nested_body_is_a_400(client, settings):
    settings.OPENAI_WEBHOOK_SECRET = new_webhook_secret()
    body = b'{"type": "response.completed", "data": ' + DEEP.encode() + b"}"
    response = _post(client, body, sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET))
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_signed_webhook_without_an_id_is_refused_and_does_not_block_later_ones(client, settings):
    settings.OPENAI_WEBHOOK_SECRET = new_webhook_secret()
    for _ in range(2):
        body = build_event("response.completed", "resp_x")
        response = _post(client, body, sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET, webhook_id=""))
        assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()
    body = build_event("response.completed", "resp_x")
    assert _post(client, body, sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET)).content == b"ok"


@pytest.mark.parametrize("params", [{"role__gte": "\x00"}, {"q": "a\x00b"}, {"o": "\x00"}])
def test_a_nul_byte_in_an_admin_query_is_a_400(client, lead, params):
    open_ticket()
    response = client.get(reverse("admin:assistants_message_changelist"), params)
    assert response.status_code == 400


def test_an_admin_action_on_a_selection_that_is_not_ids_is_sent_back_to_the_list(client, lead):
    ticket = open_ticket()
    for selected in (["abc"], [HUGE], [str(ticket.pk), "²"]):
        data = {"action": "escalate", "_selected_action": selected}
        response = client.post(reverse("admin:tickets_ticket_changelist"), data)
        assert response.status_code == 302
    ticket.refresh_from_db()
    assert not ticket.escalated
