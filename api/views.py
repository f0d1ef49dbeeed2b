"""/api/v1/: threads, messages, files and runs. Each view parses, calls one service or selector,
shapes the answer; the rules live in tickets/ and assistants/."""

from typing import Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import FileResponse
from ninja import NinjaAPI, Query, Schema
from ninja.parser import Parser
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from api import errors, shapes
from api.auth import TokenAuth, retry_after, writer
from api.errors import ApiError, not_found
from api.idempotency import HEADER, answer, idempotent
from api.schemas import (
    Deleted,
    ErrorOut,
    FileList,
    MessageCreate,
    MessageDeleted,
    MessageList,
    MessageOut,
    MetadataChange,
    RunList,
    RunOut,
    ThreadCreate,
    ThreadList,
    ThreadOut,
)
from assistants import redaction
from assistants import services as assistant
from config import parsing
from tickets import conversations, ratelimit, services
from tickets.models import Ticket

User = get_user_model()


class SafeParser(Parser):
    """JSON bodies through config.parsing (depth checked, UTF-8), never a RecursionError."""

    def parse_body(self, request):
        if not request.body:
            return {}
        try:
            return parsing.json_loads(request.body)
        except ValueError as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from exc


api = NinjaAPI(
    title="Parcelly Help API",
    version="1",
    description="Threads (tickets), messages, files and runs. Authorization: Bearer <token>.",
    auth=TokenAuth(),
    parser=SafeParser(),
    docs_url=None,
    urls_namespace="api",
)
errors.install(api)

ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429)}
IDEMPOTENCY = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
            "description": "Retries with the same key answer the first answer and do nothing twice (24 h).",
        }
    ]
}


def responses(ok: int, schema) -> dict:
    return {ok: schema, **ERRORS}


class Paging(Schema):
    limit: int = Field(20, ge=1, le=100)
    order: Literal["desc", "asc"] = "desc"
    after: str | None = Field(None, max_length=40, description="An id: the page after it (in this order).")
    before: str | None = Field(None, max_length=40, description="An id: the page before it (in this order).")


def _cursor(kind: str, value: str | None, name: str) -> int | None:
    if value is None:
        return None
    pk = shapes.parse_id(kind, value)
    if pk is None:
        raise ApiError(400, "invalid_cursor", f"{name} is not a {kind} id of this list.", field=name)
    return pk


def _cursors(kind: str, paging: Paging) -> tuple[int | None, int | None]:
    if paging.after is not None and paging.before is not None:
        raise ApiError(400, "invalid_cursor", "Give after or before, not both.", field="before")
    return _cursor(kind, paging.after, "after"), _cursor(kind, paging.before, "before")


def _ticket(request, thread_id: str) -> Ticket:
    pk = shapes.parse_id("thread", thread_id)
    ticket = conversations.ticket_by_thread(request.auth.user, pk) if pk is not None else None
    if ticket is None:
        raise not_found("thread")
    return ticket


def _message(request, ticket: Ticket, message_id: str):
    pk = shapes.parse_id("message", message_id)
    message = conversations.message_get(ticket, request.auth.user, pk) if pk is not None else None
    if message is None:
        raise not_found("message")
    return message


def _run(request, ticket: Ticket, run_id: str):
    pk = shapes.parse_id("run", run_id)
    run = conversations.run_get(ticket, pk) if pk is not None else None
    if run is None:
        raise not_found("run")
    return run


def _customer_may_post(user) -> None:
    """The portal's posting budget (tickets and replies per customer per minute) holds here too."""
    if not ratelimit.customer_may_post(user):
        wait = retry_after()
        raise ApiError(
            429, "rate_limited", f"Too many messages; try again in {wait} s.", headers={"Retry-After": str(wait)}
        )


# --- threads -----------------------------------------------------------------------------------


@api.get("/threads", response=responses(200, ThreadList), tags=["threads"], summary="List threads, newest first")
def threads_list(request, paging: Query[Paging]):
    after, before = _cursors("thread", paging)
    page = conversations.thread_page(
        request.auth.user, limit=paging.limit, order=paging.order, after=after, before=before
    )
    return answer(200, shapes.page(page.rows, page.has_more, shapes.thread))


@api.post(
    "/threads",
    response=responses(201, ThreadOut),
    tags=["threads"],
    summary="Open a ticket with its first message",
    openapi_extra=IDEMPOTENCY,
)
@idempotent
def threads_create(request, payload: ThreadCreate):
    user = writer(request)
    if user.is_staff:
        customer = _customer_named(payload.customer_email)
    else:
        if payload.customer_email not in (None, user.email):
            raise ApiError(403, "forbidden", "A customer opens tickets for themselves.", field="customer_email")
        customer = user
        _customer_may_post(user)
    ticket = services.ticket_open(customer=customer, subject=payload.subject, body=payload.content)
    return 201, shapes.thread(conversations.thread_row(user, ticket.thread_id))


