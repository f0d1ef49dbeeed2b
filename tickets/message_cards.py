"""What the staff ticket page shows of each message, decided once in Python.

The page renders up to 30 messages, on every load and every live update. Deciding a message's kind,
its header line and the bits of its metadata in the template cost more than everything else on the
page (a chain of {% if %}s per message, and every missing metadata key a failed lookup), so the
selectors attach a MessageCard to each message (`m.card`) and the template prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3

from assistants.models import Message


@dataclass(frozen=True, slots=True)
class MessageCard:
    created_iso: str  # when it was written, for <time datetime=...>
    created_label: str  # and as shown: "2 Dec 14:05" (the template's date filter cost more than the rest)
    kind: str  # the CSS suffix: note, customer, draft, discarded, notice, assistant, staff
    who: str  # the header line: "Customer", "Drafted by the assistant, edited by Sam Lee", ...
    author: str  # who wrote it, for staff-written messages ("" otherwise)
    via_email: bool  # it came (or went) by email: the badge
    email: dict | None  # metadata["email"]: from, inbound, automatic, dropped
    assistant: dict | None  # the assistant's reply metadata (outcome, confidence, candidates, ...)
    delivery: dict | None  # metadata["email_delivery"]: the reply mail's state
    remove: dict | None  # the form that removes the message (None: removed already, or a notice)
    files: list = field(default_factory=list)  # [{"a": attachment, "remove": its form or None}]


def _remove_form(url: str, what: str) -> dict:
    """A removal form's state: where it posts, and (after a refused removal) its value and errors."""
    return {"url": url, "what": what, "open": False, "value": "", "errors": []}


def _attachment_form(attachment) -> dict:
    return _remove_form(reverse("staff:attachment_redact", args=[attachment.pk]), "attachment")


def refused(card: MessageCard, *, url: str, value: str, errors: list[str]) -> None:
    """Show the removal form that posted to `url` open, with what was typed and why it was refused."""
    forms = [card.remove, *(f["remove"] for f in card.files)]
    for form in forms:
        if form is not None and form["url"] == url:
            form.update(open=True, value=value, errors=errors)


def short_time(moment) -> str:
    """A local time as the pages show it, "2 Dec 14:05" (what the date filter's "j M H:i" gives)."""
    return f"{moment.day} {MONTHS_3[moment.month].title()} {moment:%H:%M}"


def person(user) -> str:
    return shown_name(user.first_name, user.last_name, user.email) if user is not None else ""


def shown_name(first_name: str, last_name: str, email: str) -> str:
    """A person's name as the workspace shows it: the full name, else the email address."""
    return f"{first_name} {last_name}".strip() or email


def _kind(m: Message) -> str:
    if m.is_internal:
        return "note"
    if m.role == Message.Role.USER:
        return "customer"
    if m.is_draft:
        return "draft"
    if m.draft_state == Message.DraftState.DISCARDED:
        return "discarded"
    if m.is_notice:
        return "notice"
    return "assistant" if m.run_id else "staff"


def _who(m: Message, kind: str, meta: dict) -> str:
    if kind == "note":
        return "Internal note"
    if kind == "customer":
        return "Customer"
    if kind == "draft":
        return "Draft by the assistant"
    if kind == "discarded":
        reason = meta.get("discarded_reason")
        return f"Discarded draft ({reason})" if reason else "Discarded draft"
    if kind == "notice":
        return "Automatic notice to the customer"
    if kind == "assistant" and m.published_by is not None:
        how = "edited" if meta.get("original_body") is not None else "approved"
        return f"Drafted by the assistant, {how} by {person(m.published_by)}"
    return "Assistant" if kind == "assistant" else "Staff"


def card(m: Message, attachments: list) -> MessageCard:
    meta = m.metadata or {}
    kind = _kind(m)
    email = meta.get("email")
    assistant = None
    if m.run_id and meta.get("outcome"):
        assistant = {
            "outcome": meta["outcome"],
            "confidence": meta.get("confidence"),
            "language": meta.get("language") or "",
            "mode": meta.get("mode") or "",
            "held_reason": meta.get("held_reason") or "",
            "candidates": [
                {"slug": c.get("slug"), "title": c.get("title"), "score": c.get("score"), "language": c.get("language")}
                for c in meta.get("candidates") or []
                if c.get("slug")
            ],
        }
    delivery = meta.get("email_delivery") or None
    created = timezone.localtime(m.created_at)
    return MessageCard(
        created_iso=created.isoformat(),
        created_label=short_time(created),
        kind=kind,
        who=_who(m, kind, meta),
        author=person(m.author),
        via_email=meta.get("channel") == "email",
        email=({"from": "", "inbound": False, "automatic": "", "dropped": []} | email) if email else None,
        assistant=assistant,
        delivery=({"status": "", "to": "", "error": ""} | delivery) if delivery else None,
        remove=_remove_form(reverse("staff:message_redact", args=[m.pk]), "message")
        if not m.is_redacted and not m.is_notice
        else None,
        files=[{"a": a, "remove": None if a.is_redacted else _attachment_form(a)} for a in attachments],
    )
