from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from assistants.models import Run
from tests.factories import open_ticket

pytestmark = pytest.mark.django_db
RUNS = "admin:assistants_run_changelist"


@pytest.fixture
def runs(drain):
    """Three finished runs with known usage: two completed (offline, openai) and one failed."""
    made = {}
    now = timezone.now()
    for name in ["ok", "cloud", "failed"]:
        ticket = open_ticket(subject=name)
        drain()
        made[name] = ticket.thread.runs.get()
    Run.objects.filter(pk=made["ok"].pk).update(
        input_tokens=100, cached_tokens=40, output_tokens=10, cost=Decimal("0.001")
    )
    Run.objects.filter(pk=made["cloud"].pk).update(
        provider="openai",
        input_tokens=1000,
        cached_tokens=0,
        output_tokens=200,
        cost=Decimal("0.002500"),
        created_at=now - timedelta(days=40),
    )
    Run.objects.filter(pk=made["failed"].pk).update(
        status=Run.Status.FAILED,
        error_code="insufficient_quota",
        error_message="No quota.",
        input_tokens=5,
        cached_tokens=0,
        output_tokens=0,
        cost=0,
    )
    return made


def listed(response):
    return {r.pk for r in response.context["cl"].result_list}


def test_run_list_shows_status_error_timings_tokens_and_cost(client, lead, runs):
    html = client.get(reverse(RUNS)).content.decode()
    for text in ("insufficient_quota", "Completed", "Failed", "0.002500", "1000"):
        assert text in html
    assert " s</td>" in html  # duration


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=failed", {"failed"}),
        ("error_code=insufficient_quota", {"failed"}),
        ("error_code=-", {"ok", "cloud"}),
        ("provider=openai", {"cloud"}),
        ("provider=offline", {"ok", "failed"}),
        ("created_at__gte={recent}", {"ok", "failed"}),
    ],
)
def test_run_filters(client, lead, runs, query, expected):
    recent = (timezone.now() - timedelta(days=7)).date().isoformat()
    response = client.get(reverse(RUNS) + "?" + query.format(recent=recent))
    assert response.status_code == 200
    assert listed(response) == {runs[n].pk for n in expected}


def test_totals_cover_the_filtered_runs_only(client, lead, runs):
    totals = client.get(reverse(RUNS)).context["totals"]
    assert totals == {
        "runs": 3,
        "input_tokens": 1105,
        "cached_tokens": 40,
        "output_tokens": 210,
        "cost": Decimal("0.0035"),
    }
    filtered = client.get(reverse(RUNS) + "?provider=openai")
    assert filtered.context["totals"]["input_tokens"] == 1000
    assert "Totals for the 1 filtered run:" in filtered.content.decode()


def test_totals_cost_one_query(client, lead, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as q:
        client.get(reverse(RUNS))
    aggregates = [x["sql"] for x in q.captured_queries if 'SUM("assistants_run"."output_tokens")' in x["sql"]]
    assert len(aggregates) == 1
