"""Staff inbox: filters, search, sort, keyset pagination, counts, HTMX partial, permissions."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from assistants.models import Message, Thread
from tests.factories import CustomerFactory, StaffFactory, open_ticket
from tickets import live, selectors
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _refs(response) -> set[str]:
    return {t.reference for t in response.context["page"].tickets}


def _ticket(subject="Parcel late", body="Where is it?", **fields):
    ticket = open_ticket(subject=subject, body=body)
    thread_fields = {k[8:]: fields.pop(k) for k in list(fields) if k.startswith("thread__")}
    if fields:
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
    if thread_fields:
        Thread.objects.filter(pk=ticket.thread_id).update(**thread_fields)
    return ticket


def test_default_view_lists_open_tickets_newest_activity_first(client, staff):
    old = _ticket(subject="old one")
    new = _ticket(subject="new one")
    resolved = _ticket(status=Ticket.Status.RESOLVED)
    Ticket.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    response = client.get(reverse("staff:inbox"))
    tickets = response.context["page"].tickets
    assert [t.pk for t in tickets] == [new.pk, old.pk]
    assert resolved.reference not in _refs(response)


@pytest.mark.parametrize(
    ("params", "matching", "other"),
    [
        ({"status": "pending"}, {"status": "pending"}, {"status": "open"}),
        ({"status": "all"}, {"status": "closed"}, None),
        ({"priority": "4"}, {"priority": 4}, {"priority": 2}),
        ({"escalated": "yes"}, {"escalated": True}, {"escalated": False}),
        ({"escalated": "no"}, {"escalated": False}, {"escalated": True}),
        ({"ai": "draft_waiting"}, {"thread__ai_state": "draft_waiting"}, {"thread__ai_state": "idle"}),
        ({"ai": "failed"}, {"thread__ai_state": "failed"}, {"thread__ai_state": "running"}),
        ({"ai": "running"}, {"thread__ai_state": "running"}, {"thread__ai_state": "failed"}),
    ],
)
def test_each_filter_keeps_only_matching_tickets(client, staff, params, matching, other):
    match = _ticket(**matching)
    miss = _ticket(**other) if other is not None else None
    refs = _refs(client.get(reverse("staff:inbox"), params))
    assert match.reference in refs
    if miss is not None:
        assert miss.reference not in refs


def test_assignee_filter_me_unassigned_someone_and_anyone(client, staff):
    colleague = StaffFactory()
    mine = _ticket(assignee=staff)
    theirs = _ticket(assignee=colleague)
    nobody = _ticket()
    url = reverse("staff:inbox")
    assert _refs(client.get(url, {"assignee": "me"})) == {mine.reference}
    assert _refs(client.get(url, {"assignee": "none"})) == {nobody.reference}
    assert _refs(client.get(url, {"assignee": str(colleague.pk)})) == {theirs.reference}
    assert _refs(client.get(url, {"assignee": "anyone"})) == {mine.reference, theirs.reference, nobody.reference}


def test_keyword_search_matches_subjects_and_message_bodies(client, staff):
    by_subject = _ticket(subject="Damaged umbrella", body="hello")
    by_body = _ticket(subject="Question", body="The umbrella arrived broken")
    _ticket(subject="Refund", body="Money back please")
    assert _refs(client.get(reverse("staff:inbox"), {"q": "umbrella"})) == {by_subject.reference, by_body.reference}


def test_search_does_not_repeat_a_ticket_with_several_matching_messages(client, staff):
    from assistants import services as assistant

    ticket = _ticket(subject="Question", body="umbrella one")
    assistant.message_add(thread=ticket.thread, role=Message.Role.USER, body="umbrella two")
    tickets = client.get(reverse("staff:inbox"), {"q": "umbrella"}).context["page"].tickets
    assert [t.pk for t in tickets] == [ticket.pk]


def test_sort_by_priority_then_created(client, staff):
    low = _ticket(priority=1)
    urgent = _ticket(priority=4)
    normal = _ticket(priority=2)
    by_priority = client.get(reverse("staff:inbox"), {"sort": "priority"}).context["page"].tickets
    assert [t.pk for t in by_priority] == [urgent.pk, normal.pk, low.pk]
    by_created = client.get(reverse("staff:inbox"), {"sort": "created"}).context["page"].tickets
    assert [t.pk for t in by_created] == [normal.pk, urgent.pk, low.pk]


@pytest.mark.parametrize("sort", ["updated", "created", "priority"])
def test_keyset_pages_cover_every_ticket_once(client, staff, sort):
    customer = CustomerFactory()
    created = [open_ticket(customer=customer, subject=f"t{i}") for i in range(30)]
    same_time = timezone.now()
    for i, t in enumerate(created):  # ties on the sort key: the primary key breaks them
        Ticket.objects.filter(pk=t.pk).update(updated_at=same_time, created_at=same_time, priority=1 + i % 4)
    first = client.get(reverse("staff:inbox"), {"sort": sort})
    page = first.context["page"]
    assert len(page.tickets) == 25 and page.next_cursor
    second = client.get(reverse("staff:inbox"), {"sort": sort, "after": page.next_cursor}, **HTMX)
    rest = second.context["page"]
    assert rest.next_cursor is None
    seen = [t.pk for t in page.tickets] + [t.pk for t in rest.tickets]
    assert sorted(seen) == sorted(t.pk for t in created)
    assert "First page" in second.content.decode()


@pytest.mark.parametrize("sort", ["updated", "created", "priority"])
def test_previous_page_returns_the_earlier_rows(client, staff, sort):
    customer = CustomerFactory()
    created = [open_ticket(customer=customer, subject=f"t{i}") for i in range(60)]
    same_time = timezone.now()
    for i, t in enumerate(created):  # ties on the sort key, as above
        Ticket.objects.filter(pk=t.pk).update(
            updated_at=same_time - timedelta(minutes=i // 7), created_at=same_time, priority=1 + i % 4
        )
    url = reverse("staff:inbox")
    pages = [client.get(url, {"sort": sort}).context["page"]]
    while pages[-1].next_cursor:
        pages.append(client.get(url, {"sort": sort, "after": pages[-1].next_cursor}, **HTMX).context["page"])
    assert [len(p.tickets) for p in pages] == [25, 25, 10]
    assert pages[0].prev_cursor is None
    # back from the last page to the second, then to the first
    second = client.get(url, {"sort": sort, "before": pages[2].prev_cursor}, **HTMX)
    back = second.context["page"]
    assert [t.pk for t in back.tickets] == [t.pk for t in pages[1].tickets]
    assert back.next_cursor == pages[1].next_cursor and back.prev_cursor
    html = second.content.decode()
    assert "Previous 25" in html and "First page" in html and "Next 25" in html
    first = client.get(url, {"sort": sort, "before": back.prev_cursor}, **HTMX)
    assert [t.pk for t in first.context["page"].tickets] == [t.pk for t in pages[0].tickets]
    assert first.context["page"].prev_cursor is None and first.context["page"].next_cursor == pages[0].next_cursor
    assert "Previous 25" not in first.content.decode()


def test_previous_page_after_rows_left_the_filter_is_a_full_first_page(client, staff):
    customer = CustomerFactory()
    created = [open_ticket(customer=customer, subject=f"t{i}") for i in range(30)]
    url = reverse("staff:inbox")
    first = client.get(url).context["page"]
    second = client.get(url, {"after": first.next_cursor}).context["page"]
    # ten tickets of the first page are resolved meanwhile: fewer than 25 rows lie before
    Ticket.objects.filter(pk__in=[t.pk for t in first.tickets[:10]]).update(status=Ticket.Status.RESOLVED)
    back = client.get(url, {"before": second.prev_cursor}).context["page"]
    assert len(back.tickets) == 20 and back.prev_cursor is None and back.next_cursor is None
    assert {t.pk for t in back.tickets} == {t.pk for t in created} - {t.pk for t in first.tickets[:10]}


def test_a_forged_cursor_falls_back_to_the_first_page(client, staff):
    ticket = _ticket()
    for token in ("nonsense", "WzFd", "!!!"):
        for direction in ("after", "before"):
            response = client.get(reverse("staff:inbox"), {direction: token})
            assert response.status_code == 200
            assert ticket.reference in _refs(response)


def test_bad_filter_values_are_ignored_not_a_500(client, staff):
    ticket = _ticket()
    response = client.get(
        reverse("staff:inbox"), {"status": "exploded", "priority": "x", "assignee": "drop table", "sort": "?"}
    )
    assert response.status_code == 200
    assert ticket.reference in _refs(response)


def test_counts_per_filter(client, staff):
    _ticket(escalated=True, assignee=staff, thread__ai_state="idle")
    _ticket(thread__ai_state="draft_waiting")
    _ticket(status=Ticket.Status.RESOLVED, escalated=True, thread__ai_state="idle")
    _ticket(status=Ticket.Status.PENDING, assignee=StaffFactory(), thread__ai_state="failed")
    _ticket(status=Ticket.Status.CLOSED, thread__ai_state="running")
    counts = client.get(reverse("staff:inbox")).context["counts"]
    assert counts["open"] == 3 and counts["all"] == 5
    assert counts["escalated"] == 1  # open tickets only
    assert counts["mine"] == 1 and counts["unassigned"] == 1
    assert counts["draft_waiting"] == 1 and counts["failed"] == 1 and counts["running"] == 1
    assert counts["status_new"] == 2 and counts["status_pending"] == 1
    assert counts["status_resolved"] == 1 and counts["status_closed"] == 1
    # every chip's figure is the number of tickets its link lists
    chips = {
        "open": {"status": "open"},
        "mine": {"status": "open", "assignee": "me"},
        "unassigned": {"status": "open", "assignee": "none"},
        "escalated": {"status": "open", "escalated": "yes"},
        "draft_waiting": {"status": "all", "ai": "draft_waiting"},
        "failed": {"status": "all", "ai": "failed"},
        "running": {"status": "all", "ai": "running"},
        "status_new": {"status": "new"},
        "status_pending": {"status": "pending"},
        "status_resolved": {"status": "resolved"},
        "all": {"status": "all"},
    }
    for key, params in chips.items():
        assert len(_refs(client.get(reverse("staff:inbox"), params))) == counts[key], key


def _recount(user) -> dict[str, int]:
    """The chips' figures counted the slow way, straight from the tickets and threads."""
    tickets = Ticket.objects.all()
    open_ = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    counts = {f"status_{value}": tickets.filter(status=value).count() for value in Ticket.Status.values}
    counts.update(
        open=open_.count(),
        all=tickets.count(),
        mine=open_.filter(assignee=user).count(),
        unassigned=open_.filter(assignee__isnull=True).count(),
        escalated=open_.filter(escalated=True).count(),
    )
    for state in ("draft_waiting", "failed", "running"):
        counts[state] = Thread.objects.filter(ai_state=state).count()
    return counts


