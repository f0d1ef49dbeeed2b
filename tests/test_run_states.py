"""What customers and staff are told about the assistant's work: slow runs, retries, failures,
hand-offs, and stopping a run from the ticket page or the admin."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assistants.models import Message, Run, Thread
from tests.factories import StaffFactory, open_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_customer_is_told_when_the_assistant_takes_longer_than_usual(portal, customer, settings):
    settings.ASSISTANT_SLOW_NOTICE = 30
    ticket = open_ticket(customer=customer)
    page = portal.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "The assistant is answering" in page and "longer than usual" not in page
    Thread.objects.filter(pk=ticket.thread_id).update(ai_state_since=timezone.now() - timedelta(seconds=31))
    poll = portal.get(reverse("portal:updates", args=[ticket.pk]) + "?after=1", headers={"HX-Request": "true"})
    assert "taking longer than usual" in poll.content.decode()


def test_staff_see_the_attempts_and_last_error_of_a_run_that_retries_and_can_stop_it(client, staff):
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    Run.objects.filter(pk=run.pk).update(attempts=2, error_code="rate_limit_exceeded", error_message="Slow down")
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Retrying" in page and "attempt 3, last error: Slow down" in page
    assert reverse("staff:run_stop", args=[run.pk]) in page

    response = client.post(reverse("staff:run_stop", args=[run.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    run.refresh_from_db()
    assert (
        run.status == Run.Status.CANCELLED
        and run.error_message == f"Stopped by {staff.get_full_name() or staff.email}."
    )
    assert "Assistant run <strong>cancelled</strong>" in response.content.decode()
    again = client.post(reverse("staff:run_stop", args=[run.pk]), headers={"HX-Request": "true"})
    assert again.status_code == 422 and "already ended" in again.content.decode()


def test_a_failed_run_is_called_failed_and_a_completed_runs_old_error_is_not_shown(client, staff):
    ticket = open_ticket()
    run = Run.objects.get(thread=ticket.thread)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, error_message="OpenAI refused the request")
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Assistant run <strong>failed</strong>: OpenAI refused the request" in page
    Run.objects.filter(pk=run.pk).update(status=Run.Status.COMPLETED, error_message="")
    page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "refused" not in page and "Assistant: <strong>done</strong>" in page


def test_a_hand_off_notice_reads_as_the_help_desk_to_the_customer_and_as_a_notice_to_staff(client, drain):
    ticket = open_ticket()
    from assistants import services

    services.hand_off(ticket.thread, None, reason="The model refused.")
    staff = StaffFactory()
    client.force_login(staff)
    staff_page = client.get(reverse("staff:ticket", args=[ticket.pk])).content.decode()
    assert "Automatic notice to the customer" in staff_page
    client.force_login(ticket.customer)
    portal_page = client.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "portal-message-notice" in portal_page and "Help desk" in portal_page
    assert Message.objects.filter(thread=ticket.thread, kind=Message.Kind.NOTICE).get().sync_state == "local"


def test_leads_stop_runs_from_the_admin(client):
    lead = StaffFactory(is_superuser=True)
    client.force_login(lead)
    ticket = open_ticket()
    response = client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "stop_assistant", "_selected_action": [ticket.pk]},
        follow=True,
    )
    assert "Stopped 1 run(s)." in response.content.decode()
    assert Run.objects.get(thread=ticket.thread).status == Run.Status.CANCELLED


def test_a_ticket_whose_ai_mode_is_off_gets_no_run_and_a_thread_nobody_owns_neither():
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode=Ticket.AIMode.OFF)
    Run.objects.filter(thread=ticket.thread).update(status=Run.Status.CANCELLED)
    from tickets import services as desk

    desk.customer_reply(ticket=ticket, customer=ticket.customer, body="hello?")
    assert not Run.objects.filter(thread=ticket.thread, status__in=Run.ACTIVE).exists()


@pytest.mark.parametrize(
    "name, value", [("ASSISTANT_PROVIDER", "gpt"), ("HELPDESK_DEFAULT_AI_MODE", "always"), ("EMAIL_BACKEND", "smtps")]
)
def test_an_unknown_enum_setting_stops_the_app_with_a_clear_message(name, value):
    code = "import django; django.setup()"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "config.settings", name: value, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and f"{name}={value!r} is not valid" in done.stderr