def _customer_named(email: str | None):
    email = (email or "").strip()
    if not email:
        raise ApiError(400, "invalid", "Staff tokens name the customer: customer_email.", field="customer_email")
    try:
        from django.core.validators import validate_email

        validate_email(email)
    except ValidationError as exc:
        raise ApiError(400, "invalid", "Enter a valid email address.", field="customer_email") from exc
    found = User.objects.filter(email__iexact=email).order_by("pk").first()
    if found is None:
        return services.customer_create(email=email.lower(), password=None)
    if found.is_staff:
        raise ApiError(400, "invalid", "That address belongs to a member of staff.", field="customer_email")
    return found


@api.get("/threads/{thread_id}", response=responses(200, ThreadOut), tags=["threads"], summary="Retrieve a thread")
def threads_retrieve(request, thread_id: str):
    pk = shapes.parse_id("thread", thread_id)
    row = conversations.thread_row(request.auth.user, pk) if pk is not None else None
    if row is None:
        raise not_found("thread")
    return answer(200, shapes.thread(row))


def _modify_thread(request, thread_id: str, payload: MetadataChange):
    user = writer(request)
    ticket = _ticket(request, thread_id)
    services.thread_metadata_update(ticket=ticket, by=user, metadata=payload.metadata)
    return 200, shapes.thread(conversations.thread_row(user, ticket.thread_id))


api.post(
    "/threads/{thread_id}",
    response=responses(200, ThreadOut),
    tags=["threads"],
    summary="Modify a thread's metadata",
    openapi_extra=IDEMPOTENCY,
)(idempotent(_modify_thread))
api.patch(
    "/threads/{thread_id}",
    response=responses(200, ThreadOut),
    tags=["threads"],
    summary="Modify a thread's metadata (PATCH)",
    operation_id="threads_modify_patch",
)(idempotent(_modify_thread))


@api.delete("/threads/{thread_id}", response=responses(200, Deleted), tags=["threads"], summary="Delete a thread")
def threads_delete(request, thread_id: str):
    user = writer(request)
    ticket = _ticket(request, thread_id)
    services.thread_delete(ticket=ticket, by=user)
    return answer(
        200, {"id": shapes.public_id("thread", ticket.thread_id), "object": "thread.deleted", "deleted": True}
    )


# --- messages ----------------------------------------------------------------------------------

MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": MessageCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                        "content": {"type": "string", "minLength": 1, "maxLength": 20000},
                        "internal": {"type": "boolean"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 5},
                    },
                }
            },
        },
    },
    **IDEMPOTENCY,
}


def _message_input(request) -> tuple[MessageCreate, list]:
    """JSON ({"content", "internal"}) or multipart (the same fields, and files)."""
    if request.content_type == "multipart/form-data":
        data = {"content": request.POST.get("content", "")}
        if "internal" in request.POST:
            data["internal"] = request.POST.get("internal")
        files = request.FILES.getlist("files")
    else:
        data = SafeParser().parse_body(request)
        files = []
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "The body is a JSON object.")
    try:
        return MessageCreate.model_validate(data), files
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        raise ApiError(400, "invalid", f"{field}: {first.get('msg')}", field=field) from exc


@api.get(
    "/threads/{thread_id}/messages",
    response=responses(200, MessageList),
    tags=["messages"],
    summary="List messages, newest first",
)
def messages_list(request, thread_id: str, paging: Query[Paging]):
    user = request.auth.user
    pk = shapes.parse_id("thread", thread_id)
    if pk is None or not conversations.thread_visible(user, pk):
        raise not_found("thread")
    after, before = _cursors("message", paging)
    try:
        page = conversations.message_page(pk, user, limit=paging.limit, order=paging.order, after=after, before=before)
    except conversations.BadCursor as exc:
        name = "before" if before is not None else "after"
        raise ApiError(400, "invalid_cursor", f"{name} is not a message of this thread.", field=name) from exc
    return answer(200, shapes.page(page.rows, page.has_more, shapes.message))


@api.post(
    "/threads/{thread_id}/messages",
    response=responses(201, MessageOut),
    tags=["messages"],
    summary="Add a message (JSON, or multipart with files)",
    openapi_extra=MESSAGE_BODY,
)
@idempotent
def messages_create(request, thread_id: str):
    user = writer(request)
    ticket = _ticket(request, thread_id)
    payload, files = _message_input(request)
    if user.is_staff:
        message = services.staff_reply(
            ticket=ticket, staff=user, body=payload.content, internal=payload.internal, files=files
        )
    else:
        if payload.internal:
            raise ApiError(403, "forbidden", "Only staff write internal notes.", field="internal")
        _customer_may_post(user)
        message = services.customer_reply(ticket=ticket, customer=user, body=payload.content, files=files)
    return 201, shapes.message(conversations.message_row(ticket, user, message.pk))


@api.get(
    "/threads/{thread_id}/messages/{message_id}",
    response=responses(200, MessageOut),
    tags=["messages"],
    summary="Retrieve a message",
)
def messages_retrieve(request, thread_id: str, message_id: str):
    ticket = _ticket(request, thread_id)
    pk = shapes.parse_id("message", message_id)
    row = conversations.message_row(ticket, request.auth.user, pk) if pk is not None else None
    if row is None:
        raise not_found("message")
    return answer(200, shapes.message(row))