def test_counts_match_a_recount_after_every_kind_of_write(client, staff):
    """The per-status figures are kept by database triggers, so every way of writing a ticket
    keeps them right: the services, a queryset update, a bulk update and a delete."""
    from tickets import services

    colleague = StaffFactory()
    a, b, c = _ticket(subject="a"), _ticket(subject="b"), _ticket(subject="c")

    def check():
        assert selectors.inbox_counts(user=staff) == _recount(staff)

    check()
    services.ticket_update(ticket=a, by=staff, status=Ticket.Status.PENDING, assignee=staff)
    check()
    services.ticket_escalate(ticket=b, reason="Angry", by=staff)
    check()
    services.ticket_update(ticket=b, by=staff, assignee=colleague)
    check()
    services.ticket_deescalate(ticket=b, by=staff)
    check()
    Ticket.objects.filter(pk=c.pk).update(status=Ticket.Status.RESOLVED, escalated=True)
    check()
    Ticket.objects.filter(pk__in=[a.pk, b.pk]).update(status=Ticket.Status.CLOSED, assignee=None)
    check()
    Ticket.objects.filter(pk=a.pk).update(status=Ticket.Status.CLOSED)  # no change: nothing moves
    check()
    Ticket.objects.filter(pk=b.pk).delete()
    check()
    colleague.delete()  # a deleted assignee leaves the tickets unassigned (SET NULL)
    check()
    assert selectors.inbox_counts(user=staff)["all"] == 2


