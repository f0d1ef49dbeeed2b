"""Property-based fuzzing (Hypothesis): every staff, portal, account, webhook and admin URL and
form, as every role, with generated ids, cursors, filter values, unicode, NUL bytes, CR/LF, huge
numbers, deep JSON and odd uploads. Two properties hold for every request:

1. no server error: the response is below 500 (and no exception escapes the view);
2. no partial write: a request that is refused (4xx) leaves the database as it found it.

Each example runs inside a transaction that is rolled back afterwards, so every example meets
the same world (and a lock-out or a deleted ticket from one example does not hide paths from the
next). Runs are derandomized (the same examples each run, so CI is repeatable); for a longer hunt
FUZZ_EXAMPLES multiplies the example counts and FUZZ_RANDOM=1 draws new ones, e.g.
`FUZZ_RANDOM=1 FUZZ_EXAMPLES=10 .venv/bin/python -m pytest tests/test_fuzz.py`.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count, Max
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistants.models import Attachment, Message, Run, Thread, WebhookDelivery
from tests.emulator import new_webhook_secret, sign_webhook
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets.models import CustomerProfile, FlagChange, Ticket

pytestmark = pytest.mark.django_db
SCALE = float(os.environ.get("FUZZ_EXAMPLES", "1"))


def _examples(n: int) -> int:
    return max(1, int(n * SCALE))


FUZZ = dict(
    deadline=None,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- generated values ------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


DEEP = "[" * 2000 + "]" * 2000
NASTY = [
    "",
    " ",
    "0",
    "1",
    "-1",
    "2",
    "²",
    "٣",
    "¹²³",
    "1.5",
    "1e309",
    "NaN",
    "Infinity",
    "true",
    "null",
    "me",
    "none",
    "anyone",
    "open",
    "all",
    "draft",
    "auto",
    "off",
    "9" * 30,
    str(2**63),
    str(2**63 - 1),
    str(2**31),
    str(-(2**63) - 1),
    "\x00",
    "a\x00b",
    "line\r\nBcc: x@example.com",
    "\u2028",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "é" * 300,
    "x" * 5000,
    DEEP,
    '{"a": ' * 100 + "1" + "}" * 100,
    _b64(DEEP),
    _b64('["2026-01-01T00:00:00+00:00", 99999999999999999999999]'),
    _b64('["x", 1]'),
    _b64("[1, 2, 3]"),
    _b64('["2026-01-01T00:00:00", 1]'),
    "2026-13-45",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
]
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
value = st.one_of(st.sampled_from(NASTY), text, st.integers(min_value=-(2**70), max_value=2**70).map(str))


def ids(world_ids):
    """An existing id (often), or something that is not one."""
    return st.one_of(st.sampled_from(sorted(world_ids) or [1]), st.sampled_from(["0", "9" * 30, str(2**63), "²"]))


upload = st.builds(
    SimpleUploadedFile,
    name=st.sampled_from(["a.png", "a.txt", "a.pdf", "a.svg", "a", ".png", "x\r\n.txt", "a.PNG", "é.zip", "a" * 300]),
    content=st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b"\x89PNG\r\n\x1a\n", b"<svg onload=alert(1)>", b"%PDF-1.4", b"PK\x03\x04", b""]),
    ),
    content_type=st.sampled_from(["image/png", "text/plain", "text/html", "application/pdf", "", "image/svg+xml"]),
)


def form(names, *, files=None):
    """A dict of some of `names` (each a generated value, sometimes a list of values)."""
    field = st.one_of(value, st.lists(value, min_size=2, max_size=3))
    data = st.dictionaries(st.sampled_from(names), field, max_size=len(names))
    if files is None:
        return data
    return st.tuples(data, st.lists(upload, max_size=7)).map(lambda pair: {**pair[0], files: pair[1]})


# --- the world -------------------------------------------------------------------------------


@dataclass
class World:
    clients: dict[str, Client]
    tickets: set[str]
    messages: set[str]
    runs: set[str]
    attachments: set[str]
    users: set[str]
    threads: set[str]


@pytest.fixture
def world(settings, drain):
    settings.HELPDESK_POSTS_PER_MINUTE = 10**6
    settings.HELPDESK_SIGNUPS_PER_HOUR = 10**6
    settings.HELPDESK_PASSWORD_RESETS_PER_HOUR = 10**6
    settings.OPENAI_WEBHOOK_SECRET = new_webhook_secret()
    lead = StaffFactory(username="lead@example.com")
    lead.groups.add(Group.objects.get(name="Support lead"))
    agent = StaffFactory(username="agent@example.com")
    agent.groups.add(Group.objects.get(name="Support agent"))
    alice, bob = CustomerFactory(username="alice@example.com"), CustomerFactory(username="bob@example.com")
    pdf = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 hello", content_type="application/pdf")
    tickets = [
        open_ticket(customer=alice, subject="Where is my parcel", files=[pdf]),
        open_ticket(customer=bob, subject="Refund"),
    ]
    settings.HELPDESK_DEFAULT_AI_MODE = Ticket.AIMode.DRAFT
    tickets.append(open_ticket(customer=alice, subject="A draft waits"))
    drain()
    Ticket.objects.filter(pk=tickets[1].pk).update(status=Ticket.Status.RESOLVED, assignee=agent)
    clients = {"anonymous": Client()}
    for role, user in {"lead": lead, "agent": agent, "customer": alice, "other customer": bob}.items():
        clients[role] = Client()
        clients[role].force_login(user)

    def strs(qs):
        return {str(pk) for pk in qs.values_list("pk", flat=True)}

    return World(
        clients=clients,
        tickets=strs(Ticket.objects),
        messages=strs(Message.objects),
        runs=strs(Run.objects),
        attachments=strs(Attachment.objects),
        users=strs(CustomerProfile.objects.values("user_id").annotate(n=Count("pk")).values("user_id"))
        | {str(lead.pk), str(agent.pk)},
        threads=strs(Thread.objects),
    )


def snapshot():
    """What a refused request must not change: row counts and every ticket's fields."""
    tickets = list(
        Ticket.objects.order_by("pk").values_list(
            "pk", "subject", "status", "priority", "assignee_id", "ai_mode", "escalated", "feedback_rating"
        )
    )
    counts = {
        model.__name__: model.objects.count()
        for model in (Message, Attachment, Run, Thread, FlagChange, WebhookDelivery, CustomerProfile)
    }
    custom = list(Thread.objects.order_by("pk").values_list("pk", "custom_metadata"))
    published = Message.objects.aggregate(m=Max("published_at"))["m"]
    return tickets, counts, custom, published


