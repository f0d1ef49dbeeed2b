"""Customer portal: my tickets, open a ticket, the conversation (live), reply, ask for a person, rate.

Every view reaches a ticket through _get_ticket_for_customer() and its messages through
Message.objects.public(): the two visibility rules, asked the same way everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from assistants.models import Attachment, Thread
from config import parsing
from tickets import conversations, live, ratelimit, services
from tickets.forms.portal import RateForm, ReplyForm, TicketOpenForm, rating_value
from tickets.models import Ticket

TEMPLATE = "portal/ticket.html"
RATE_LIMITED = "You are sending messages too quickly. Please wait a minute and try again."
# How often (ms) the conversation asks for news (static/live.js; every 15 s in a hidden tab): fast
# while the assistant works, slower while a person is expected to answer (a draft awaits approval,
# or the ticket was handed to the team).
POLL_WHILE_RUNNING = 1000
POLL_WHILE_WAITING_FOR_A_PERSON = 5000
# Otherwise the page still follows the ticket (its status badge, replies by staff): a poll that
# costs one query while nothing changed (tickets/live.py).
POLL_IDLE = 3000
# The conversation page shows the latest messages; ?all=1 shows the whole history.
PAGE_MESSAGES = 50


def _get_ticket_for_customer(request, pk: int) -> Ticket:
    # live_cursor: the change feed's newest id, read in the same statement as the ticket, so the
    # page's cursor matches the state it shows (tickets/live.py).
    tickets = (
        Ticket.objects.visible_to(request.user)
        .filter(customer=request.user)
        .select_related("thread")
        .annotate(live_cursor=live.latest_change_subquery())
    )
    return get_object_or_404(tickets, pk=pk)


def _public_messages(ticket: Ticket):
    return (
        ticket.thread.messages.public()
        .select_related("author", "published_by", "redacted_by")
        .annotate(has_files=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
    )


def _with_files(messages: list) -> list:
    return conversations.with_attachments(
        messages, Attachment.objects.only("id", "message_id", "filename", "size", "redacted_at")
    )


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _from_micros(value: str | None) -> datetime | None:
    micros = parsing.integer(value)
    try:
        return datetime.fromtimestamp(micros / 1_000_000, tz=UTC) if micros is not None else None
    except (ValueError, OverflowError, OSError):  # beyond the years datetime can hold
        return None


def _int(value, default: int = 0) -> int:
    number = parsing.integer(value)
    return default if number is None else number


def _live(ticket: Ticket, *, after: int, since: int, change: int) -> dict:
    """The state of the live element: what it says and whether (how often) it polls."""
    answering = ticket.thread.ai_state == Thread.AIState.RUNNING
    # Past ASSISTANT_SLOW_NOTICE the customer is told it takes longer than usual (retries, a slow model).
    started = ticket.thread.ai_state_since
    slow = (
        answering
        and started is not None
        and timezone.now() - started > timedelta(seconds=settings.ASSISTANT_SLOW_NOTICE)
    )
    waiting_for_person = ticket.is_open and (ticket.escalated or ticket.thread.ai_state == Thread.AIState.DRAFT_WAITING)
    if answering:
        poll = POLL_WHILE_RUNNING
    elif waiting_for_person:
        poll = POLL_WHILE_WAITING_FOR_A_PERSON
    else:
        poll = POLL_IDLE
    # While the assistant answers the poll reads the whole state (the "slow" notice depends on the
    # clock); otherwise it asks the change feed first, with `change` as its cursor.
    return {
        "answering": answering,
        "slow": slow,
        "poll": poll,
        "after": after,
        "since": since,
        "change": None if answering else change,
    }


def _updates(ticket: Ticket, *, after: int, since_raw: str | None) -> dict:
    """New public messages since the page's cursor: those after seq `after`, plus drafts that
    staff approved after `since` (they keep their older seq, so `after` alone would miss them)."""
    change = ticket.live_cursor or 0
    now = timezone.now()
    since = _from_micros(since_raw)
    new = Q(seq__gt=after)
    if since is not None:
        new |= Q(seq__lte=after, published_by__isnull=False, published_at__gt=since)
    fresh = _with_files(list(_public_messages(ticket).filter(new)))
    last_seq = max([after, *(m.seq for m in fresh)])
    return {
        "ticket": ticket,
        "new_messages": fresh,
        "live": _live(ticket, after=last_seq, since=_micros(now), change=change),
    }


def _page(request, ticket: Ticket, *, reply_form=None, rate_form=None, status: int = 200):
    change = ticket.live_cursor or 0
    now = timezone.now()
    public = _public_messages(ticket)
    if request.GET.get("all") == "1":
        thread_messages = list(public)
    else:
        thread_messages = list(public.order_by("-seq")[: PAGE_MESSAGES + 1])[::-1]
    earlier = len(thread_messages) > PAGE_MESSAGES and request.GET.get("all") != "1"
    if earlier:
        thread_messages = thread_messages[1:]
    _with_files(thread_messages)
    after = thread_messages[-1].seq if thread_messages else 0
    context = {
        "ticket": ticket,
        "thread_messages": thread_messages,
        "earlier": earlier,
        "live": _live(ticket, after=after, since=_micros(now), change=change),
        "reply_form": reply_form or ReplyForm(),
        "can_rate": ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED),
        "rate_form": rate_form
        or RateForm(
            initial={
                "rating": rating_value(ticket.feedback_rating),
                "comment": ticket.feedback_comment,
            }
        ),
    }
    return render(request, TEMPLATE, context, status=status)


def _form_error(request, template: str, context: dict, *, target: str, status: int = 422):
    """A form with its errors, in place (422, which base.html tells htmx to swap; a 429 is swapped
    by the portal layout's listener because it carries HX-Retarget)."""
    response = render(request, template, context, status=status)
    if request.htmx:
        response = reswap(retarget(response, target), "outerHTML")
    return response


@login_required
@require_GET
def ticket_list(request):
    tickets = (
        Ticket.objects.visible_to(request.user)
        .filter(customer=request.user)
        .only("id", "subject", "status", "escalated", "feedback_rating", "created_at", "updated_at")
    )
    return render(request, "portal/tickets.html", {"tickets": tickets})


@login_required
def ticket_new(request):
    if request.method != "POST":
        return render(request, "portal/new.html", {"form": TicketOpenForm()})
    form = TicketOpenForm(request.POST, request.FILES)
    if not ratelimit.customer_may_post(request.user):
        form.is_valid()
        form.add_error(None, RATE_LIMITED)
        return _form_error(request, "portal/new.html#open_form", {"form": form}, target="#open-form", status=429)
    if form.is_valid():
        try:
            ticket = services.ticket_open(
                customer=request.user,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["message"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as exc:
            form.add_error("attachments", exc)
        else:
            url = reverse("portal:ticket", args=[ticket.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if not request.htmx:
        return render(request, "portal/new.html", {"form": form}, status=422)
    return _form_error(request, "portal/new.html#open_form", {"form": form}, target="#open-form")


@login_required
@require_GET
def ticket(request, pk: int):
    return _page(request, _get_ticket_for_customer(request, pk))


@login_required
@require_GET
def updates(request, pk: int):
    change = parsing.integer(request.GET.get("change"))
    if change is not None:
        changed = live.customer_ticket_changed(pk, customer=request.user, after=change)
        if changed is None:
            raise Http404("No such ticket.")
        if not changed:
            return HttpResponse(status=204)
    ticket = _get_ticket_for_customer(request, pk)
    context = _updates(ticket, after=_int(request.GET.get("after")), since_raw=request.GET.get("since"))
    return render(request, f"{TEMPLATE}#updates", context)


@login_required
@require_POST
def reply(request, pk: int):
    ticket = _get_ticket_for_customer(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if not ratelimit.customer_may_post(request.user):
        form.is_valid()
        form.add_error(None, RATE_LIMITED)
        return _reply_error(request, ticket, form, status=429)
    if form.is_valid():
        try:
            services.customer_reply(
                ticket=ticket,
                customer=request.user,
                body=form.cleaned_data["message"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as exc:
            form.add_error("attachments", exc)
        else:
            if not request.htmx:
                return redirect("portal:ticket", pk=ticket.pk)
            # The fresh form, plus (out of band) the new messages and a live element that polls again.
            ticket = _get_ticket_for_customer(request, pk)
            context = _updates(ticket, after=_int(request.POST.get("after")), since_raw=request.POST.get("since"))
            return render(request, f"{TEMPLATE}#reply_sent", {**context, "reply_form": ReplyForm()})
    return _reply_error(request, ticket, form)


def _reply_error(request, ticket: Ticket, form: ReplyForm, *, status: int = 422):
    if not request.htmx:
        return _page(request, ticket, reply_form=form, status=status)
    return _form_error(
        request, f"{TEMPLATE}#reply_form", {"ticket": ticket, "reply_form": form}, target="#reply-form", status=status
    )


@login_required
@require_POST
def human(request, pk: int):
    ticket = _get_ticket_for_customer(request, pk)
    services.customer_asks_for_human(ticket=ticket, customer=request.user)
    flash.success(request, "A member of our team will reply here.")
    return redirect("portal:ticket", pk=ticket.pk)


@login_required
@require_POST
def rate(request, pk: int):
    ticket = _get_ticket_for_customer(request, pk)
    form = RateForm(request.POST)
    if ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        form.is_valid()
        form.add_error(None, "You can rate a ticket once it is resolved.")
        return _page(request, ticket, rate_form=form, status=422)
    if form.is_valid():
        try:
            services.ticket_rate(
                ticket=ticket,
                customer=request.user,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.success(request, "Thank you for your feedback.")
            return redirect("portal:ticket", pk=ticket.pk)
    return _page(request, ticket, rate_form=form, status=422)
