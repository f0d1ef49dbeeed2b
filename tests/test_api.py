"""The REST API (/api/v1/): tokens, access, threads, messages, runs, paging, idempotency, errors."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from api.models import ApiToken, IdempotencyKey
from api.tokens import token_revoke
from assistants.models import Message, Run
from tests.api_support import ApiClient, bearer
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets.models import FlagChange, Ticket

pytestmark = pytest.mark.django_db


def tid(ticket) -> str:
    return f"thread_{ticket.thread_id}"


@pytest.fixture
def agent():
    return StaffFactory()


@pytest.fixture
def staff_api(agent):
    return ApiClient(bearer(agent, "write"))


# --- tokens ------------------------------------------------------------------------------------


def test_token_is_stored_hashed_and_its_secret_works_once_shown(agent):
    secret = bearer(agent)
    token = ApiToken.objects.get(user=agent)
    assert secret not in (token.key_hash, token.prefix) and len(token.key_hash) == 64
    assert ApiClient(secret).get("/threads").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_management_command_prints_a_working_token(agent, capsys):
    call_command("create_api_token", agent.email, "--scope", "write")
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("hd_")
    assert ApiToken.objects.get(user=agent).scope == "write"
    assert ApiClient(secret).get("/threads").status_code == 200


def test_revoked_expired_missing_and_wrong_tokens_get_401(agent):
    secret = bearer(agent)
    token = ApiToken.objects.get(user=agent)
    expired = bearer(agent, expires_at=timezone.now() + timedelta(seconds=30))
    ApiToken.objects.filter(prefix=expired[:9]).update(expires_at=timezone.now() - timedelta(seconds=1))
    token_revoke(token=token, by=agent)
    for value in (secret, expired, "hd_nope", ""):
        response = ApiClient(value).get("/threads")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response["WWW-Authenticate"] == "Bearer"


def test_read_token_cannot_write(agent):
    ticket = open_ticket()
    reader = ApiClient(bearer(agent, "read"))
    assert reader.get(f"/threads/{tid(ticket)}").status_code == 200
    before = Message.objects.count()
    for response in (
        reader.post(f"/threads/{tid(ticket)}/messages", {"content": "hi"}),
        reader.post(f"/threads/{tid(ticket)}", {"metadata": {"conversation_topic": "x"}}),
        reader.post("/threads", {"subject": "s", "content": "c", "customer_email": "new@example.com"}),
        reader.post(f"/threads/{tid(ticket)}/runs"),
        reader.delete(f"/threads/{tid(ticket)}"),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "read_only_token"
    assert Message.objects.count() == before


def test_per_token_rate_limit_answers_429_with_retry_after(agent, settings):
    settings.API_REQUESTS_PER_MINUTE = 3
    api = ApiClient(bearer(agent))
    codes = [api.get("/threads").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = api.get("/threads")
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response.json()["error"]["code"] == "rate_limited"
    assert ApiClient(bearer(agent)).get("/threads").status_code == 200  # per token


# --- access ------------------------------------------------------------------------------------


def test_customer_b_gets_404_for_everything_of_customer_a():
    alice, bob = CustomerFactory(), CustomerFactory()
    ticket = open_ticket(alice, files=[SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")])
    message = ticket.thread.messages.get()
    attachment = message.attachments.get()
    run = Run.objects.get(thread=ticket.thread)
    a, b = ApiClient(bearer(alice)), ApiClient(bearer(bob))
    paths = [
        f"/threads/{tid(ticket)}",
        f"/threads/{tid(ticket)}/messages",
        f"/threads/{tid(ticket)}/messages/msg_{message.pk}",
        f"/threads/{tid(ticket)}/messages/msg_{message.pk}/files",
        f"/threads/{tid(ticket)}/runs",
        f"/threads/{tid(ticket)}/runs/run_{run.pk}",
        f"/files/file_{attachment.pk}/content",
    ]
    for path in paths:
        assert a.get(path).status_code == 200, path
        response = b.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    for response in (
        b.post(f"/threads/{tid(ticket)}/messages", {"content": "mine now"}),
        b.post(f"/threads/{tid(ticket)}", {"metadata": {"feedback_rating": "5"}}),
        b.post(f"/threads/{tid(ticket)}/messages/msg_{message.pk}", {"metadata": {"k": "v"}}),
        b.post(f"/threads/{tid(ticket)}/runs"),
        b.post(f"/threads/{tid(ticket)}/runs/run_{run.pk}/cancel"),
        b.delete(f"/threads/{tid(ticket)}"),
        b.delete(f"/threads/{tid(ticket)}/messages/msg_{message.pk}"),
    ):
        assert response.status_code in (403, 404), response.content
    assert b.get("/threads").json()["data"] == []
    assert ticket.thread.messages.count() == 1


def test_customer_token_sees_only_public_messages_through_the_portal_rule(agent):
    customer = CustomerFactory()
    ticket = open_ticket(customer)
    from tickets import services

    services.staff_reply(ticket=ticket, staff=agent, body="secret note", internal=True)
    services.staff_reply(ticket=ticket, staff=agent, body="public answer")
    mine = ApiClient(bearer(customer)).get(f"/threads/{tid(ticket)}/messages").json()
    bodies = [m["content"][0]["text"]["value"] for m in mine["data"]]
    assert bodies == ["public answer", "Where is my parcel?"]
    note = ticket.thread.messages.get(body="secret note")
    assert ApiClient(bearer(customer)).get(f"/threads/{tid(ticket)}/messages/msg_{note.pk}").status_code == 404
    staff_view = ApiClient(bearer(agent)).get(f"/threads/{tid(ticket)}/messages").json()
    assert [m["internal"] for m in staff_view["data"]] == [False, True, False]


# --- threads and messages ----------------------------------------------------------------------


def test_customer_opens_a_thread_and_replies_which_asks_for_runs():
    customer = CustomerFactory()
    api = ApiClient(bearer(customer))
    response = api.post("/threads", {"subject": "Late parcel", "content": "Where is it?"})
    assert response.status_code == 201, response.content
    thread = response.json()
    assert thread["object"] == "thread" and thread["customer_email"] == customer.email
    assert thread["flags"]["escalated"] is False and thread["metadata"]["escalated"] == "false"
    ticket = Ticket.objects.get(customer=customer)
    assert Run.objects.filter(thread=ticket.thread).count() == 1
    created = api.post(f"/threads/{thread['id']}/messages", {"content": "Any news?"})
    assert created.status_code == 201
    body = created.json()
    assert body["object"] == "thread.message" and body["role"] == "user" and body["author_type"] == "customer"
    assert body["content"] == [{"type": "text", "text": {"value": "Any news?", "annotations": []}}]


def test_staff_opens_a_thread_for_a_customer_by_email_and_writes_reply_and_note(staff_api):
    created = staff_api.post("/threads", {"subject": "Hi", "content": "Called us", "customer_email": "New@Example.com"})
    assert created.status_code == 201, created.content
    assert created.json()["customer_email"] == "new@example.com"
    thread_id = created.json()["id"]
    reply = staff_api.post(f"/threads/{thread_id}/messages", {"content": "We are on it"}).json()
    assert reply["role"] == "assistant" and reply["author_type"] == "staff" and not reply["internal"]
    note = staff_api.post(f"/threads/{thread_id}/messages", {"content": "check", "internal": True}).json()
    assert note["role"] == "developer" and note["internal"]
    missing = staff_api.post("/threads", {"subject": "Hi", "content": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "customer_email"


def test_message_with_files_through_multipart_and_downloaded_through_the_checked_url():
    customer = CustomerFactory()
    ticket = open_ticket(customer)
    api = ApiClient(bearer(customer))
    upload = SimpleUploadedFile("notes.txt", b"tracking 123", content_type="text/plain")
    response = api.post(f"/threads/{tid(ticket)}/messages", data={"content": "see file", "files": [upload]})
    assert response.status_code == 201, response.content
    message = response.json()
    assert [f["filename"] for f in message["attachments"]] == ["notes.txt"]
    files = api.get(f"/threads/{tid(ticket)}/messages/{message['id']}/files").json()
    assert files["data"][0]["bytes"] == len(b"tracking 123")
    download = api.client.get(files["data"][0]["download_url"], headers=api.headers)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"tracking 123"
    bad = api.post(
        f"/threads/{tid(ticket)}/messages",
        data={"content": "x", "files": [SimpleUploadedFile("a.png", b"<svg>", content_type="image/png")]},
    )
    assert bad.status_code == 400 and "not accepted" in bad.json()["error"]["message"]


def test_validation_errors_name_the_field(staff_api):
    ticket = open_ticket()
    response = staff_api.post(f"/threads/{tid(ticket)}/messages", {"content": ""})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "content"
    response = staff_api.get(f"/threads/{tid(ticket)}/messages", limit=500)
    assert response.status_code == 400 and response.json()["error"]["field"] == "limit"
    response = staff_api.post("/threads", {"subject": "a\x00b", "content": "x", "customer_email": "a@example.com"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "subject"
    deep = staff_api.client.post(
        f"/api/v1/threads/{tid(ticket)}/messages",
        "[" * 3000,
        content_type="application/json",
        headers=staff_api.headers,
    )
    assert deep.status_code == 400


def test_thread_metadata_follows_the_admins_rules(staff_api, agent):
    ticket = open_ticket()
    path = f"/threads/{tid(ticket)}"
    ok = staff_api.post(path, {"metadata": {"escalated": "true", "conversation_topic": "billing", "order": "5521"}})
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["flags"]["escalated"] is True and body["flags"]["conversation_topic"] == "billing"
    assert body["metadata"]["order"] == "5521"
    assert FlagChange.objects.filter(ticket=ticket, field="escalated", changed_by=agent).exists()
    patched = staff_api.patch(path, {"metadata": {"order": None}})
    assert patched.status_code == 200 and "order" not in patched.json()["metadata"]
    too_long = staff_api.post(path, {"metadata": {"language_preference": "x" * 11}})
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "metadata.language_preference"
    assert "at most 10 characters" in too_long.json()["error"]["message"]
    many = staff_api.post(path, {"metadata": {f"k{i}": "v" for i in range(10)}})
    assert many.status_code == 400 and "custom keys: at most 9" in many.json()["error"]["message"]
    read_only = staff_api.post(path, {"metadata": {"user_is_premium": "true"}})
    assert read_only.status_code == 400 and read_only.json()["error"]["field"] == "metadata.user_is_premium"
    bad_flag = staff_api.post(path, {"metadata": {"escalated": "maybe"}})
    assert bad_flag.status_code == 400


def test_customer_rates_only_a_resolved_ticket_through_metadata():
    customer = CustomerFactory()
    ticket = open_ticket(customer)
    api = ApiClient(bearer(customer))
    early = api.post(f"/threads/{tid(ticket)}", {"metadata": {"feedback_rating": "4.5"}})
    assert early.status_code == 400 and "once it is resolved" in early.json()["error"]["message"]
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.RESOLVED)
    rated = api.post(f"/threads/{tid(ticket)}", {"metadata": {"feedback_rating": "4.5"}})
    assert rated.status_code == 200 and rated.json()["flags"]["feedback_rating"] == "4.5"
    assert api.post(f"/threads/{tid(ticket)}", {"metadata": {"feedback_rating": "4.2"}}).status_code == 400
    assert api.post(f"/threads/{tid(ticket)}", {"metadata": {"conversation_topic": "x"}}).status_code == 403


def test_message_metadata_is_kept_apart_from_the_desks_own(staff_api):
    ticket = open_ticket()
    message = ticket.thread.messages.get()
    Message.objects.filter(pk=message.pk).update(metadata={"original_body": "hidden"})
    path = f"/threads/{tid(ticket)}/messages/msg_{message.pk}"
    response = staff_api.post(path, {"metadata": {"crm_id": "42"}})
    assert response.status_code == 200 and response.json()["metadata"] == {"crm_id": "42"}
    message.refresh_from_db()
    assert message.metadata["original_body"] == "hidden"
    assert staff_api.post(path, {"metadata": {"v": "x" * 513}}).status_code == 400


def test_thread_delete_deletes_the_remote_conversation_and_keeps_history(staff_api):
    ticket = open_ticket()
    response = staff_api.delete(f"/threads/{tid(ticket)}")
    assert response.json() == {"id": tid(ticket), "object": "thread.deleted", "deleted": True}
    ticket.thread.refresh_from_db()
    assert ticket.thread.state == "deleted" and ticket.thread.remote_deleted_at is not None
    assert ticket.thread.messages.count() == 1
    assert staff_api.get(f"/threads/{tid(ticket)}").json()["state"] == "deleted"


def test_runs_listed_created_and_cancelled(staff_api):
    ticket = open_ticket()
    first = Run.objects.get(thread=ticket.thread)
    listed = staff_api.get(f"/threads/{tid(ticket)}/runs").json()
    assert [r["id"] for r in listed["data"]] == [f"run_{first.pk}"]
    again = staff_api.post(f"/threads/{tid(ticket)}/runs")
    assert again.status_code == 200 and again.json()["id"] == f"run_{first.pk}"  # the active one
    cancelled = staff_api.post(f"/threads/{tid(ticket)}/runs/run_{first.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    new = staff_api.post(f"/threads/{tid(ticket)}/runs").json()
    assert new["id"] != f"run_{first.pk}" and new["status"] == "queued" and new["trigger"] == "staff"
    customer = ApiClient(bearer(ticket.customer))
    assert customer.post(f"/threads/{tid(ticket)}/runs/{new['id']}/cancel").status_code == 403
    assert customer.get(f"/threads/{tid(ticket)}/runs/{new['id']}").json()["usage"] is None


def test_message_delete_redacts_through_the_redaction_service(staff_api, agent):
    from assistants.models import Redaction

    customer = CustomerFactory()
    upload = SimpleUploadedFile("card.txt", b"4111 1111 1111 1111", content_type="text/plain")
    ticket = open_ticket(customer, body="my card is 4111 1111 1111 1111", files=[upload])
    message = ticket.thread.messages.get()
    attachment = message.attachments.get()
    mine = ApiClient(bearer(customer))
    assert mine.delete(f"/threads/{tid(ticket)}/messages/msg_{message.pk}").status_code == 403
    response = staff_api.delete(f"/threads/{tid(ticket)}/messages/msg_{message.pk}", reason="card number")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": f"msg_{message.pk}",
        "object": "thread.message.deleted",
        "deleted": True,
        "quoted_by": [],
    }
    for api in (staff_api, mine):
        shown = api.get(f"/threads/{tid(ticket)}/messages/msg_{message.pk}").json()
        assert "4111" not in shown["content"][0]["text"]["value"] and shown["redacted"] is True
        assert "removed" in shown["content"][0]["text"]["value"]
        listed = api.get(f"/threads/{tid(ticket)}/messages").json()
        assert "4111" not in str(listed)
        assert api.get(f"/files/file_{attachment.pk}/content").status_code == 404
    entry = Redaction.objects.get()
    assert entry.reason == "card number" and entry.by_id == agent.pk


def test_message_delete_names_the_later_messages_that_repeat_it(staff_api, agent):
    from tickets import services

    ticket = open_ticket(body="Reach me at ann.lee@example.com please")
    message = ticket.thread.messages.get()
    reply = services.staff_reply(ticket=ticket, staff=agent, body="We wrote to ann.lee@example.com.")
    services.staff_reply(ticket=ticket, staff=agent, body="Anything else?")
    response = staff_api.delete(f"/threads/{tid(ticket)}/messages/msg_{message.pk}", reason="address")
    assert response.json()["quoted_by"] == [f"msg_{reply.pk}"]
    assert "ann.lee" in staff_api.get(f"/threads/{tid(ticket)}/messages/msg_{reply.pk}").content.decode()


# --- paging ------------------------------------------------------------------------------------


def _bulk_thread(n: int):
    ticket = open_ticket(body="m1")
    Message.objects.bulk_create(
        [
            Message(thread_id=ticket.thread_id, seq=i, role=Message.Role.USER, body=f"m{i}", author=ticket.customer)
            for i in range(2, n + 1)
        ],
        batch_size=2000,
    )
    return ticket


def test_ten_thousand_messages_newest_first_with_after_then_before_walks_back(staff_api, settings):
    settings.API_REQUESTS_PER_MINUTE = 1000
    ticket = _bulk_thread(10_000)
    path = f"/threads/{tid(ticket)}/messages"
    seen, pages, cursor = [], [], None
    while True:
        params = {"limit": 100} | ({"after": cursor} if cursor else {})
        page = staff_api.get(path, **params).json()
        pages.append(page)
        seen += [m["content"][0]["text"]["value"] for m in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["last_id"]
    assert seen == [f"m{i}" for i in range(10_000, 0, -1)]
    assert len(pages) == 100
    # before= from the last page walks back, page by page, to the first.
    back, cursor = [], pages[-1]["first_id"]
    while True:
        page = staff_api.get(path, limit=100, before=cursor).json()
        back.append(page["data"])
        if not page["has_more"]:
            break
        cursor = page["first_id"]
    assert [p for p in back] == [p["data"] for p in reversed(pages[:-1])]
    asc = staff_api.get(path, limit=3, order="asc").json()
    assert [m["content"][0]["text"]["value"] for m in asc["data"]] == ["m1", "m2", "m3"]


def test_a_bad_cursor_is_a_400(staff_api):
    ticket = open_ticket()
    other = open_ticket().thread.messages.get()
    path = f"/threads/{tid(ticket)}/messages"
    for cursor in ("nonsense", "msg_", "msg_99999999", f"msg_{other.pk}", "run_1", "msg_" + "9" * 30):
        response = staff_api.get(path, after=cursor)
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "invalid_cursor"
        assert staff_api.get(path, before=cursor).status_code == 400


def test_listing_100_messages_costs_four_queries(staff_api, django_assert_max_num_queries):
    ticket = _bulk_thread(300)
    staff_api.get("/threads")  # last_used_at is written on first use only
    with django_assert_max_num_queries(4):
        page = staff_api.get(f"/threads/{tid(ticket)}/messages", limit=100).json()
    assert len(page["data"]) == 100
    with django_assert_max_num_queries(4):
        cursor = page["last_id"]
        assert len(staff_api.get(f"/threads/{tid(ticket)}/messages", limit=100, after=cursor).json()["data"]) == 100
    with django_assert_max_num_queries(2):
        assert staff_api.get("/threads", limit=100).status_code == 200


def test_a_prepared_read_runs_each_call_with_its_own_values():
    from config import prepared

    first, second = open_ticket(), open_ticket()

    def build(thread_id):
        return Message.objects.filter(thread_id=thread_id).values("id", "body", "metadata")

    for ticket in (first, second, first):
        rows = prepared.rows("test-messages-of", build, thread_id=ticket.thread_id)
        assert rows == list(build(ticket.thread_id))
        assert [r["id"] for r in rows] == list(ticket.thread.messages.values_list("id", flat=True))
    with pytest.raises(ValueError):  # a LIKE pattern is not the value itself: refused, never run stale
        prepared.rows("test-like", lambda body: Message.objects.filter(body__icontains=body).values("id"), body="x")


def test_page_reads_compiled_for_one_customer_show_another_only_their_own():
    alice, bob = CustomerFactory(), CustomerFactory()
    alices, bobs = open_ticket(alice), open_ticket(bob)
    for customer, ticket in ((alice, alices), (bob, bobs), (alice, alices)):
        api = ApiClient(bearer(customer))
        assert [t["id"] for t in api.get("/threads", limit=5).json()["data"]] == [tid(ticket)]
        newest = api.get("/threads", limit=1, before=tid(ticket)).json()["data"]
        assert newest == []
        assert len(api.get(f"/threads/{tid(ticket)}/messages").json()["data"]) == 1
    assert ApiClient(bearer(bob)).get(f"/threads/{tid(alices)}/messages").status_code == 404


# --- idempotency -------------------------------------------------------------------------------


def test_a_retried_post_answers_the_first_answer_and_does_nothing_twice():
    customer = CustomerFactory()
    ticket = open_ticket(customer)
    api = ApiClient(bearer(customer))
    path = f"/threads/{tid(ticket)}/messages"
    first = api.post(path, {"content": "once"}, key="k-1")
    second = api.post(path, {"content": "once"}, key="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert ticket.thread.messages.filter(body="once").count() == 1
    other = api.post(path, {"content": "twice"}, key="k-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are per token, and forgotten after 24 h.
    assert ApiClient(bearer(customer)).post(path, {"content": "once"}, key="k-1").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert api.post(path, {"content": "once"}, key="k-1").json()["id"] != first.json()["id"]


def test_a_failed_request_keeps_no_key():
    customer = CustomerFactory()
    ticket = open_ticket(customer)
    api = ApiClient(bearer(customer))
    path = f"/threads/{tid(ticket)}/messages"
    assert api.post(path, {"content": "x", "internal": True}, key="k").status_code == 403
    assert api.post(path, {"content": "x"}, key="k").status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_post_sent_twice_at_once_creates_one_message_and_one_run():
    customer = CustomerFactory()
    ticket = open_ticket(customer)
    Run.objects.filter(thread=ticket.thread).update(status=Run.Status.COMPLETED)
    secret = bearer(customer)
    path = f"/threads/{tid(ticket)}/messages"
    barrier = threading.Barrier(2)
    answers = []

    def send():
        try:
            api = ApiClient(secret)
            barrier.wait()
            answers.append(api.post(path, {"content": "at once"}, key="same-key"))
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(r.status_code for r in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert ticket.thread.messages.filter(body="at once").count() == 1
    assert Run.objects.filter(thread=ticket.thread).exclude(status=Run.Status.COMPLETED).count() == 1


def test_docs_page_renders_under_the_csp_without_scripts(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"<script" not in response.content and b"/threads/{thread_id}/messages" in response.content
    assert "Content-Security-Policy" in response
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")


def test_staff_create_a_token_in_the_workspace_see_it_once_and_revoke_it(client, staff):
    page = client.post("/staff/api-tokens/", {"name": "CRM sync", "scope": "write", "expires": "30"})
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.encode() in page.content
    token = ApiToken.objects.get(user=staff)
    assert token.scope == "write" and token.expires_at is not None and token.name == "CRM sync"
    listing = client.get("/staff/api-tokens/")
    assert secret.encode() not in listing.content and token.prefix.encode() in listing.content
    assert ApiClient(secret).get("/threads").status_code == 200
    assert client.post(f"/staff/api-tokens/{token.pk}/revoke/").status_code == 302
    assert ApiClient(secret).get("/threads").status_code == 401
    bad = client.post("/staff/api-tokens/", {"scope": "admin"})
    assert bad.status_code == 422 and ApiToken.objects.count() == 1


def test_a_customer_makes_a_token_in_the_portal_sees_it_once_and_revokes_it(client):
    from django.urls import reverse

    customer = CustomerFactory()
    mine, other = open_ticket(customer), open_ticket()
    client.force_login(customer)
    url = reverse("portal:api_tokens")
    assert url in client.get(reverse("portal:tickets")).content.decode()  # in the portal's navigation
    page = client.post(url, {"name": "My script", "scope": "read", "expires": "7"})
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.encode() in page.content and secret.encode() not in client.get(url).content
    token = ApiToken.objects.get(user=customer)
    assert (token.scope, token.name) == ("read", "My script") and token.expires_at is not None
    api = ApiClient(secret)
    assert [t["id"] for t in api.get("/threads").json()["data"]] == [tid(mine)]  # the portal's rule
    assert api.get(f"/threads/{tid(other)}").status_code == 404
    assert api.post(f"/threads/{tid(mine)}/messages", {"content": "hi"}).status_code == 403  # read scope
    writer = client.post(url, {"scope": "write"}).context["secret"]
    assert ApiClient(writer).post(f"/threads/{tid(mine)}/messages", {"content": "hi"}).status_code == 201
    assert client.post(reverse("portal:api_token_revoke", args=[token.pk])).status_code == 302
    assert api.get("/threads").status_code == 401
    assert client.post(url, {"scope": "admin"}).status_code == 422 and ApiToken.objects.count() == 2


def test_customers_revoke_only_their_own_tokens_and_staff_use_the_workspace_page(client, staff):
    from django.urls import reverse

    theirs = ApiClient(bearer(CustomerFactory()))
    token = ApiToken.objects.get()
    customer = CustomerFactory()
    client.force_login(customer)
    assert client.post(reverse("portal:api_token_revoke", args=[token.pk])).status_code == 404
    assert theirs.get("/threads").status_code == 200
    client.force_login(staff)
    assert client.get(reverse("portal:api_tokens")).url == reverse("staff:api_tokens")
    client.logout()
    assert client.get(reverse("portal:api_tokens")).status_code == 302  # to the login page


def test_nobody_revokes_someone_elses_token(client, staff):
    other = StaffFactory()
    bearer(other)
    token = ApiToken.objects.get(user=other)
    assert client.post(f"/staff/api-tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    customer = CustomerFactory()
    client.force_login(customer)
    assert client.get("/staff/api-tokens/").status_code == 403


def test_the_hourly_task_forgets_keys_older_than_a_day():
    from api.tasks import purge_idempotency_keys

    customer = CustomerFactory()
    ticket = open_ticket(customer)
    api = ApiClient(bearer(customer))
    api.post(f"/threads/{tid(ticket)}/messages", {"content": "old"}, key="old")
    api.post(f"/threads/{tid(ticket)}/messages", {"content": "new"}, key="new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
