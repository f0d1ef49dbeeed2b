"""Email ingest benchmark: 5,000 mails (60 % replies to earlier mails, by In-Reply-To/References;
Gmail-style quotes, some HTML-only, some Latin-1, some with a PDF) go in

1. through `manage.py ingest_email --now` (called in this process, one mail at a time: the
   service itself: store the raw mail, parse it, open a ticket or thread the reply), then the
   same with --processes (2) at once, as an MTA runs one command per delivery, and
2. through IMAP: appended to a dovecot of the benchmark's own, polled in this process (fetch,
   store, move), parsed by one real Celery worker (default concurrency) from the broker.

Prints mails per second, arrival-to-ticket times (from the raw mail's commit to the message's;
p50/p95) and this process's peak RSS after each fifth of the mails (flat = memory does not grow
with the number of mails). AI mode is off (no assistant runs: this measures the mail path), and
DEBUG is off (Django would keep every query in memory). Uses its own database and Redis DB
(override with BENCH_DATABASE_URL / BENCH_BROKER_URL).

    .venv/bin/python bench/email_ingest.py [--mails 5000] [--processes 2] [--skip-imap]
"""

import argparse
import io
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, worker  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hd_bench_email")
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/7")
os.environ["CELERY_QUEUE"] = "bench-email"
os.environ["ASSISTANT_PROVIDER"] = "offline"
os.environ["HELPDESK_DEFAULT_AI_MODE"] = "off"
os.environ["MAIL_SUPPORT_ADDRESS"] = "support@parcelly.test"
os.environ["MAIL_MAX_NEW_TICKETS_PER_SENDER_PER_HOUR"] = "1000"
os.environ["DEBUG"] = "false"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PDF = b"%PDF-1.4\n" + b"0" * 12_000 + b"\n%%EOF\n"
MIN_GAP = 60  # a reply comes at least this many mails after the mail it answers


def _b64(data: bytes) -> str:
    import base64

    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i : i + 76] for i in range(0, len(s), 76))


