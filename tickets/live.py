"""Live pages: the change feed they poll (tickets.LiveChange, written by database triggers) and
who is writing a reply where (presence, a short-lived marker in the cache).

A page remembers the feed's newest id when it renders (`latest_change`, read before the page's
own queries, so a change landing in between is announced again rather than lost), then asks
"anything after it?": the inbox for any change at all, a ticket page for changes of its ticket.
When nothing changed that answer is one indexed query and the view answers 204.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Exists, Max, OuterRef, Subquery
from django.utils import timezone

from tickets.models import LiveChange, Ticket

# How long "X is replying" lasts after X's last keystroke (the page re-sends it every few seconds).
TYPING_SECONDS = 8
# Rows older than this are pruned (a page that slept longer reloads its parts anyway: see live.js).
KEEP = timedelta(hours=1)


def latest_change() -> int:
    """The newest id of the feed (0 when it is empty): the maximum of the primary key."""
    return LiveChange.objects.aggregate(latest=Max("id"))["latest"] or 0


def latest_change_subquery() -> Subquery:
    """latest_change() as a subquery, to read the cursor in the same statement as a page's state."""
    return Subquery(LiveChange.objects.order_by("-id").values("id")[:1])


def ticket_changes(ticket_id: int, *, after: int) -> tuple[int, set[int]]:
    """(newest change id of this ticket after `after`, or `after` when none; ids of the messages
    those changes name). One query on (ticket_id, id)."""
    rows = list(
        LiveChange.objects.filter(ticket_id=ticket_id, id__gt=after).order_by("id").values_list("id", "message_id")
    )
    if not rows:
        return after, set()
    return rows[-1][0], {message_id for _, message_id in rows if message_id is not None}


def prune(*, keep: timedelta = KEEP) -> int:
    """Delete rows older than `keep`, always keeping the newest (ids must not go back on SQLite)."""
    newest = latest_change()
    deleted, _ = LiveChange.objects.filter(created_at__lt=timezone.now() - keep, id__lt=newest).delete()
    return deleted


def _typing_key(ticket_id: int) -> str:
    return f"live:typing:{ticket_id}"


def typing_started(*, ticket_id: int, user) -> None:
    """`user` is writing in the composer of this ticket (called again while they keep typing)."""
    key = _typing_key(ticket_id)
    now = time.time()
    writers = {uid: entry for uid, entry in (cache.get(key) or {}).items() if entry[1] > now}
    writers[user.pk] = (user.get_full_name() or user.email, now + TYPING_SECONDS)
    cache.set(key, writers, TYPING_SECONDS)


def typing_stopped(*, ticket_id: int, user) -> None:
    key = _typing_key(ticket_id)
    writers = cache.get(key) or {}
    if writers.pop(user.pk, None) is not None:
        cache.set(key, writers, TYPING_SECONDS)


def typing_others(*, ticket_id: int, user) -> list[str]:
    """Names of the other people writing on this ticket now (from the cache: no query)."""
    now = time.time()
    return sorted(name for uid, (name, until) in (cache.get(_typing_key(ticket_id)) or {}).items()
                  if uid != user.pk and until > now)  # fmt: skip


def customer_ticket_changed(ticket_id: int, *, customer, after: int) -> bool | None:
    """Whether the customer's own ticket changed after `after` (None: no such ticket of theirs),
    in one query. Internal changes count too; the page then re-reads only what the customer may see."""
    newer = LiveChange.objects.filter(ticket_id=OuterRef("pk"), id__gt=after)
    return (
        Ticket.objects.visible_to(customer)
        .filter(pk=ticket_id, customer=customer)
        .annotate(changed=Exists(newer))
        .values_list("changed", flat=True)
        .first()
    )