def check(world: World, role: str, method: str, url: str, data=None, **extra):
    client = world.clients[role]
    with transaction.atomic():
        before = snapshot()
        if method == "GET":
            response = client.get(url, data or {}, **extra)
        elif "content_type" in extra:
            response = client.post(url, data, **extra)
        else:
            response = client.post(url, data or {}, **extra)
        status = response.status_code
        assert status < 500, f"{role} {method} {url} {data!r}: {status}"
        if status >= 400:
            assert snapshot() == before, f"{role} {method} {url} {data!r}: {status} but the database changed"
        transaction.set_rollback(True)
    return response


ROLES = st.sampled_from(["anonymous", "customer", "other customer", "agent", "lead"])
STAFF_ROLES = st.sampled_from(["agent", "lead", "lead", "agent", "customer", "anonymous"])
PORTAL_ROLES = st.sampled_from(["customer", "customer", "other customer", "agent", "anonymous"])


# --- the staff workspace ---------------------------------------------------------------------

INBOX = ["q", "status", "priority", "assignee", "escalated", "ai", "sort", "after", "before"]


@settings(max_examples=_examples(190), **FUZZ)
@given(data=st.data())
def test_staff_workspace(world, data):
    role = data.draw(STAFF_ROLES)
    tid = data.draw(ids(world.tickets))
    mid = data.draw(ids(world.messages))
    rid = data.draw(ids(world.runs))
    target = data.draw(
        st.sampled_from(
            [
                ("GET", "/staff/", form(INBOX)),
                ("GET", "/staff/dashboard/", st.just({})),
                ("GET", f"/staff/tickets/{tid}/", st.just({})),
                ("GET", f"/staff/tickets/{tid}/run-status/", form(["after"])),
                ("GET", "/staff/live/", form(["since", *INBOX])),
                ("GET", f"/staff/tickets/{tid}/live/", form(["since", "after", "typing"])),
                ("POST", f"/staff/tickets/{tid}/typing/", form(["stopped"])),
                ("GET", f"/staff/tickets/{tid}/messages/", form(["before"])),
                ("POST", f"/staff/tickets/{tid}/reply/", form(["body", "internal"], files="files")),
                ("POST", f"/staff/tickets/{tid}/ask-assistant/", st.just({})),
                ("POST", f"/staff/tickets/{tid}/update/", form(["status", "priority", "assignee", "ai_mode"])),
                ("POST", f"/staff/tickets/{tid}/escalate/", form(["reason"])),
                ("POST", f"/staff/tickets/{tid}/deescalate/", st.just({})),
                ("POST", f"/staff/drafts/{mid}/approve/", form(["body"])),
                ("POST", f"/staff/drafts/{mid}/discard/", st.just({})),
                ("POST", f"/staff/runs/{rid}/retry/", st.just({})),
                ("POST", f"/staff/runs/{rid}/stop/", st.just({})),
            ]
        )
    )
    method, url, params = target
    htmx = data.draw(st.sampled_from([{}, {"HTTP_HX_REQUEST": "true"}]))
    check(world, role, method, url, data.draw(params), **htmx)


