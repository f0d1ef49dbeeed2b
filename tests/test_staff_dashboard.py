"""The dashboard: figures from a few aggregate queries, and a chart drawn server-side."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from assistants.models import Run, Thread
from tests.factories import open_ticket
from tickets import selectors
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_dashboard_figures(client, staff, drain):
    now = timezone.now()
    a = open_ticket()
    b = open_ticket()
    c = open_ticket()
    drain()
    Ticket.objects.filter(pk=a.pk).update(
        created_at=now - timedelta(hours=2),
        first_response_at=now - timedelta(hours=1),
        resolved_at=now,
        status=Ticket.Status.RESOLVED,
        feedback_rating=Decimal("4.0"),
    )
    Ticket.objects.filter(pk=b.pk).update(
        created_at=now - timedelta(hours=3), first_response_at=now, escalated=True, feedback_rating=Decimal("5.0")
    )
    Thread.objects.filter(pk=c.thread_id).update(ai_state=Thread.AIState.DRAFT_WAITING)
    Run.objects.filter(thread=a.thread).update(cost=Decimal("0.25"))
    Run.objects.filter(thread=b.thread).update(cost=Decimal("0.50"))
    response = client.get(reverse("staff:dashboard"))
    assert response.status_code == 200
    d = response.context["d"]
    assert d.open_total == 2 and d.escalated_open == 1 and d.draft_waiting == 1
    assert d.avg_rating == Decimal("4.5") and d.rated == 2
    assert round(d.first_response_avg) == 2 * 3600  # (1 h + 3 h) / 2
    assert round(d.first_response_median) == 2 * 3600
    assert round(d.resolution_avg) == 2 * 3600
    assert d.cost_this_week == Decimal("0.75")
    # Two of the three were moved a few hours back, which near midnight is yesterday: count the last two days.
    assert d.opened_per_day[-2][1] + d.opened_per_day[-1][1] == 3
    assert d.opened_per_day[-1][0] == timezone.localtime(now).date()
    html = response.content.decode()
    assert "<svg" in html and "$0.75" in html and "2.0 h" in html


def test_first_human_response_leaves_the_assistant_out_and_resolved_without_a_person_is_counted(client, staff, drain):
    from tests.factories import StaffFactory
    from tickets import services

    by_bot, by_person, by_both = open_ticket(), open_ticket(), open_ticket()
    drain()  # the offline assistant answers all three within a second
    agent = StaffFactory()
    services.staff_reply(ticket=Ticket.objects.get(pk=by_person.pk), staff=agent, body="Here you go.")
    services.staff_reply(ticket=Ticket.objects.get(pk=by_both.pk), staff=agent, body="And a person too.")
    # As if the person had replied an hour after the ticket was opened.
    Ticket.objects.filter(pk__in=[by_person.pk, by_both.pk]).update(
        first_human_response_at=F("first_human_response_at") + timedelta(hours=1)
    )
    for ticket in (by_bot, by_both):
        services.ticket_update(ticket=Ticket.objects.get(pk=ticket.pk), by=agent, status=Ticket.Status.RESOLVED)

    by_person.refresh_from_db()
    assert by_person.first_human_response_at is not None
    assert Ticket.objects.get(pk=by_bot.pk).first_human_response_at is None
    d = selectors.dashboard_uncached()
    assert d.first_response_median < 60  # the assistant's replies count here
    assert round(d.first_human_response_median / 60) == 60  # a person replied an hour after opening
    assert d.resolved_total == 2 and d.resolved_without_human == 1
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert "First human response" in html and "Resolved without a human reply" in html and "50 %" in html


def test_week_starts_on_monday_midnight():
    wednesday = timezone.make_aware(timezone.datetime(2026, 3, 11, 15, 30))
    monday = selectors.week_start(wednesday)
    assert (monday.weekday(), monday.hour, monday.minute, monday.day) == (0, 0, 0, 9)


def test_runs_before_monday_do_not_count_as_this_weeks_cost(client, staff):
    ticket = open_ticket()
    Run.objects.filter(thread=ticket.thread).update(
        cost=Decimal("9.99"), created_at=selectors.week_start() - timedelta(hours=1)
    )
    assert client.get(reverse("staff:dashboard")).context["d"].cost_this_week == Decimal("0")


def test_dashboard_query_count_and_cache(client, staff, django_assert_num_queries):
    for _ in range(5):
        open_ticket()
    cache.clear()  # cold: nothing cached, not even the session
    # session, user; ticket counts by status and flags (shared with the inbox), AI states; times
    # and rating of the last 30 days (one query on PostgreSQL, seven on SQLite, which has no
    # percentile_cont); this week's cost; opened per day; the assistant's replies by outcome and
    # the deflections of the window
    expected = 2 + 2 + (1 if connection.vendor == "postgresql" else 7) + 2 + 2
    with django_assert_num_queries(expected):
        client.get(reverse("staff:dashboard"))
    with django_assert_num_queries(1):  # the user; the figures are cached for half a minute
        client.get(reverse("staff:dashboard"))


def test_dashboard_counts_agree_with_the_inbox_chips(client, staff):
    open_ticket()
    escalated = open_ticket()
    Ticket.objects.filter(pk=escalated.pk).update(escalated=True, status=Ticket.Status.PENDING)
    closed = open_ticket()
    Ticket.objects.filter(pk=closed.pk).update(status=Ticket.Status.CLOSED, escalated=True)
    Thread.objects.filter(pk=closed.thread_id).update(ai_state=Thread.AIState.FAILED)
    d = client.get(reverse("staff:dashboard")).context["d"]
    counts = client.get(reverse("staff:inbox")).context["counts"]
    assert d.open_total == counts["open"] == 2
    assert d.escalated_open == counts["escalated"] == 1
    assert d.failed == counts["failed"] == 1
    assert {value: n for value, _label, n in d.by_status} == {
        value: counts[f"status_{value}"] for value in Ticket.Status.values
    }
    assert sum(n for _, _, n in d.by_status) == counts["all"] == 3
