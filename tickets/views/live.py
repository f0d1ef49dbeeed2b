"""The live pages' polls (staff inbox, staff ticket page) and the "someone is replying" marker.

A poll carries the page's cursor (`since`, an id of the change feed, tickets/live.py). Nothing
changed: 204, from one indexed query (plus the signed-in user's). Something changed: the page's
fresh parts as out-of-band swaps and a new cursor. static/live.js does the polling (slower in a
hidden tab, backing off while the server does not answer).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from config import parsing
from tickets import live, selectors
from tickets.views.staff import _inbox_context, _run_status, _side_context, _ticket, staff_required


def _cursor(request, name: str) -> int:
    value = parsing.integer(request.GET.get(name))
    return value if value is not None and value >= 0 else 0


@staff_required
@require_GET
def inbox_live(request):
    since = _cursor(request, "since")
    latest = live.latest_change()
    if latest <= since:
        return HttpResponse(status=204)
    context = {**_inbox_context(request), "since": latest, "live_oob": True}
    return render(request, "staff/inbox.html#live-update", context)


@staff_required
@require_GET
def ticket_live(request, pk: int):
    since, after = _cursor(request, "since"), _cursor(request, "after")
    latest, message_ids = live.ticket_changes(pk, after=since)
    typers = live.typing_others(ticket_id=pk, user=request.user)
    if latest == since and ", ".join(typers) == request.GET.get("typing", ""):
        return HttpResponse(status=204)
    context = {"ticket": {"pk": pk}, "since": latest, "last_seq": after, "typers": typers}
    if latest != since:
        ticket = _ticket(request, pk)
        changed = selectors.messages_changed(ticket.thread_id, ids=message_ids, after=after)
        context.update(
            {
                **_side_context(request, ticket),
                "status": _run_status(ticket),
                "changed_messages": changed,
                "last_seq": max([after, *(m.seq for m in changed)]),
                "live_oob": True,
            }
        )
    return render(request, "staff/ticket.html#live-update", context)


@staff_required
@require_POST
def typing(request, pk: int):
    """The composer of this ticket is being written in (or, with stopped=1, was left)."""
    if request.POST.get("stopped") == "1":
        live.typing_stopped(ticket_id=pk, user=request.user)
    else:
        live.typing_started(ticket_id=pk, user=request.user)
    return HttpResponse(status=204)
