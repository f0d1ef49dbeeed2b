"""schemathesis, an outside client, against /api/v1/openapi.json: every operation, with a staff token
and a customer token, generated inputs (valid and not), in-process through the WSGI app. Checks:
no server error, status codes and content types the schema declares, bodies that match it.
Derandomized (the same examples each run), so CI is repeatable."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.views import api
from tests.api_support import bearer
from tests.factories import CustomerFactory, StaffFactory, open_ticket

pytestmark = pytest.mark.django_db
EXAMPLES = int(15 * float(os.environ.get("FUZZ_EXAMPLES", "1")))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def world(settings):
    """Two customers' tickets (one with a file), a staff member, and a token each."""
    settings.API_REQUESTS_PER_MINUTE = 100_000
    settings.HELPDESK_POSTS_PER_MINUTE = 100_000
    alice, bob = CustomerFactory(), CustomerFactory()
    agent = StaffFactory()
    ticket = open_ticket(alice, files=[SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")])
    open_ticket(bob)
    message = ticket.thread.messages.get()
    # The WSGI handler closes the connection after each request; the test's transaction needs it open
    # (Django's test client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {
        "tokens": {"staff": bearer(agent), "customer": bearer(alice)},
        "ids": {
            "thread_id": f"thread_{ticket.thread_id}",
            "message_id": f"msg_{message.pk}",
            "run_id": f"run_{ticket.thread.runs.get().pk}",
            "file_id": f"file_{message.attachments.get().pk}",
        },
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("who", ["staff", "customer"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, who, world):
    # Half the examples name real objects (of the token's own customer), the rest what was generated.
    for name, real in world["ids"].items():
        value = (case.path_parameters or {}).get(name)
        if value is not None and len(str(value)) % 2 == 0:
            case.path_parameters[name] = real
    case.call_and_validate(headers={"Authorization": f"Bearer {world['tokens'][who]}"}, checks=CHECKS)
