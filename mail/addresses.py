"""Our addresses: the support address, the per-ticket reply address with its signed token, the
subject tag, and Message-IDs in our own domain.

A reply address is `support+T-1042.<token>@example.com` (RFC 5233 subaddressing): the token is
an HMAC of the ticket's id, so nobody can aim a mail at a ticket by guessing its number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from email.utils import formataddr, parseaddr

from django.conf import settings

TOKEN_LENGTH = 12
_TOKEN_RE = re.compile(r"\+t-(\d+)\.([a-z2-7]{" + str(TOKEN_LENGTH) + r"})@", re.IGNORECASE)
_SUBJECT_TAG_RE = re.compile(r"\[T-(\d+)\]")
AUTOMATIC_LOCAL_PARTS = {"mailer-daemon", "postmaster"}


def support_address() -> str:
    return (settings.MAIL_SUPPORT_ADDRESS or parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "support@localhost").lower()


def support_from() -> str:
    name = parseaddr(settings.DEFAULT_FROM_EMAIL)[0] or "Help desk"
    return formataddr((name, support_address()))


def mail_domain() -> str:
    return support_address().rsplit("@", 1)[1]


def _token(ticket_id: int) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"mail-reply:{ticket_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:TOKEN_LENGTH]


def reply_address(ticket) -> str:
    local, domain = support_address().rsplit("@", 1)
    return f"{local}+{ticket.reference}.{_token(ticket.pk)}@{domain}"


def ticket_id_from_addresses(addresses: list[str]) -> int | None:
    """The ticket a reply address names, if its token is right."""
    for address in addresses:
        found = _TOKEN_RE.search(address)
        if found and hmac.compare_digest(found.group(2).lower(), _token(int(found.group(1)))):
            return int(found.group(1))
    return None


def subject_tag(ticket) -> str:
    return f"[{ticket.reference}]"


def ticket_id_from_subject(subject: str) -> int | None:
    found = _SUBJECT_TAG_RE.search(subject or "")
    return int(found.group(1)) if found else None


def new_message_id(ticket, message_id: int | None) -> str:
    """A Message-ID of our own (without angle brackets), stored before the mail is sent: 64 random
    bits, the ticket and the message. Short on purpose: make_msgid's time.pid.random prefix made
    "Message-ID: <...>" longer than 78 characters once ids grew, and the header was folded."""
    return f"{secrets.token_hex(8)}.{ticket.reference}.{message_id or 0}@{mail_domain()}"


def is_own_message_id(message_id: str) -> bool:
    """One of ours by its shape (`random.T-<n>.<m>@<our domain>`; older ones had make_msgid's
    `time.pid.random` in front, which the same pattern matches)."""
    return bool(re.search(r"\.t-\d+\.\d+@" + re.escape(mail_domain()) + "$", message_id or "", re.IGNORECASE))


def is_automatic_sender(address: str) -> bool:
    return address.split("@", 1)[0].lower() in AUTOMATIC_LOCAL_PARTS