def test_counts_are_fresh_after_a_change(client, staff):
    _ticket()
    assert selectors.inbox_counts(user=staff)["open"] == 1
    _ticket()
    assert selectors.inbox_counts(user=staff)["open"] == 2  # no cache in between


def test_htmx_request_gets_only_the_list_partial(client, staff):
    _ticket(subject="Only the list")
    full = client.get(reverse("staff:inbox")).content.decode()
    partial = client.get(reverse("staff:inbox"), {"q": "list"}, **HTMX).content.decode()
    assert "<html" in full and 'class="filters"' in full and 'id="ticket-list"' in full
    assert "<html" not in partial and 'class="filters"' not in partial
    assert partial.strip().startswith('<section id="ticket-list"')
    assert "Only the list" in partial


def test_filters_round_trip_through_the_url(client, staff):
    html = client.get(reverse("staff:inbox"), {"status": "pending", "priority": "3", "q": "late"}).content.decode()
    assert '<option value="pending" selected>' in html
    assert '<option value="3" selected>' in html
    assert 'value="late"' in html
    assert 'hx-push-url="true"' in html


def test_inbox_first_page_query_count(client, staff, django_assert_num_queries):
    for i in range(30):
        _ticket(subject=f"ticket {i}", assignee=staff if i % 2 else None)
    cache.clear()  # cold: nothing cached, not even the session
    # session, user, the 25-row page (with the live feed's cursor, its newest id), the ticket counts
    # (a few hundred rows at most, kept by triggers), the AI-state counts (the ai_state index), the staff list
    with django_assert_num_queries(6):
        response = client.get(reverse("staff:inbox"))
    assert len(response.context["page"].tickets) == 25
    assert response.context["since"] == live.latest_change() > 0
    with django_assert_num_queries(5):  # the session is now cached; the counts are never cached
        client.get(reverse("staff:inbox"), {"q": "ticket", "ai": "running", "escalated": "no"})
    with django_assert_num_queries(6):  # an empty page reads the cursor on its own
        response = client.get(reverse("staff:inbox"), {"q": "zebra"})
    assert not response.context["page"].tickets and response.context["since"] == live.latest_change()
    with django_assert_num_queries(4):  # an HTMX list swap needs no staff list, nor the live cursor
        client.get(reverse("staff:inbox"), {"status": "all"}, **HTMX)
