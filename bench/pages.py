"""Page benchmark: the staff workspace and the portal at 10,000 and 100,000 tickets.

Seeds PostgreSQL in bulk (bench/seed.py: COPY, about five messages per ticket, one 500-message
ticket), runs VACUUM ANALYZE, then times each page in-process with Django's test Client (signed
in with force_login): the median of --runs requests after --warmup, and the SQL queries of one
request. Seeds 10k, measures, tops up to 100k, measures, and prints both next to the aims of
issue 4. The inbox and the dashboard are measured twice: as served (caches warm: sessions, the
dashboard's 30 s cache) and with every cache cleared before each request (what the first visitor
pays). Both must meet the aim: a cache is an optimisation, not the way to meet it.

Uses its own database (created if missing, migrated, emptied first):
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/hd_bench_pages (default)

    .venv/bin/python bench/pages.py [--sizes 10000 100000] [--runs 15] [--warmup 3] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench_pages")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["DEBUG"] = "0"  # production-like: no query log kept on every request
os.environ["ASSISTANT_PROVIDER"] = "offline"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# (key, label, aim in ms, aim in queries, django-helpdesk 2.6.1 at 100k)
PAGES = [
    ("inbox", "staff inbox, first page", 25, 8, "1,104-1,537 ms, 77 q"),
    ("inbox_cold", "  (caches cleared)", 25, 8, ""),
    ("inbox_prev", "staff inbox, back to page 20", 25, 8, ""),
    ("search", "staff inbox, keyword search", 100, None, "693 ms, 76 q"),
    ("search_ref", "staff inbox, search a reference", 25, 8, ""),
    ("search_name", "staff inbox, search a customer name", 100, None, ""),
    ("search_email", "staff inbox, search a customer email", 100, None, ""),
    ("dashboard", "dashboard", 50, None, "2,738-2,781 ms, 67 q"),
    ("dashboard_cold", "  (caches cleared)", 50, None, ""),
    ("ticket", "staff ticket page (500 messages)", 30, 12, "35-59 ms, 35-44 q"),
    ("portal_ticket", "portal ticket page", 10, 8, "10-15 ms, 8-12 q"),
    ("run_status", "run-status poll (staff)", 5, 2, "-"),
    ("portal_updates", "run-status poll (portal updates)", 5, 2, "-"),
]


def _is_auth(sql: str) -> bool:
    """The session row and the signed-in user: two lookups every signed-in request pays (DB sessions)."""
    return 'FROM "django_session"' in sql or ('FROM "auth_user" WHERE "auth_user"."id" =' in sql and "LIMIT 21" in sql)


SHOW_QUERIES: set[str] = set()


def measure(client, url: str, *, runs: int, warmup: int, before=None) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        if before:
            before()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    if before:
        before()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    sqls = [q["sql"] for q in queries.captured_queries]
    if SHOW_QUERIES & {"all", url}:
        print(f"--- {url}")
        for sql, q in zip(sqls, queries.captured_queries):
            print(f"  [{q['time']}s] {sql[:600]}")
    return statistics.median(times), len(sqls), sum(_is_auth(s) for s in sqls)


def measure_all(*, runs: int, warmup: int) -> dict[str, tuple[float, int]]:
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from assistants.models import Run, Thread
    from bench import seed
    from tickets import selectors
    from tickets.models import Ticket

    staff_user = Ticket.objects.filter(assignee__isnull=False).values_list("assignee", flat=True).first()
    staff = Client()
    staff.force_login(seed.User.objects.get(pk=staff_user))
    big = seed.big_ticket()
    # A typical customer ticket: about five messages, with a completed run.
    sample = (
        Ticket.objects.filter(thread__message_count=5, thread__ai_state=Thread.AIState.IDLE, thread__run_count__gte=1)
        .select_related("customer", "thread")
        .order_by("pk")
        .first()
    )
    customer = Client()
    customer.force_login(sample.customer)
    assert Run.objects.filter(thread=sample.thread).exists()
    since = int(timezone.now().timestamp() * 1_000_000)
    n = sample.thread.message_count
    # "Previous 25" from page 21 of the default inbox: the keyset read backwards.
    filters, user = selectors.InboxFilters(), seed.User.objects.get(pk=staff_user)
    page = selectors.inbox_page(filters, user=user)
    for _ in range(20):
        page = selectors.inbox_page(filters, user=user, cursor=selectors.decode_cursor(page.next_cursor, filters.sort))
    pages = {
        "inbox": ("/staff/", staff, None),
        "inbox_cold": ("/staff/", staff, cache.clear),
        "inbox_prev": (f"/staff/?before={page.prev_cursor}", staff, None),
        "search": (f"/staff/?q={seed.SEARCH_WORD}", staff, None),
        "search_ref": (f"/staff/?q=T-{sample.pk}", staff, None),
        "search_name": ("/staff/?q=Customer+421", staff, None),
        "search_email": ("/staff/?q=bench-customer-421%40example.com", staff, None),
        "dashboard": ("/staff/dashboard/", staff, None),
        "dashboard_cold": ("/staff/dashboard/", staff, cache.clear),
        "ticket": (f"/staff/tickets/{big.pk}/", staff, None),
        "portal_ticket": (f"/portal/tickets/{sample.pk}/", customer, None),
        "run_status": (f"/staff/tickets/{sample.pk}/run-status/?after={n}", staff, None),
        "portal_updates": (f"/portal/tickets/{sample.pk}/updates/?after={n}&since={since}", customer, None),
    }
    results = {}
    for key, (url, client, before) in pages.items():
        results[key] = measure(client, url, runs=runs, warmup=warmup, before=before)
    return results


def fmt(result) -> str:
    if result is None:
        return ""
    ms, q, auth = result
    return f"{ms:6.1f} ms {q:2d} q ({q - auth})"


def verdict(key: str, aim_ms, aim_q, result) -> str:
    if result is None:
        return ""
    ms, q, auth = result
    ok = ms <= aim_ms and (aim_q is None or q - auth <= aim_q)
    return "ok" if ok else "MISSED"


def print_table(sizes: list[int], results: dict[int, dict]) -> None:
    cols = " ".join(f"{f'at {s:,}':>20}" for s in sizes)
    head = f"{'page':36} {cols}  {'aim':>16}  {'verdict':8} helpdesk 2.6.1"
    print(head)
    print("-" * len(head))
    for key, label, aim_ms, aim_q, helpdesk in PAGES:
        cells = " ".join(f"{fmt(results[s].get(key)):>20}" for s in sizes)
        aim = f"<= {aim_ms} ms" + (f", {aim_q} q" if aim_q else "")
        print(f"{label:36} {cells}  {aim:>16}  {verdict(key, aim_ms, aim_q, results[sizes[-1]].get(key)):8} {helpdesk}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--show-queries", nargs="*", default=[], help="print the SQL of these URLs ('all')")
    parser.add_argument("--keep", action="store_true", help="keep the tickets already there (top up only)")
    args = parser.parse_args()
    ensure_database(DATABASE_URL)
    SHOW_QUERIES.update(args.show_queries)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import seed

    call_command("migrate", verbosity=0)
    if not args.keep:
        call_command("flush", interactive=False, verbosity=0)
    results = {}
    for size in sorted(args.sizes):
        start = time.perf_counter()
        added = seed.seed(size)
        seeded = time.perf_counter() - start
        start = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        analyzed = time.perf_counter() - start
        seed.check_counters()
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM assistants_message")
            messages = cur.fetchone()[0]
        print(
            f"seeded {added:,} tickets in {seeded:.1f} s (total {size:,} tickets, {messages:,} messages); "
            f"VACUUM ANALYZE {analyzed:.1f} s",
            flush=True,
        )
        results[size] = measure_all(runs=args.runs, warmup=args.warmup)
    print()
    print(f"median of {args.runs} requests after {args.warmup} warm-ups, in-process (Django test Client), PostgreSQL")
    print_table(sorted(args.sizes), results)
    print("q = SQL queries of one request; (n) = without the session and user lookups that every signed-in")
    print("request pays with database sessions. The verdict compares the median and (n) with the aim.")


if __name__ == "__main__":
    main()