def make_mails(n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(kind, raw) for n mails; replies answer a mail at least MIN_GAP places earlier."""
    rng = random.Random(seed)
    mails, parents = [], []
    for i in range(n):
        sender = f"customer{i % 997}@example-{i % 13}.test"
        is_reply = i >= MIN_GAP * 2 and rng.random() < 0.6 / (1 - (MIN_GAP * 2) / n)
        if is_reply:
            candidates = [p for p in parents if p[0] <= i - MIN_GAP]
            _pos, parent_id, parent_sender, subject = rng.choice(candidates)
            sender = parent_sender
        mid = f"<bench-{seed}-{i}@{sender.split('@')[1]}>"
        headers = [
            f"From: Customer {i % 997} <{sender}>",
            "To: Parcelly Help <support@parcelly.test>",
            f"Message-ID: {mid}",
        ]
        headers.append("Date: Tue, 1 Dec 2026 10:00:00 +0000")
        if is_reply:
            headers += [f"Subject: Re: {subject}", f"In-Reply-To: {parent_id}", f"References: {parent_id}"]
            text = (
                f"Thanks, that helps. One more question about order {i}: can it be delivered on Friday?\r\n\r\n"
                f"On Tue, 1 Dec 2026 at 10:15, Parcelly Help <support@parcelly.test> wrote:\r\n"
                + "".join(f"> Line {k} of our earlier answer about the parcel.\r\n" for k in range(12))
            )
        else:
            subject = f"Parcel {i} is late"
            headers.append(f"Subject: {subject}")
            parents.append((i, mid, sender, subject))
            text = (
                f"Hello,\r\n\r\nmy parcel PX-{i} has not arrived yet. It was due on Monday.\r\n\r\n"
                f"Best regards\r\n{sender}\r\n"
            )
        kind = "reply" if is_reply else "new"
        style = i % 10
        if style == 3:  # HTML only
            body = text.replace("\r\n", "<br>")
            part = f"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{body}</p></body></html>\r\n"
            raw = "\r\n".join(headers) + "\r\nMIME-Version: 1.0\r\n" + part
            mails.append((kind, raw.encode()))
        elif style == 6:  # Latin-1, quoted-printable
            import quopri

            qp = quopri.encodestring((text + "Grüße, Jürgen\r\n").encode("latin-1")).decode()
            raw = "\r\n".join(headers) + (
                "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp
            )
            mails.append((kind, raw.encode("ascii")))
        elif style == 8:  # a PDF attached
            raw = "\r\n".join(headers) + (
                '\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b-bench"\r\n\r\n'
                f"--b-bench\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                '--b-bench\r\nContent-Type: application/pdf; name="receipt.pdf"\r\n'
                'Content-Disposition: attachment; filename="receipt.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                f"{_b64(PDF)}\r\n--b-bench--\r\n"
            )
            mails.append((kind, raw.encode()))
        else:
            raw = (
                "\r\n".join(headers) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text
            )
            mails.append((kind, raw.encode()))
    return mails


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[max(int(len(values) * q) - 1, 0)]


def latencies_ms() -> list[float]:
    from assistants.models import Message
    from mail.models import InboundMail

    out = []
    created = dict(Message.objects.filter(inbound_mail__isnull=False).values_list("pk", "created_at"))
    for received, message_id in InboundMail.objects.filter(message__isnull=False).values_list(
        "received_at", "message_id"
    ):
        out.append((created[message_id] - received).total_seconds() * 1000)
    return out


def outcome() -> str:
    from django.db.models import Count

    from mail.models import InboundMail

    counts = dict(InboundMail.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    states = dict(InboundMail.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    return f"kinds {counts}, states {states}"


def reset() -> None:
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def bench_parse(mails) -> None:
    from mail.parsing import parse

    times = []
    for _kind, raw in mails:
        t0 = time.perf_counter()
        parse(raw)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"parse alone (no database): p50 {statistics.median(times):.2f} ms, p95 {pct(times, 0.95):.2f} ms per mail")


def bench_service(mails) -> None:
    from django.core.management import call_command

    reset()
    checkpoints = {len(mails) * k // 5 for k in range(1, 6)}
    rss = []
    per_mail = []
    sink = io.StringIO()

    class Stdin(io.StringIO):
        pass

    start = time.perf_counter()
    for i, (_kind, raw) in enumerate(mails, start=1):
        stdin = Stdin()
        stdin.buffer = io.BytesIO(raw)
        t0 = time.perf_counter()
        call_command("ingest_email", "--now", stdin=stdin, stdout=sink)
        per_mail.append((time.perf_counter() - t0) * 1000)
        if i % 500 == 0:
            sink.seek(0)
            sink.truncate()
        if i in checkpoints:
            rss.append(f"{i}: {rss_mb():.0f} MB")
    wall = time.perf_counter() - start
    print(f"ingest_email --now, in process: {len(mails)} mails in {wall:.1f} s = {len(mails) / wall:.1f} mails/s")
    print(
        f"  arrival-to-ticket (store commit -> message commit): p50 {statistics.median(latencies_ms()):.1f} ms, "
        f"p95 {pct(latencies_ms(), 0.95):.1f} ms; whole command per mail p50 {statistics.median(per_mail):.1f} ms, "
        f"p95 {pct(per_mail, 0.95):.1f} ms"
    )
    print("  peak RSS after " + ", ".join(rss))
    print(f"  {outcome()}")


def _ingest_share(args) -> None:
    """One of N processes running `ingest_email --now` on every Nth mail (as an MTA runs one
    command per delivery, several at a time)."""
    mails, start, step = args
    import django

    django.setup()
    from django.core.management import call_command

    class Stdin(io.StringIO):
        pass

    for _kind, raw in mails[start::step]:
        stdin = Stdin()
        stdin.buffer = io.BytesIO(raw)
        call_command("ingest_email", "--now", stdin=stdin, stdout=io.StringIO())


def bench_service_parallel(mails, processes: int) -> None:
    import multiprocessing

    from django.db import connections

    reset()
    connections.close_all()
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_ingest_share, [(mails, i, processes) for i in range(processes)])
    wall = time.perf_counter() - start
    lat = latencies_ms()
    print(
        f"ingest_email --now, {processes} processes at once: {len(mails)} mails in {wall:.1f} s = "
        f"{len(mails) / wall:.1f} mails/s; arrival-to-ticket p50 {statistics.median(lat):.1f} ms, "
        f"p95 {pct(lat, 0.95):.1f} ms"
    )
    print(f"  {outcome()}")


def bench_imap(mails) -> None:
    from config.celery import app
    from mail import imap
    from mail.models import InboundMail, Mailbox
    from tests.mail_services import Dovecot

    if not os.path.exists("/usr/sbin/dovecot"):
        print("IMAP: skipped (no /usr/sbin/dovecot; apt-get install dovecot-imapd)")
        return
    reset()
    app.control.purge()
    server = Dovecot()
    try:
        client = server.client("support")
        t0 = time.perf_counter()
        for _kind, raw in mails:
            client.append("INBOX", raw)
        append_s = time.perf_counter() - t0
        client.logout()
        os.environ["BENCH_IMAP_PASSWORD"] = "secret"
        mailbox = Mailbox.objects.create(
            name="bench",
            address="support@parcelly.test",
            host="127.0.0.1",
            port=server.port,
            use_tls=False,
            username="support",
            password_env="BENCH_IMAP_PASSWORD",
        )
        with worker("bench-email"):
            t0 = time.perf_counter()
            rss = []
            polled = 0
            while polled < len(mails):
                result = imap.mailbox_poll(mailbox_id=mailbox.pk)
                if result.get("error"):
                    raise SystemExit(f"poll failed: {result['error']}")
                polled += result["seen"]
                rss.append(f"{polled}: {rss_mb():.0f} MB")
            poll_s = time.perf_counter() - t0
            while InboundMail.objects.filter(state=InboundMail.State.PENDING).exists():
                if time.perf_counter() - t0 > 900:
                    raise SystemExit("timed out waiting for the worker")
                time.sleep(0.1)
            wall = time.perf_counter() - t0
        print(f"IMAP (dovecot on loopback): appended {len(mails)} mails in {append_s:.1f} s (setup, not measured)")
        print(
            f"  poll (fetch BODY.PEEK[] + store + MOVE, this process): {polled} mails in {poll_s:.1f} s = "
            f"{polled / poll_s:.1f} mails/s; peak RSS after " + ", ".join(rss[:: max(len(rss) // 5, 1)][-5:])
        )
        print(
            f"  poll + parse by one worker: all {len(mails)} in tickets after {wall:.1f} s = "
            f"{len(mails) / wall:.1f} mails/s"
        )
        lat = latencies_ms()
        print(
            f"  arrival-to-ticket (store commit -> message commit, queueing included): "
            f"p50 {statistics.median(lat):.0f} ms, p95 {pct(lat, 0.95):.0f} ms"
        )
        print(f"  {outcome()}")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--skip-imap", action="store_true")
    parser.add_argument("--processes", type=int, default=2, help="ingest_email processes at once (0: skip)")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    mails = make_mails(args.mails)
    replies = sum(kind == "reply" for kind, _ in mails)
    size = sum(len(raw) for _, raw in mails) / len(mails)
    print(f"{len(mails)} mails, {replies} replies ({replies / len(mails):.0%}), {size / 1024:.1f} kB each on average")
    bench_parse(mails)
    bench_service(mails)
    if args.processes > 1:
        bench_service_parallel(mails, args.processes)
    if not args.skip_imap:
        bench_imap(mails)


if __name__ == "__main__":
    main()
