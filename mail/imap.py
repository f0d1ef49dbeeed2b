"""IMAP polling with imapclient: fetch with BODY.PEEK[] (nothing is marked read), store each raw
mail and commit, then move it to the processed folder; parsing happens later from the stored copy.

Two app instances polling one mailbox: a poll lease on the Mailbox row (a conditional UPDATE)
lets one poll at a time, and if two fetch the same mail anyway (a lease that ran out mid-poll),
the unique keys on (mailbox, UIDVALIDITY, UID) and on the Message-ID store it once, and only the
poller that stored it moves it.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlparse

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mail import crypto
from mail.addresses import support_address
from mail.inbound import inbound_store
from mail.models import Mailbox

logger = logging.getLogger(__name__)

POLL_LEASE = timedelta(minutes=5)
FETCH_BATCH = 50
FETCH_BYTES = 20 * 1024 * 1024
MAX_PER_POLL = 2000
ENV_MAILBOX = "INBOUND_IMAP_URL"


@dataclass
class Connection:
    host: str
    port: int
    use_tls: bool
    username: str
    password: str
    folder: str
    processed_folder: str


def _from_url(url: str) -> tuple[dict, str]:
    """imaps://user:password@host:993/INBOX?processed=Processed&address=support@example.com"""
    parts = urlparse(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("INBOUND_IMAP_URL must start with imaps:// (or imap:// on loopback).")
    query = parse_qs(parts.query)
    fields = {
        "host": parts.hostname or "",
        "port": parts.port or (993 if parts.scheme == "imaps" else 143),
        "use_tls": parts.scheme == "imaps",
        "username": unquote(parts.username or ""),
        "folder": unquote(parts.path.lstrip("/")) or "INBOX",
        "processed_folder": query.get("processed", ["Processed"])[0],
        "address": query.get("address", [""])[0],
    }
    return fields, unquote(parts.password or "")


def sync_env_mailbox() -> Mailbox | None:
    """The mailbox INBOUND_IMAP_URL names, as a row (its password is never stored)."""
    url = settings.INBOUND_IMAP_URL
    if not url:
        Mailbox.objects.filter(from_env=True).update(active=False)
        return None
    fields, _password = _from_url(url)
    fields["address"] = fields["address"] or support_address()
    mailbox, _ = Mailbox.objects.update_or_create(
        name=ENV_MAILBOX, defaults={**fields, "from_env": True, "active": True}
    )
    return mailbox


def active_mailbox_ids() -> list[int]:
    sync_env_mailbox()
    return list(Mailbox.objects.filter(active=True).values_list("pk", flat=True))


def connection_for(mailbox: Mailbox) -> Connection:
    if mailbox.from_env:
        _fields, password = _from_url(settings.INBOUND_IMAP_URL)
    elif mailbox.password_env:
        password = _password_from_env(mailbox.password_env)
    elif mailbox.password_encrypted:
        password = crypto.decrypt(mailbox.password_encrypted)
    else:
        password = ""
    return Connection(
        mailbox.host,
        mailbox.port,
        mailbox.use_tls,
        mailbox.username,
        password,
        mailbox.folder,
        mailbox.processed_folder,
    )


def _password_from_env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"The environment variable {name} (this mailbox's password) is not set.")
    return value


def connect(conn: Connection) -> IMAPClient:
    context = ssl.create_default_context() if conn.use_tls else None
    client = IMAPClient(
        conn.host, port=conn.port, ssl=conn.use_tls, ssl_context=context, timeout=settings.MAIL_IMAP_TIMEOUT
    )
    client.login(conn.username, conn.password)
    return client


def mailbox_test(*, mailbox: Mailbox) -> str:
    """The admin's test-connection action: log in, open the folder, say how many mails wait."""
    conn = connection_for(mailbox)
    with connect(conn) as client:
        info = client.select_folder(conn.folder, readonly=True)
        exists = info.get(b"EXISTS", 0)
        moves = client.has_capability("MOVE")
    return f"Connected to {conn.host}:{conn.port} as {conn.username}: {exists} mails in {conn.folder}" + (
        "." if moves else " (the server has no MOVE; COPY and expunge are used)."
    )


