"""Raw RFC 5322 bytes in, a ParsedMail out. Pure functions: no database, no settings.

Tolerant by design: Python's `policy.default` parser never raises on malformed input, and every
place below that could (a header value, a charset, HTML) falls back to something readable. A mail
this module cannot make sense of still reaches a person (see mail.inbound).
"""

from __future__ import annotations

import codecs
import mimetypes
import os
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from mailparser_reply import EmailReplyParser

# Languages whose "On ... wrote:" / "From: ... Sent:" headers the reply parser looks for.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "pl", "sv", "da", "ja"]
MAX_HTML_CHARS = 2_000_000
_ID_RE = re.compile(r"<([^<>\s]+)>")
_REPLY_PREFIX_RE = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass
class MailAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class Bounce:
    """A delivery status notification (RFC 3464): who failed, how, and which of our mails it was."""

    recipients: list[tuple[str, str, str, str]]  # (address, action, status, diagnostic)
    original_message_id: str = ""

    @property
    def permanent(self) -> list[tuple[str, str, str, str]]:
        return [r for r in self.recipients if r[1] == "failed" or r[2].startswith("5")]


@dataclass
class ParsedMail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)
    date: object = None
    text: str = ""  # the whole body as text (HTML converted), for staff
    reply: str = ""  # the new part only: quoted history and signature stripped
    html_only: bool = False
    attachments: list[MailAttachment] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = "text/plain"
    bounce: Bounce | None = None
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, the nearest first (In-Reply-To, then References backwards)."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))

    @property
    def is_reply(self) -> bool:
        return bool(self.in_reply_to or self.references or _REPLY_PREFIX_RE.match(self.subject))

    @property
    def clean_subject(self) -> str:
        return _REPLY_PREFIX_RE.sub("", self.subject).strip()


# --- ids ---------------------------------------------------------------------------------------


def normalize_id(value: str) -> str:
    """A Message-ID without its angle brackets and whitespace ('' if there is none)."""
    value = (value or "").strip()
    found = _ID_RE.search(value)
    return found.group(1) if found else value.strip("<> \t\r\n").split()[0] if value.strip("<> \t\r\n") else ""


def ids_in(value: str) -> list[str]:
    found = _ID_RE.findall(value or "")
    return found if found else [v.strip("<>") for v in (value or "").split() if v.strip("<>")]


