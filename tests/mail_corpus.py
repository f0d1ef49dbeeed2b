"""The corpus of real-world shaped mails in tests/mail/ (see its README), with placeholders
filled in: {{TO}}, {{SUBJECT}}, {{IN_REPLY_TO}}, {{REFERENCES}}, {{FAILED}}, {{ORIGINAL}}."""

from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "mail"
SUPPORT = "support@parcelly.test"


def load(name: str, **values: str) -> bytes:
    raw = (CORPUS / name).read_bytes()
    values = {"TO": SUPPORT, "SUBJECT": "Your parcel", "IN_REPLY_TO": "<none@nowhere.test>", **values}
    values.setdefault("REFERENCES", values["IN_REPLY_TO"])
    for key, value in values.items():
        raw = raw.replace(b"{{" + key.encode() + b"}}", value.encode())
    return raw


def reply_to(sent, body: str, *, sender: str, quote: bool = True, extra_headers: str = "") -> bytes:
    """What a mail client sends when its user answers `sent` (an email.message.EmailMessage we sent):
    To our Reply-To, In-Reply-To our Message-ID, References extended, Re: subject, the quote below."""
    quoted = "\n".join("> " + line for line in sent.get_body(("plain",)).get_content().splitlines())
    text = body + (f"\n\nOn Tue, 1 Dec 2026 at 10:15, Parcelly Help <{SUPPORT}> wrote:\n{quoted}\n" if quote else "\n")
    references = " ".join(filter(None, [str(sent.get("References", "")), str(sent["Message-ID"])]))
    return (
        f"From: Customer <{sender}>\r\n"
        f"To: {sent['Reply-To']}\r\n"
        f"Subject: Re: {sent['Subject']}\r\n"
        f"Message-ID: <reply-{abs(hash(body))}@client.test>\r\n"
        f"In-Reply-To: {sent['Message-ID']}\r\n"
        f"References: {references}\r\n"
        f"Date: Tue, 1 Dec 2026 12:00:00 +0000\r\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text.replace("\n", "\r\n")
    ).encode()