def _claim(mailbox_id: int) -> bool:
    now = timezone.now()
    return (
        Mailbox.objects.filter(pk=mailbox_id, active=True)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .update(poll_lease_until=now + POLL_LEASE)
        == 1
    )


def mailbox_poll(*, mailbox_id: int, lease: bool = True) -> dict:
    """Fetch every mail waiting in the mailbox's folder, store it, then move it out of the way.
    lease=False skips the poll lease (tests use it to make two pollers race)."""
    if lease and not _claim(mailbox_id):
        return {"claimed": False}
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    stored = seen = 0
    mine: set[int] = set()  # rows this poll created (a second copy of one mail in the folder is ours too)
    try:
        conn = connection_for(mailbox)
        with connect(conn) as client:
            info = client.select_folder(conn.folder)
            uidvalidity = int(info.get(b"UIDVALIDITY", 0))
            if mailbox.uidvalidity not in (None, uidvalidity):
                logger.warning("mailbox %s: UIDVALIDITY changed (%s -> %s)", mailbox, mailbox.uidvalidity, uidvalidity)
            uids = sorted(client.search(["NOT", "DELETED"]))[:MAX_PER_POLL]
            if uids:
                _ensure_folder(client, conn.processed_folder)
            for batch in _batches(client, uids):
                fetched = client.fetch(batch, ["BODY.PEEK[]"])
                done = []
                for uid in batch:
                    raw = fetched.get(uid, {}).get(b"BODY[]")
                    if raw is None:
                        continue  # expunged meanwhile (another poller moved it)
                    seen += 1
                    # Committed here, one by one, before anything is moved.
                    mail, created = inbound_store(raw=raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
                    stored += created
                    if created:
                        mine.add(mail.pk)
                    # A mail another poller stored a moment ago is its to move (two MOVEs of one
                    # mail can both succeed and leave two copies); one stored long ago was left
                    # behind by a poller that died before its move.
                    if mail.pk in mine or mail.received_at < timezone.now() - POLL_LEASE:
                        done.append(uid)
                del fetched
                if done:
                    _move(client, done, conn.processed_folder)
        Mailbox.objects.filter(pk=mailbox_id).update(
            uidvalidity=uidvalidity, last_polled_at=timezone.now(), last_error="", poll_lease_until=None
        )
    except (IMAPClientError, OSError, ValueError) as exc:
        message = f"{type(exc).__name__}: {exc}"[:1000]
        logger.warning("mailbox %s: %s", mailbox, message)
        Mailbox.objects.filter(pk=mailbox_id).update(last_error=message, poll_lease_until=None)
        return {"claimed": True, "seen": seen, "stored": stored, "error": message}
    return {"claimed": True, "seen": seen, "stored": stored}


def _batches(client: IMAPClient, uids: list[int]):
    """UIDs in fetch batches of at most FETCH_BATCH mails and FETCH_BYTES bytes (one big mail is a
    batch of its own), so memory stays flat however many or large the mails are."""
    sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
    batch, batch_bytes = [], 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if batch and (len(batch) >= FETCH_BATCH or batch_bytes + size > FETCH_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(uid)
        batch_bytes += size
    if batch:
        yield batch


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        try:
            client.create_folder(folder)
        except IMAPClientError:
            if not client.folder_exists(folder):  # another poller made it a moment ago otherwise
                raise


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    """After the mails are committed: MOVE (RFC 6851), or COPY + \\Deleted + UID EXPUNGE of
    just those (a plain EXPUNGE would also drop mail other clients flagged)."""
    try:
        if client.has_capability("MOVE"):
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.delete_messages(uids)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()
    except IMAPClientError as exc:
        # Another poller moved them first ([EXPUNGEISSUED]): they are stored either way.
        logger.info("move of %s to %s: %s", uids, folder, exc)
