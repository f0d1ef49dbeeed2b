"""The staff workspace: inbox, ticket page, dashboard and the HTMX actions around them.

Each view parses input, calls one service (tickets.services) or selector (tickets.selectors),
and renders a page or one of its named partials. Every view refuses non-staff users.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from assistants.models import Attachment, Message, Run
from config import parsing
from tickets import inbox_rows, live, message_cards, selectors, services
from tickets.forms.staff import (
    DraftApproveForm,
    EscalateForm,
    InboxFilterForm,
    RedactForm,
    ReplyForm,
    TicketUpdateForm,
)
from tickets.models import Ticket


def staff_required(view):
    """Anonymous users go to the login page; signed-in non-staff get 403, pages and partials alike."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapper


def _ticket(request, pk: int, *, live_cursor: bool = False) -> Ticket:
    ticket = selectors.ticket_for_staff(pk, user=request.user, live_cursor=live_cursor)
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def _int_param(request, name: str) -> int | None:
    return parsing.integer(request.GET.get(name))


def _invalid(request, template: str, context: dict, target: str) -> HttpResponse:
    """A form error shown in place: 422, and htmx told where to put it (base.html lets htmx
    swap 422 responses; other 4xx are not swapped)."""
    response = render(request, template, context, status=422)
    if request.htmx:
        response = reswap(retarget(response, target), "outerHTML")
    return response


# --- inbox -----------------------------------------------------------------------------------


@staff_required
@require_GET
def inbox(request):
    if request.htmx and not request.htmx.boosted:
        return render(request, "staff/inbox.html#ticket-list", _inbox_context(request))
    # The feed's cursor comes with the page's rows, before the counts: a change landing meanwhile
    # is announced again rather than lost. An empty page reads it on its own.
    context = _inbox_context(request, live_cursor=True)
    rows = context["page"].tickets
    since = (rows[0].live_cursor or 0) if rows else live.latest_change()
    return render(request, "staff/inbox.html", {**context, "since": since})


def _inbox_context(request, *, live_cursor: bool = False) -> dict:
    form = InboxFilterForm(request.GET or None)
    filters = form.filters()
    after, before = (request.GET.get(name, "") for name in ("after", "before"))
    cursor = selectors.decode_cursor(after, filters.sort) if after else None
    before_cursor = selectors.decode_cursor(before, filters.sort) if before else None
    page = selectors.inbox_page(
        filters, user=request.user, cursor=cursor, before=before_cursor, live_cursor=live_cursor
    )
    inbox_rows.rows(page.tickets)
    return {
        "form": form,
        "page": page,
        "filters": filters,
        "counts": selectors.inbox_counts(user=request.user),
        "staff_users": selectors.staff_users(),
        "paged": cursor is not None or page.prev_cursor is not None,  # not the first page
        "query": _query_without(request, "after", "before", "since"),
    }