# --- the portal and the account pages --------------------------------------------------------


@settings(max_examples=_examples(180), **FUZZ)
@given(data=st.data())
def test_portal_and_accounts(world, data):
    role = data.draw(PORTAL_ROLES)
    tid = data.draw(ids(world.tickets))
    aid = data.draw(ids(world.attachments))
    token = data.draw(st.sampled_from(["abc", "x" * 200, "²", "set-password", "-"]))
    uid = data.draw(st.sampled_from(["MQ", "Mg", "²", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "!!", "AA"]))
    target = data.draw(
        st.sampled_from(
            [
                ("GET", "/portal/", st.just({})),
                ("GET", "/portal/new/", st.just({})),
                ("POST", "/portal/new/", form(["subject", "message"], files="attachments")),
                ("GET", f"/portal/tickets/{tid}/", form(["all"])),
                ("GET", f"/portal/tickets/{tid}/updates/", form(["after", "since"])),
                ("POST", f"/portal/tickets/{tid}/reply/", form(["message", "after", "since"], files="attachments")),
                ("POST", f"/portal/tickets/{tid}/human/", st.just({})),
                ("POST", f"/portal/tickets/{tid}/rate/", form(["rating", "comment"])),
                ("GET", f"/portal/attachments/{aid}/", st.just({})),
                ("GET", "/portal/signup/", st.just({})),
                ("POST", "/portal/signup/", form(["first_name", "email", "password1", "password2"])),
                ("GET", f"/portal/signup/{uid}/{token}/", st.just({})),
                ("POST", "/accounts/login/", form(["username", "password", "next"])),
                ("GET", "/accounts/login/", form(["next"])),
                ("POST", "/accounts/password_reset/", form(["email"])),
                ("GET", f"/accounts/reset/{uid}/{token}/", st.just({})),
                ("POST", "/accounts/logout/", st.just({})),
            ]
        )
    )
    method, url, params = target
    htmx = data.draw(st.sampled_from([{}, {"HTTP_HX_REQUEST": "true"}]))
    check(world, role, method, url, data.draw(params), **htmx)


# --- signed webhooks -------------------------------------------------------------------------


@settings(max_examples=_examples(50), **FUZZ)
@given(
    body=st.one_of(
        st.sampled_from([DEEP, '{"type": "response.completed", "data": ' + DEEP + "}", "", "null", "[]", "{}"]),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), text),
            lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
            max_leaves=20,
        ).map(json.dumps),
        text,
    ),
    webhook_id=st.sampled_from([None, "", " ", "x" * 200, "wh_1", "\u00e9"]),
)
def test_signed_webhooks(world, settings, body, webhook_id):
    headers = sign_webhook(body, settings.OPENAI_WEBHOOK_SECRET, webhook_id=webhook_id)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "content-type"}
    check(world, "anonymous", "POST", "/webhooks/openai/", body.encode(), content_type="application/json", **headers)


# --- the admin: every registered model's pages, filters, forms and actions -------------------


def _filter_params(model_admin) -> list[str]:
    names = ["q", "o", "p", "e", "all", "_to_field", "_popup", "_changelist_filters"]
    for entry in model_admin.list_filter:
        if isinstance(entry, str):
            names += [f"{entry}__exact", f"{entry}", f"{entry}__isnull", f"{entry}__id__exact", f"{entry}__gte"]
        elif isinstance(entry, tuple):
            names += [f"{entry[0]}__isnull", f"{entry[0]}__exact"]
        else:
            names.append(entry.parameter_name)
    if model_admin.date_hierarchy:
        names += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    return names