def header_message_id(raw: bytes) -> str:
    """The Message-ID read from the header block alone (cheap: the body is not parsed)."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    return normalize_id(str(headers.get("Message-ID", "") or ""))


# --- headers -----------------------------------------------------------------------------------


def _decoded(raw_value) -> str:
    """An RFC 2047 header value as text (charsets that lie handled as in bodies)."""
    try:
        parts = decode_header(str(raw_value))
    except Exception:  # noqa: BLE001 - a broken encoded word stays as it came
        return str(raw_value)
    out = []
    for chunk, charset in parts:
        if not isinstance(chunk, bytes):
            out.append(chunk)
            continue
        if (charset or "").lower() in ("utf-8", "utf8"):
            try:
                out.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                return str(raw_value)  # a broken encoded word: show it as it came, not as mojibake
            continue
        out.append(decode_text(chunk, charset))
    return "".join(out)


def _headers(msg: EmailMessage) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        text = " ".join(str(value).split())  # unfolded
        out.setdefault(name.lower(), []).append(text)
    return out


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for name, addr in getaddresses([_decoded(v) for v in values]):
        addr = addr.strip().lower()
        if "@" in addr:
            pairs.append((name.strip(), addr))
    return pairs


# --- text --------------------------------------------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes of a text part as str. Labels that lie are common: UTF-8 sent as us-ascii, and
    Windows-1252 sent as ISO-8859-1 (its C1 range would come out as control characters)."""
    label = (charset or "").strip().strip('"').lower()
    if label in ("", "us-ascii", "ascii", "utf-8", "utf8", "unknown-8bit", "x-unknown"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    if label in ("iso-8859-1", "latin-1", "latin1", "iso8859-1", "windows-1252"):
        return data.decode("cp1252", errors="replace")
    try:
        codecs.lookup(label)
    except LookupError:
        return data.decode("utf-8", errors="replace")
    return data.decode(label, errors="replace")


def _part_text(part) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    text = decode_text(payload, part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Readable text from HTML with inscriptis (scripts and styles dropped, nothing executed).
    drop_quotes removes quoted history containers first (Gmail, Apple Mail, Outlook web)."""
    from inscriptis import get_text
    from lxml import etree
    from lxml import html as lxml_html

    html = html[:MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        tree = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return get_text(html)
    if drop_quotes:
        for node in tree.xpath(
            "//blockquote | //div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]"
            " | //div[@id='divRplyFwdMsg'] | //div[@id='appendonsend']"
        ):
            parent = node.getparent()
            if parent is not None:
                # Outlook puts the quoted mail after its header block, as following siblings.
                if node.get("id") in ("divRplyFwdMsg", "appendonsend"):
                    for sibling in list(node.itersiblings()):
                        parent.remove(sibling)
                parent.remove(node)
    for node in tree.xpath("//script | //style | //head"):
        node.getparent().remove(node)
    text = get_text(lxml_html.tostring(tree, encoding="unicode"))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


_reply_parser = EmailReplyParser(languages=REPLY_LANGUAGES)


def strip_reply(text: str) -> str:
    """The newest part of a reply: quoted history and signature removed (mail-parser-reply)."""
    if not text.strip():
        return ""
    try:
        replies = _reply_parser.read(text).replies
    except Exception:  # noqa: BLE001 - a regex surprise on odd input must not lose the mail
        return text.strip()
    body = replies[0].body if replies else ""
    return body.strip() or text.strip()


# --- structure ---------------------------------------------------------------------------------


def _leaves(part):
    """Every leaf part; a forwarded mail (message/rfc822) counts as one leaf."""
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/delivery-status", "text/rfc822-headers"):
        yield part
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else ():
            yield from _leaves(sub)
        return
    yield part


def _safe_filename(name: str, content_type: str, n: int) -> str:
    name = _decoded(name or "").replace("\\", "/")
    name = os.path.basename(name).strip().strip(".")
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"part-{n}{ext}"
    return name


def _body_part(msg: EmailMessage, kind: str):
    try:
        return msg.get_body(preferencelist=(kind,))
    except Exception:  # noqa: BLE001 - broken structure: fall back below
        return None


def _bounce(msg: EmailMessage, leaves) -> Bounce | None:
    status_parts = [p for p in leaves if p.get_content_type() == "message/delivery-status"]
    failed_header = msg.get_all("X-Failed-Recipients") or []
    if not status_parts and not failed_header:
        return None
    recipients = []
    for part in status_parts:
        blocks = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else ():
            final = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
            address = final.split(";", 1)[-1].strip().strip("<>").lower()
            if address:
                recipients.append(
                    (
                        address,
                        str(block.get("Action", "")).strip().lower(),
                        str(block.get("Status", "")).strip(),
                        " ".join(str(block.get("Diagnostic-Code", "")).split())[:500],
                    )
                )
    if not recipients:
        for value in failed_header:
            for address in str(value).split(","):
                if "@" in address:
                    recipients.append((address.strip().lower(), "failed", "5.0.0", "X-Failed-Recipients"))
    original = ""
    for part in leaves:
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if hasattr(inner, "get"):
                original = normalize_id(str(inner.get("Message-ID", "") or ""))
        elif ctype == "text/rfc822-headers":
            headers = BytesHeaderParser(policy=policy.compat32).parsebytes(_part_text(part).encode("utf-8"))
            original = normalize_id(str(headers.get("Message-ID", "") or ""))
        if original:
            break
    return Bounce(recipients=recipients, original_message_id=original)


def _recover_boundary(msg: EmailMessage, raw: bytes) -> EmailMessage:
    """A multipart whose Content-Type names no boundary: if the body plainly uses one (its first
    line is `--something`), its parts are parsed with that boundary; else the body stays text."""
    if not (msg.get_content_maintype() == "multipart" and not msg.is_multipart()):
        return msg
    cut = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=-1)
    body = raw[cut:].lstrip(b"\r\n") if cut >= 0 else b""
    first = body.split(b"\n", 1)[0].strip()
    if not (first.startswith(b"--") and len(first) > 2 and b" " not in first and b'"' not in first):
        return msg
    boundary = first[2:].decode("ascii", "replace")
    head = f'MIME-Version: 1.0\r\nContent-Type: {msg.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    structure = BytesParser(policy=policy.default).parsebytes(head.encode() + body)
    return structure if structure.is_multipart() else msg


def parse(raw: bytes) -> ParsedMail:
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    headers = _headers(msg)
    get = lambda name: headers.get(name, [])  # noqa: E731
    senders = _addresses(get("from")) or _addresses(get("sender"))
    out = ParsedMail(
        message_id=normalize_id(get("message-id")[0]) if get("message-id") else "",
        in_reply_to=ids_in(get("in-reply-to")[0])[:5] if get("in-reply-to") else [],
        references=ids_in(" ".join(get("references")))[-50:],
        subject=" ".join(_decoded(get("subject")[0]).split())[:200] if get("subject") else "",
        from_name=senders[0][0] if senders else "",
        from_address=senders[0][1] if senders else "",
        recipients=[a for _, a in _addresses(get("to") + get("cc") + get("delivered-to") + get("x-original-to"))],
        headers=headers,
        content_type=msg.get_content_type(),
        defects=[type(d).__name__ for d in msg.defects],
    )
    try:
        out.date = parsedate_to_datetime(get("date")[0]) if get("date") else None
    except (TypeError, ValueError, IndexError):
        out.date = None

    msg = _recover_boundary(msg, raw)  # the headers above are the mail's own either way
    leaves = list(_leaves(msg))
    plain, html = _body_part(msg, "plain"), _body_part(msg, "html")
    if plain is None and html is None and not msg.is_multipart():
        plain = msg  # no usable structure (a missing boundary, a bare body): its text is the body
    if plain is not None:
        out.text = _part_text(plain).strip()
        out.reply = strip_reply(out.text)
    elif html is not None:
        source = _part_text(html)
        out.html_only = True
        out.text = html_to_text(source)
        out.reply = strip_reply(html_to_text(source, drop_quotes=True)) or out.text
    # A DSN is a multipart/report (RFC 3464); some servers only add X-Failed-Recipients.
    if out.content_type == "multipart/report" or "x-failed-recipients" in headers:
        out.bounce = _bounce(msg, leaves)

    bodies = {id(p) for p in (plain, html) if p is not None}
    for n, part in enumerate(leaves, start=1):
        if id(part) in bodies or out.bounce is not None:
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            continue  # another rendering of the body
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
            filename = filename or "forwarded-message.eml"
        else:
            data = part.get_payload(decode=True) or b""
        out.attachments.append(
            MailAttachment(
                filename=_safe_filename(filename, ctype, n),
                content_type=ctype,
                data=data,
                inline=disposition == "inline" or bool(part.get("Content-ID")),
            )
        )
    return out