def _query_without(request, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


# --- ticket page -----------------------------------------------------------------------------


def _run_status(ticket: Ticket) -> selectors.RunStatus:
    return selectors.RunStatus(ticket_id=ticket.pk, thread=ticket.thread, run=selectors.latest_run(ticket.thread_id))


def _conversation_context(ticket: Ticket) -> dict:
    messages, has_older = selectors.message_page(ticket.thread_id)
    status = _run_status(ticket)
    return {
        "ticket": ticket,
        "thread": ticket.thread,
        "messages": messages,
        "has_older": has_older,
        "oldest_seq": messages[0].seq if messages else None,
        "status": status,
        "last_seq": messages[-1].seq if messages else 0,
    }


def _side_context(request, ticket: Ticket, **extra) -> dict:
    return {
        "ticket": ticket,
        "thread": ticket.thread,
        "staff_users": selectors.staff_users(),
        "flag_changes": selectors.recent_flag_changes(ticket.pk),
        "update_form": extra.pop("update_form", None) or TicketUpdateForm(user=request.user),
        "escalate_form": extra.pop("escalate_form", None) or EscalateForm(),
        "statuses": Ticket.Status.choices,
        "priorities": Ticket.Priority.choices,
        "ai_modes": Ticket.AIMode.choices,
        **extra,
    }


@staff_required
@require_GET
def ticket(request, pk: int):
    # The feed's cursor comes with the ticket, before the messages: a change landing meanwhile is
    # announced again rather than lost.
    ticket = _ticket(request, pk, live_cursor=True)
    context = {
        **_conversation_context(ticket),
        **_side_context(request, ticket),
        "reply_form": ReplyForm(),
        "since": ticket.live_cursor or 0,
    }
    return render(request, "staff/ticket.html", context)


@staff_required
@require_GET
def messages_older(request, pk: int):
    ticket = get_object_or_404(Ticket.objects.only("id", "thread_id"), pk=pk)
    before = _int_param(request, "before")
    if before is None:
        return HttpResponse("before=<seq> is required.", status=400)
    messages, has_older = selectors.message_page(ticket.thread_id, before=before)
    context = {
        "ticket": ticket,
        "messages": messages,
        "has_older": has_older,
        "oldest_seq": messages[0].seq if messages else None,
    }
    return render(request, "staff/ticket.html#older", context)


@staff_required
@require_GET
def run_status(request, pk: int):
    """The run's state on its own, in one query, with the messages after `after` and the side
    panel's token and cost figures out of band. The ticket page does not poll it: its live feed
    (tickets/views/live.py) sends the run status whenever the run changes."""
    status = selectors.run_status(pk)
    if status is None:
        raise Http404("No such ticket.")
    after = _int_param(request, "after") or 0
    new_messages = selectors.messages_after(status.thread_id, after) if status.message_count > after else []
    context = {
        "ticket": {"pk": pk},
        "status": status,
        "new_messages": new_messages,
        "last_seq": new_messages[-1].seq if new_messages else after,
    }
    return render(request, "staff/ticket.html#run-status-poll", context)


def _conversation_response(request, ticket: Ticket) -> HttpResponse:
    """After an action on the conversation: the fresh conversation for htmx, else the page."""
    if not request.htmx:
        return redirect("staff:ticket", pk=ticket.pk)
    ticket = _ticket(request, ticket.pk)  # re-read: the service changed the thread's state
    return render(request, "staff/ticket.html#conversation", _conversation_context(ticket))


def _refused(request, ticket: Ticket, message: str) -> HttpResponse:
    """An action the current state does not allow (a draft already handled, a run still going)."""
    if not request.htmx:
        return HttpResponse(message, status=409, content_type="text/plain")
    context = {**_conversation_context(_ticket(request, ticket.pk)), "notice": message}
    response = render(request, "staff/ticket.html#conversation", context, status=422)
    return reswap(retarget(response, "#conversation"), "outerHTML")


@staff_required
@require_POST
def reply(request, pk: int):
    ticket = _ticket(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(request, "staff/ticket.html#composer", {"ticket": ticket, "reply_form": form}, "#composer")
    try:
        services.staff_reply(
            ticket=ticket,
            staff=request.user,
            body=form.cleaned_data["body"],
            internal=form.cleaned_data["internal"],
            files=form.cleaned_data["files"],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _invalid(request, "staff/ticket.html#composer", {"ticket": ticket, "reply_form": form}, "#composer")
    if not request.htmx:
        return redirect("staff:ticket", pk=ticket.pk)
    ticket = _ticket(request, ticket.pk)
    context = {**_conversation_context(ticket), "reply_form": ReplyForm(), "composer_oob": True}
    # The conversation is the target; a fresh composer comes along out of band.
    return render(request, "staff/ticket.html#reply-done", context)


def _draft(request, pk: int) -> tuple[Message, Ticket]:
    message = get_object_or_404(Message.objects.select_related("thread"), pk=pk)
    ticket = _ticket(request, Ticket.objects.filter(thread_id=message.thread_id).values_list("pk", flat=True).first())
    return message, ticket


@staff_required
@require_POST
def draft_approve(request, pk: int):
    message, ticket = _draft(request, pk)
    form = DraftApproveForm(request.POST)
    if not form.is_valid():
        return _refused(request, ticket, "The edited reply is too long.")
    try:
        services.draft_approve(message=message, staff=request.user, body=form.cleaned_data["body"] or None)
    except ValidationError as exc:
        return _refused(request, ticket, " ".join(exc.messages))
    return _conversation_response(request, ticket)


@staff_required
@require_POST
def draft_discard(request, pk: int):
    message, ticket = _draft(request, pk)
    try:
        services.draft_discard(message=message, staff=request.user)
    except ValidationError as exc:
        return _refused(request, ticket, " ".join(exc.messages))
    return _conversation_response(request, ticket)


def _message_response(
    request, message_id: int, status: int = 200, refused: RedactForm | None = None, quoted_by: list | None = None
) -> HttpResponse:
    """One message, as the ticket page shows it (the answer to a removal, or its form error), with
    the later messages that repeat what was removed (`quoted_by`)."""
    message = selectors.message_for_staff(message_id)
    if refused is not None:
        value, errors = refused["reason"].value() or "", list(refused.errors.get("reason", []))
        message_cards.refused(message.card, url=request.path, value=value, errors=errors)
    response = render(request, "staff/ticket.html#message", {"m": message, "quoted_by": quoted_by}, status=status)
    if status != 200:
        response = reswap(retarget(response, f"#msg-{message_id}"), "outerHTML")
    return response


def _remove(request, *, ticket: Ticket, message_id: int, remove) -> HttpResponse:
    form = RedactForm(request.POST)
    removed = None
    if form.is_valid():
        try:
            removed = remove(form.cleaned_data["reason"])
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("reason", message)
    if form.errors:
        if not request.htmx:
            return HttpResponse(" ".join(form.errors["reason"]), status=422, content_type="text/plain")
        return _message_response(request, message_id, status=422, refused=form)
    if not request.htmx:
        return redirect("staff:ticket", pk=ticket.pk)
    # Later messages that repeat the removed text (a reply quoting a card number): staff are warned
    # and offered to remove them too.
    quoting = getattr(removed, "quoted_by", None)
    quoted_by = list(Message.objects.filter(pk__in=quoting).only("id", "seq").order_by("seq")) if quoting else []
    return _message_response(request, message_id, quoted_by=quoted_by)


@staff_required
@require_POST
def message_redact_quoting(request, pk: int):
    message = get_object_or_404(Message.objects.only("id", "thread_id"), pk=pk)
    ticket = _ticket(request, Ticket.objects.filter(thread_id=message.thread_id).values_list("pk", flat=True).first())
    ids = [i for i in (parsing.object_id(v) for v in request.POST.getlist("ids")) if i is not None]
    try:
        services.quoting_remove(ticket=ticket, message_id=message.pk, ids=ids, staff=request.user)
    except ValidationError as exc:
        return _refused(request, ticket, " ".join(exc.messages))
    return _conversation_response(request, ticket)


@staff_required
@require_POST
def message_redact(request, pk: int):
    message = get_object_or_404(Message.objects.only("id", "thread_id"), pk=pk)
    ticket = _ticket(request, Ticket.objects.filter(thread_id=message.thread_id).values_list("pk", flat=True).first())
    return _remove(
        request,
        ticket=ticket,
        message_id=message.pk,
        remove=lambda reason: services.message_remove(
            ticket=ticket, message_id=message.pk, staff=request.user, reason=reason
        ),
    )


@staff_required
@require_POST
def attachment_redact(request, pk: int):
    attachment = get_object_or_404(Attachment.objects.select_related("message").only("id", "message"), pk=pk)
    thread_id = attachment.message.thread_id
    ticket = _ticket(request, Ticket.objects.filter(thread_id=thread_id).values_list("pk", flat=True).first())
    return _remove(
        request,
        ticket=ticket,
        message_id=attachment.message_id,
        remove=lambda reason: services.attachment_remove(
            ticket=ticket, attachment_id=attachment.pk, staff=request.user, reason=reason
        ),
    )


@staff_required
@require_POST
def ask_assistant(request, pk: int):
    ticket = _ticket(request, pk)
    services.ask_assistant(ticket=ticket, staff=request.user)
    return _conversation_response(request, ticket)


@staff_required
@require_POST
def run_retry(request, pk: int):
    run = get_object_or_404(Run.objects.select_related("thread"), pk=pk)
    ticket = _ticket(request, Ticket.objects.filter(thread_id=run.thread_id).values_list("pk", flat=True).first())
    try:
        services.run_retry(run=run, staff=request.user)
    except ValidationError as exc:
        return _refused(request, ticket, " ".join(exc.messages))
    return _conversation_response(request, ticket)


@staff_required
@require_POST
def run_stop(request, pk: int):
    run = get_object_or_404(Run.objects.select_related("thread"), pk=pk)
    ticket = _ticket(request, Ticket.objects.filter(thread_id=run.thread_id).values_list("pk", flat=True).first())
    if not services.run_stop(run=run, staff=request.user):
        return _refused(request, ticket, "This run had already ended.")
    return _conversation_response(request, ticket)


def _side_response(request, ticket: Ticket, status: int = 200, **extra) -> HttpResponse:
    if not request.htmx and status == 200:
        return redirect("staff:ticket", pk=ticket.pk)
    context = _side_context(request, _ticket(request, ticket.pk) if status == 200 else ticket, **extra)
    response = render(request, "staff/ticket.html#side-panel", context, status=status)
    if status != 200 and request.htmx:
        response = reswap(retarget(response, "#side-panel"), "outerHTML")
    return response


@staff_required
@require_POST
def update(request, pk: int):
    ticket = _ticket(request, pk)
    form = TicketUpdateForm(request.POST, user=request.user)
    if not form.is_valid():
        return _side_response(request, ticket, status=422, update_form=form)
    try:
        services.ticket_update(ticket=ticket, by=request.user, **form.changes())
    except ValidationError as exc:
        form.add_error(None, exc)
        return _side_response(request, ticket, status=422, update_form=form)
    return _side_response(request, ticket)


@staff_required
@require_POST
def escalate(request, pk: int):
    ticket = _ticket(request, pk)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        return _side_response(request, ticket, status=422, escalate_form=form)
    services.ticket_escalate(ticket=ticket, reason=form.cleaned_data["reason"], by=request.user)
    return _side_response(request, ticket)


@staff_required
@require_POST
def deescalate(request, pk: int):
    ticket = _ticket(request, pk)
    services.ticket_deescalate(ticket=ticket, by=request.user)
    return _side_response(request, ticket)


# --- dashboard -------------------------------------------------------------------------------


@staff_required
@require_GET
def dashboard(request):
    return render(request, "staff/dashboard.html", {"d": selectors.dashboard()})