def _form_fields(model) -> list[str]:
    names = [f.name for f in model._meta.concrete_fields if not f.primary_key]
    return names + ["custom_metadata", "_save", "_continue", "flag_changes-TOTAL_FORMS", "flag_changes-INITIAL_FORMS"]


ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@settings(max_examples=_examples(280), **FUZZ)
@given(data=st.data())
def test_admin(world, data):
    role = data.draw(st.sampled_from(["lead", "lead", "agent", "customer", "anonymous"]))
    model, model_admin = data.draw(st.sampled_from(ADMINS))
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    pool = {
        Ticket: world.tickets,
        Thread: world.threads,
        Run: world.runs,
        Message: world.messages,
        Attachment: world.attachments,
    }.get(model, world.users)
    object_id = data.draw(st.one_of(ids(pool), value))
    kind = data.draw(st.sampled_from(["changelist", "changelist", "change", "change-post", "action", "other"]))
    if kind == "changelist":
        check(world, role, "GET", reverse(f"{info}_changelist"), data.draw(form(_filter_params(model_admin))))
    elif kind == "action":
        request_like = type("R", (), {"user": None})
        actions = list(getattr(model_admin, "actions", None) or []) + ["delete_selected", "nope", ""]
        del request_like
        payload = {
            "action": data.draw(st.sampled_from([a if isinstance(a, str) else a.__name__ for a in actions])),
            "_selected_action": data.draw(st.lists(st.one_of(ids(pool), value), max_size=3)),
            **data.draw(form(["post", "index", "select_across"])),
        }
        check(world, role, "POST", reverse(f"{info}_changelist"), payload)
    else:
        path = f"{reverse('admin:index')}{model._meta.app_label}/{model._meta.model_name}/"
        quoted = str(object_id).replace("/", "%2F")
        if kind == "change":
            check(world, role, "GET", f"{path}{quoted}/change/")
        elif kind == "change-post":
            check(world, role, "POST", f"{path}{quoted}/change/", data.draw(form(_form_fields(model))))
        else:
            suffix = data.draw(st.sampled_from(["add/", f"{quoted}/delete/", f"{quoted}/history/", f"{quoted}/"]))
            check(world, role, "GET", f"{path}{suffix}")


# --- the REST API ----------------------------------------------------------------------------

API_PATHS = [
    ("GET", "/threads"),
    ("POST", "/threads"),
    ("GET", "/threads/{t}"),
    ("POST", "/threads/{t}"),
    ("GET", "/threads/{t}/messages"),
    ("POST", "/threads/{t}/messages"),
    ("GET", "/threads/{t}/messages/{m}"),
    ("POST", "/threads/{t}/messages/{m}"),
    ("GET", "/threads/{t}/messages/{m}/files"),
    ("GET", "/threads/{t}/runs"),
    ("POST", "/threads/{t}/runs"),
    ("GET", "/threads/{t}/runs/{r}"),
    ("POST", "/threads/{t}/runs/{r}/cancel"),
    ("GET", "/files/{f}/content"),
]
API_FIELDS = ["content", "internal", "subject", "customer_email", "metadata"]
API_QUERY = ["limit", "order", "after", "before"]


def api_ids(prefix: str, world_ids):
    return st.one_of(ids(world_ids).map(lambda pk: f"{prefix}{pk}"), value)


@settings(max_examples=_examples(120), **FUZZ)
@given(data=st.data())
def test_api(world, data, settings):
    """Every /api/v1/ operation, with a write token of every role, a read token and none; generated
    ids, cursors, query values, JSON bodies (objects, arrays, metadata of any shape), multipart
    bodies with odd uploads, and Idempotency-Key values: never a 500, never a write when refused."""
    from tests.api_support import bearer

    settings.API_REQUESTS_PER_MINUTE = 10**6
    users = {"lead": "lead@example.com", "agent": "agent@example.com", "customer": "alice@example.com"}
    users["other customer"] = "bob@example.com"
    from django.contrib.auth import get_user_model

    who = data.draw(st.sampled_from([*users, "read", "none"]))
    if who == "none":
        headers = {}
    else:
        user = get_user_model().objects.get(username=users.get(who, "agent@example.com"))
        headers = {"Authorization": f"Bearer {bearer(user, 'read' if who == 'read' else 'write')}"}
    if data.draw(st.booleans()):
        headers["Idempotency-Key"] = data.draw(st.sampled_from(["k1", "k2", "", " ", "x" * 300, "é"]))
    method, template = data.draw(st.sampled_from(API_PATHS))
    path = template.format(
        t=data.draw(api_ids("thread_", world.threads)),
        m=data.draw(api_ids("msg_", world.messages)),
        r=data.draw(api_ids("run_", world.runs)),
        f=data.draw(api_ids("file_", world.attachments)),
    ).replace("\x00", "%00")
    url = "/api/v1" + "".join(c if c.isprintable() and c not in "?#% " else f"%{ord(c) & 0xFF:02X}" for c in path)
    if method == "GET":
        check(world, "anonymous", "GET", url, data.draw(form(API_QUERY)), headers=headers)
        return
    json_value = st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), value),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(value, inner, max_size=4)),
        max_leaves=8,
    )
    body = st.one_of(
        st.dictionaries(st.sampled_from(API_FIELDS), json_value, max_size=4),
        st.fixed_dictionaries(
            {"metadata": st.dictionaries(st.one_of(value, st.sampled_from(API_FIELDS)), json_value, max_size=20)}
        ),
        json_value,
    )
    if data.draw(st.booleans()):
        check(world, "anonymous", "POST", url, data.draw(form(API_FIELDS, files="files")), headers=headers)
    else:
        raw = data.draw(st.one_of(body.map(json.dumps), st.sampled_from([DEEP, "{", "\xff", ""])))
        check(world, "anonymous", "POST", url, raw, content_type="application/json", headers=headers)