def _modify_message(request, thread_id: str, message_id: str, payload: MetadataChange):
    user = writer(request)
    ticket = _ticket(request, thread_id)
    message = _message(request, ticket, message_id)
    services.message_metadata_update(message=message, by=user, metadata=payload.metadata)
    return 200, shapes.message(conversations.message_row(ticket, user, message.pk))


api.post(
    "/threads/{thread_id}/messages/{message_id}",
    response=responses(200, MessageOut),
    tags=["messages"],
    summary="Modify a message's metadata",
    openapi_extra=IDEMPOTENCY,
)(idempotent(_modify_message))
api.patch(
    "/threads/{thread_id}/messages/{message_id}",
    response=responses(200, MessageOut),
    tags=["messages"],
    summary="Modify a message's metadata (PATCH)",
    operation_id="messages_modify_patch",
)(idempotent(_modify_message))


class RedactQuery(Schema):
    reason: str = Field("", max_length=300, description="Why (kept in the audit log).")


@api.delete(
    "/threads/{thread_id}/messages/{message_id}",
    response=responses(200, MessageDeleted),
    tags=["messages"],
    summary="Delete (redact) a message",
)
def messages_delete(request, thread_id: str, message_id: str, query: Query[RedactQuery]):
    user = writer(request)
    if not user.is_staff:
        raise ApiError(403, "forbidden", "Only staff redact messages.")
    ticket = _ticket(request, thread_id)
    message = _message(request, ticket, message_id)
    reason = parsing.one_line(query.reason.replace("\x00", ""))[:300] or "Deleted through the API."
    removed = redaction.message_redact(message=message, by=user, reason=reason)
    return answer(
        200,
        {
            "id": shapes.public_id("message", message.pk),
            "object": "thread.message.deleted",
            "deleted": True,
            "quoted_by": [shapes.public_id("message", pk) for pk in removed.quoted_by],
        },
    )


@api.get(
    "/threads/{thread_id}/messages/{message_id}/files",
    response=responses(200, FileList),
    tags=["messages"],
    summary="List a message's files",
)
def message_files(request, thread_id: str, message_id: str):
    ticket = _ticket(request, thread_id)
    message = _message(request, ticket, message_id)
    return answer(200, shapes.page(conversations.attachments_of(message), False, shapes.file))


@api.get(
    "/files/{file_id}/content",
    response={200: None, **ERRORS},
    tags=["messages"],
    summary="Download a file",
    openapi_extra={
        "responses": {200: {"description": "The file", "content": {"application/octet-stream": {"schema": {}}}}}
    },
)
def file_content(request, file_id: str):
    pk = shapes.parse_id("file", file_id)
    attachment = conversations.attachment_get(request.auth.user, pk) if pk is not None else None
    if attachment is None or attachment.is_redacted or not attachment.file:
        raise not_found("file")
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise not_found("file") from exc
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.filename, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- runs --------------------------------------------------------------------------------------


@api.get("/threads/{thread_id}/runs", response=responses(200, RunList), tags=["runs"], summary="List runs")
def runs_list(request, thread_id: str, paging: Query[Paging]):
    ticket = _ticket(request, thread_id)
    after, before = _cursors("run", paging)
    page = conversations.run_page(ticket, limit=paging.limit, order=paging.order, after=after, before=before)
    staff = request.auth.user.is_staff
    return answer(200, shapes.page(page.rows, page.has_more, lambda r: shapes.run(r, staff=staff)))


@api.post(
    "/threads/{thread_id}/runs",
    response=responses(200, RunOut),
    tags=["runs"],
    summary="Ask the assistant (the active run if one is going)",
    openapi_extra=IDEMPOTENCY,
)
@idempotent
def runs_create(request, thread_id: str):
    user = writer(request)
    ticket = _ticket(request, thread_id)
    if user.is_staff:
        run = services.ask_assistant(ticket=ticket, staff=user)
    else:
        run = assistant.run_request(thread=ticket.thread)
    if run is None:
        raise ApiError(409, "no_run", "The assistant is off or paused on this thread.")
    return 200, shapes.run(conversations.run_get(ticket, run.pk), staff=user.is_staff)


@api.get("/threads/{thread_id}/runs/{run_id}", response=responses(200, RunOut), tags=["runs"], summary="Retrieve a run")
def runs_retrieve(request, thread_id: str, run_id: str):
    ticket = _ticket(request, thread_id)
    return answer(200, shapes.run(_run(request, ticket, run_id), staff=request.auth.user.is_staff))


@api.post(
    "/threads/{thread_id}/runs/{run_id}/cancel",
    response=responses(200, RunOut),
    tags=["runs"],
    summary="Cancel a run (staff)",
    openapi_extra=IDEMPOTENCY,
)
@idempotent
def runs_cancel(request, thread_id: str, run_id: str):
    user = writer(request)
    if not user.is_staff:
        raise ApiError(403, "forbidden", "Only staff cancel runs.")
    ticket = _ticket(request, thread_id)
    run = _run(request, ticket, run_id)
    services.run_stop(run=run, staff=user)
    return 200, shapes.run(conversations.run_get(ticket, run.pk), staff=True)
